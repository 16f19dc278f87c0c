/**
 * The HTML incident report in a real browser: `plan --html`, `apply --html` and `salvage report
 * --html` on the small hand-built incident (test/harness/small-incident.ts) plus a quarantined
 * change whose value is a `<script>`, each page rendered by headless Chromium (Debian's `chromium`;
 * CI installs it). The page must render with no console message at all (errors, CSP violations,
 * exceptions: Chromium logs every console message with --enable-logging=stderr, and a control page
 * shows the check catches them), run its script (the marker it sets, read back with --dump-dom),
 * show the quarantined changes' text escaped, and fetch nothing. Screenshots and a PDF print go to
 * test-artifacts/html-report/ (kept out of git), and the test prints their paths.
 */
import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReport } from '../../src/cli/report-command.js';
import { runSalvageCommand, type SalvageCommandEnvironment } from '../../src/cli/salvage-command.js';
import { Capture } from '../harness/capture.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { SMALL_INCIDENT } from '../harness/small-incident.js';

const run = promisify(execFile);
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts/html-report');
const ENV: SalvageCommandEnvironment = { env: {}, home: undefined, isTty: false };

/** A lost customer whose name is a script, clashing with the DR's own eve@x: quarantined, so the report shows the value. */
const EVIL_NAME = '<script>document.title="pwned"</script>';
const EXTRA_LOST = `INSERT INTO shop.customers (id, email, name) VALUES (60, 'EVE@X', '${EVIL_NAME}')`;
const EXTRA_DR_OWN = "INSERT INTO shop.customers (id, email, name) VALUES (50, 'eve@x', 'Eve D')";

let primary: MariadbServer;
let dr: MariadbServer;
let dir: string;
let args: string[];

/** Runs headless Chromium on a file with the flags given; returns stdout and the page's console messages. */
async function chromium(file: string, flags: string[]): Promise<{ stdout: string; console: string[] }> {
  const profile = await mkdtemp(join(tmpdir(), 'salvage-chromium-'));
  try {
    const { stdout, stderr } = await run(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        // Every console message of the page (log, warning, error, uncaught exception, CSP violation) as an INFO:CONSOLE line.
        '--enable-logging=stderr',
        '--v=0',
        ...flags,
        pathToFileURL(file).href,
      ],
      { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
    );
    return { stdout, console: stderr.split('\n').filter((l) => /INFO:CONSOLE/.test(l)) };
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** Renders the page: its DOM after the scripts ran, console messages, a screenshot (and a PDF print) kept as artifacts. */
async function render(file: string, name: string, pdf = false): Promise<{ dom: string; console: string[] }> {
  const png = join(ARTIFACTS, `${name}.png`);
  // One run does both: the DOM on stdout, the screenshot to its file.
  const dump = await chromium(file, ['--dump-dom', `--screenshot=${png}`, '--window-size=1280,3200', '--hide-scrollbars']);
  await access(png);
  console.log(`screenshot of the ${name} report: ${png}`);
  const messages = [...dump.console];
  if (pdf) {
    const out = join(ARTIFACTS, `${name}.pdf`);
    messages.push(...(await chromium(file, [`--print-to-pdf=${out}`, '--no-pdf-header-footer'])).console);
    expect((await readFile(out)).subarray(0, 5).toString()).toBe('%PDF-');
    console.log(`printed (PDF) ${name} report: ${out}`);
  }
  return { dom: dump.stdout, console: messages };
}

/** No URL that would fetch: src/href/action attributes, CSS url() or @import. */
function fetches(html: string): string[] {
  return [...html.matchAll(/\b(?:src|href|action|srcset|poster|data)\s*=\s*["']?\s*(?:https?:|\/\/)[^"'\s>]*|url\([^)]*\)|@import[^;]*/gi)].map((m) => m[0]);
}

beforeAll(async () => {
  await access(CHROMIUM).catch(() => {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium), as .ci/run does`);
  });
  await mkdir(ARTIFACTS, { recursive: true });
  [primary, dr] = await Promise.all([startMariadb({ name: 'html-primary' }), startMariadb({ name: 'html-dr', serverId: 2 })]);
  dir = await mkdtemp(join(tmpdir(), 'salvage-html-'));
  const { schema, base, lost, drOwn, references } = SMALL_INCIDENT;
  for (const sql of [...schema, ...base]) {
    await primary.query(sql);
    await dr.query(sql);
  }
  const start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
  for (const sql of [...lost, EXTRA_LOST]) await primary.query(sql);
  for (const sql of [...drOwn, EXTRA_DR_OWN]) await dr.query(sql);
  await primary.flushBinaryLogs();
  const config = join(dir, 'salvage.json');
  await writeFile(config, JSON.stringify({ tables: references }));
  args = ['--binlog', ...(await primary.binlogFiles()), '--target', dr.url, '--from-gtid', start, '--config', config, '--quiet'];
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the HTML report in headless Chromium', () => {
  it('the console check catches errors: a control page with an error and an exception', async () => {
    const control = join(dir, 'control.html');
    await writeFile(control, '<!DOCTYPE html><html><body><p>x</p><script>console.error("control error"); null.boom;</script></body></html>');
    const { console: messages } = await chromium(control, ['--dump-dom']);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toContain('"control error"');
    expect(messages[1]).toContain('Uncaught TypeError');
  }, 120_000);

  it('plan --html and apply --html render with no console message, run their script, and show every quarantined change escaped', async () => {
    for (const mode of ['plan', 'apply'] as const) {
      const file = join(dir, `${mode}.html`);
      expect(await runSalvageCommand(mode, [...args, '--html', file], new Capture(), new Capture(), ENV)).toBe(3);
      const html = await readFile(file, 'utf8');
      expect(fetches(html)).toEqual([]);
      const { dom, console: messages } = await render(file, mode, mode === 'apply');
      expect(messages).toEqual([]);
      // The script ran to its end and counted the changes it shows.
      expect(dom).toMatch(/^<!DOCTYPE html>\n<html lang="en" data-rendered="3">/);
      expect(dom).toContain(`<title>salvage ${mode === 'plan' ? 'plan (dry run)' : 'apply: run 1 on'}`);
      expect(dom).not.toContain('pwned</title>');
      expect(dom).toContain('<p class="reason">another DR row already holds unique key uk_email</p>');
      expect(dom).toContain('<p class="reason">cascade guard: 1 row(s) of shop.notes still point at it (config:order_id, a logical reference)</p>');
      // The script in a value is text: escaped in the page, never an element.
      expect(dom).toContain('<td><code>"&lt;script&gt;document.title=\\"pwned\\"&lt;/script&gt;"</code></td>');
      expect(dom.match(/<script/g)).toHaveLength(1);
      // The controls the script shows.
      expect(dom).toContain('<span id="q-shown" class="muted">3 of 3 shown</span>');
    }
  }, 240_000);

  it('salvage report --html renders the run rebuilt from the DR\'s ledger the same way', async () => {
    const file = join(dir, 'report.html');
    expect(await runReport(['--target', dr.url, '--html', file], new Capture(), new Capture(), ENV)).toBe(0);
    expect(fetches(await readFile(file, 'utf8'))).toEqual([]);
    const { dom, console: messages } = await render(file, 'report');
    expect(messages).toEqual([]);
    expect(dom).toMatch(/^<!DOCTYPE html>\n<html lang="en" data-rendered="3">/);
    expect(dom).toContain('<span class="status s-pending">entry 1, pending</span>');
    expect(dom).toContain('<td><code>"&lt;script&gt;document.title=\\"pwned\\"&lt;/script&gt;"</code></td>');
    // The run kept its own summary (runs.summary): nothing is left "not recorded".
    expect(dom).not.toContain('<h3>Not recorded</h3>');
  }, 120_000);

  it('the no-network check finds what would fetch', () => {
    expect(fetches('<img src="https://x.example/a.png"><a href=//cdn.example/x>x</a><style>@import "y.css"; b{background:url(z.png)}</style>')).toEqual([
      'src="https://x.example/a.png',
      'href=//cdn.example/x',
      '@import "y.css"',
      'url(z.png)',
    ]);
  });
});
