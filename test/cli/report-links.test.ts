/**
 * `salvage report` tells links from remaps, as the apply's own reports do: the key map records
 * both alike (old key → new key), and the rebuilt report listed a lost row linked to an existing DR
 * record (strategy `link`) under "Remapped keys" (RELIABILITY.md section 7, item 21). The ledger
 * row of the insert that made the mapping says which: `merged` for a link, `remapped` for a remap.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReport } from '../../src/cli/report-command.js';
import { runSalvageCommand, type SalvageCommandEnvironment } from '../../src/cli/salvage-command.js';
import { Capture } from '../harness/capture.js';
import { stageIncident, useServerPair } from '../harness/incident-pair.js';

const ENV: SalvageCommandEnvironment = { env: {}, home: undefined, isTty: false };
const servers = useServerPair('report-links');

let dir: string;
let start: string;
let applyMd: string;
let applyJson: { remaps: unknown };

/** The lines of the section that starts with `## title`, up to the next section. */
function section(md: string, title: string): string[] {
  const lines = md.split('\n');
  const from = lines.indexOf(`## ${title}`);
  if (from < 0) throw new Error(`no section "${title}" in:\n${md}`);
  const to = lines.findIndex((l, i) => i > from && l.startsWith('## '));
  return lines.slice(from + 1, to < 0 ? undefined : to).filter((l) => l !== '');
}

function lost(n: number): string {
  return `0-1-${Number(start.split('-')[2]) + n}`;
}

async function report(...args: string[]): Promise<string> {
  const out = new Capture();
  expect(await runReport(['--target', servers.dr.url, ...args], out, new Capture(), ENV)).toBe(0);
  return out.text;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'salvage-report-links-'));
  const staged = await stageIncident(
    servers.primary,
    servers.dr,
    {
      schema: ['CREATE TABLE t.cust (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(20) NOT NULL, name VARCHAR(20) NOT NULL, UNIQUE KEY uk_email (email))'],
      base: ["INSERT INTO t.cust VALUES (1, 'a@x', 'Ann')"],
      // Zed's id 5 is the DR's Quinn: re-keyed. Yan is the DR's own Yan (id 9), found by e-mail: linked.
      lost: ["INSERT INTO t.cust VALUES (5, 'zed@x', 'Zed')", "INSERT INTO t.cust VALUES (4, 'yan@x', 'Yan')"],
      dr: ["INSERT INTO t.cust VALUES (5, 'quinn@x', 'Quinn'), (9, 'yan@x', 'Yan D')"],
    },
    ['t'],
  );
  start = staged.start;
  const config = join(dir, 'salvage.json');
  await writeFile(config, JSON.stringify({ tables: { 't.cust': { onConflict: { 'insert-unique-taken': { strategy: 'link', naturalKey: ['email'] } } } } }));
  const md = join(dir, 'apply.md');
  const json = join(dir, 'apply.json');
  const args = ['--binlog', ...staged.files, '--target', servers.dr.url, '--from-gtid', staged.start, '--config', config, '--markdown', md, '--report', json, '--quiet'];
  expect(await runSalvageCommand('apply', args, new Capture(), new Capture(), ENV)).toBe(0);
  applyMd = await readFile(md, 'utf8');
  applyJson = JSON.parse(await readFile(json, 'utf8')) as typeof applyJson;
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('salvage report: links and remaps', () => {
  it('--json marks the link as the apply did', async () => {
    const expected = [
      { table: 't.cust', oldKey: [5], newKey: [10], at: lost(1) },
      { table: 't.cust', oldKey: [4], newKey: [9], at: lost(2), linked: true },
    ];
    expect(applyJson.remaps).toEqual(expected);
    const { report: rebuilt } = JSON.parse(await report('--json')) as { report: Record<string, unknown> };
    expect(rebuilt['remaps']).toEqual(expected);
  });

  it('the Markdown lists the link under "Linked keys", not under "Remapped keys"', async () => {
    const md = await report();
    expect(section(md, 'Remapped keys (1)')).toEqual(section(applyMd, 'Remapped keys (1)'));
    expect(section(md, 'Linked keys (1)')).toEqual(section(applyMd, 'Linked keys (1)'));
    expect(section(md, 'Linked keys (1)').slice(-1)).toEqual([`| \`t.cust\` | \`4\` | \`9\` | \`${lost(2)}\` |`]);
  });
});
