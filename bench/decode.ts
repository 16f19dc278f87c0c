/**
 * `npm run bench:decode [-- --size 300m --seed 42 --runs 3]`: how fast `salvage inspect --stats`
 * decodes a large binlog, next to the floor (read + walk headers + CRC32, nothing decoded)
 * and `mariadb-binlog --base64-output=decode-rows -vv`, all on the same cached binlog, each
 * run in a fresh child process, medians of N. See bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { mariadbBinlogPath } from '../test/harness/mariadb-binaries.js';
import { ensureBenchBinlog, MAX_TARGET_BYTES, type BenchBinlog } from './lib/binlog-cache.js';
import { hasGnuTime, runMeasured, warmPageCache, type MeasuredRun, type RunSpec } from './lib/measure.js';

const HELP = `npm run bench:decode -- [options]

Builds (once, cached) a binlog from a seeded mixed workload on a throwaway MariaDB, then times
the floor (1 MiB reads + header walk + CRC32), salvage inspect --stats, and mariadb-binlog -vv.

  --size SIZE     binlog size: 300m (default), 1g, 500000000; k/m/g are decimal (env BENCH_SIZE)
  --seed N        workload seed (default 42; env BENCH_SEED)
  --runs N        runs per tool, median reported (default 3; env BENCH_RUNS)
  --tools LIST    comma-separated subset of floor,salvage,mariadb-binlog (default all)
  --cli PATH      the built salvage CLI to time (default dist/cli/main.js)
  --compare PATH  also time this other build of the CLI (tool salvage-b), in the same rounds:
                  an A/B comparison on a shared machine, where minutes differ more than builds
  --rebuild       build the binlog again even if cached
  --help
`;

// The targets of the issue this benchmark tracks.
const TARGET_VS_MARIADB = 4;
const TARGET_VS_FLOOR = 0.4;
const TARGET_RSS_BYTES = 200e6;

type ToolId = 'floor' | 'salvage' | 'salvage-b' | 'mariadb-binlog';
const TOOL_IDS: readonly ToolId[] = ['floor', 'salvage', 'mariadb-binlog'];

interface Tool {
  readonly id: ToolId;
  readonly label: string;
  readonly spec: RunSpec | null;
  /** Why the tool cannot run, when spec is null. */
  readonly unavailable: string;
  /** A problem with a successful run's output (wrong row count, CRC failures), or null. */
  readonly check: (run: MeasuredRun) => string | null;
}

interface ToolResult {
  readonly tool: Tool;
  readonly runs: MeasuredRun[];
  failure: MeasuredRun | null;
  notes: Set<string>;
}

interface Summary {
  readonly id: ToolId;
  readonly ok: boolean;
  readonly runs: number[];
  readonly median: number;
  readonly mbPerSecond: number;
  readonly rowsPerSecond: number;
  /** The highest peak RSS of the runs, bytes. */
  readonly peakRssBytes: number | null;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Parses 300m, 1g, 1.5G, 500000000, 300MB, 1GiB; k/m/g decimal, ki/mi/gi binary. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg])?(i)?b?$/i.exec(text.trim());
  if (m === null) throw new Error(`--size: expected a size such as 300m or 1g, got "${text}"`);
  const unit = (m[2] ?? '').toLowerCase();
  const base = m[3] === undefined ? 1000 : 1024;
  const power = unit === '' ? 0 : unit === 'k' ? 1 : unit === 'm' ? 2 : 3;
  return Math.round(Number(m[1]) * base ** power);
}

function positiveInt(text: string, option: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new Error(`${option}: expected a positive integer, got "${text}"`);
  return Number(text);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function repoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'binlog-salvage') return dir;
    if (dirname(dir) === dir) throw new Error(`bench: no binlog-salvage package.json above ${from}`);
  }
}

function salvageTool(id: 'salvage' | 'salvage-b', cli: string, binlog: BenchBinlog, preload: string): Tool {
  const rows = binlog.meta.counts.rowChanges;
  return {
    id,
    label: id === 'salvage' ? 'salvage inspect --stats' : `salvage-b inspect --stats (${cli})`,
    spec: existsSync(cli) ? { command: process.execPath, args: [cli, 'inspect', '--stats', binlog.path], stdout: 'capture', nodePreload: preload } : null,
    unavailable: `${cli} does not exist: run \`npm run build\` first`,
    check: (run) => {
      const m = /row changes: (\d+)/.exec(run.stdout);
      if (m === null) return 'no "row changes:" line in its output';
      return Number(m[1]) === rows ? null : `counted ${m[1]} row changes, the workload wrote ${rows}`;
    },
  };
}

function tools(binlog: BenchBinlog, here: string, cli: string, compare: string | null): Tool[] {
  const file = binlog.path;
  const preload = pathToFileURL(join(here, 'lib', 'report-rss.js')).href;
  let mariadbBinlog: string | null = null;
  let mariadbMissing = '';
  try {
    mariadbBinlog = mariadbBinlogPath();
  } catch (err) {
    mariadbMissing = (err as Error).message;
  }
  return [
    {
      id: 'floor',
      label: 'floor: 1 MiB reads + headers + CRC32',
      spec: { command: process.execPath, args: [join(here, 'lib', 'floor-scan.js'), file], stdout: 'capture', nodePreload: preload },
      unavailable: '',
      check: (run) => {
        const r = JSON.parse(run.stdout) as { bytes: number; crcFailures: number; trailingBytes: number };
        if (r.bytes !== binlog.meta.bytes) return `read ${r.bytes} bytes, the file has ${binlog.meta.bytes}`;
        if (r.crcFailures > 0 || r.trailingBytes > 0) return `${r.crcFailures} CRC failures, ${r.trailingBytes} trailing bytes`;
        return null;
      },
    },
    salvageTool('salvage', cli, binlog, preload),
    ...(compare === null ? [] : [salvageTool('salvage-b', compare, binlog, preload)]),
    {
      id: 'mariadb-binlog',
      label: 'mariadb-binlog -vv >/dev/null',
      spec: mariadbBinlog === null ? null : { command: mariadbBinlog, args: ['--base64-output=decode-rows', '-vv', file], stdout: 'discard' },
      unavailable: mariadbMissing,
      check: () => null,
    },
  ];
}

async function measure(binlog: BenchBinlog, selected: Tool[], runs: number): Promise<ToolResult[]> {
  const results: ToolResult[] = selected.map((tool) => ({ tool, runs: [], failure: null, notes: new Set<string>() }));
  // Round-robin, so drift on a shared machine spreads over all tools instead of hitting one.
  for (let i = 1; i <= runs; i++) {
    for (const r of results) {
      if (r.tool.spec === null || r.failure !== null) continue;
      warmPageCache(binlog.path);
      const run = await runMeasured(r.tool.spec);
      const failed = run.exitCode !== 0 || run.signal !== null;
      const rss = run.peakRssKiB === null ? '?' : (run.peakRssKiB / 1024).toFixed(1);
      log(`  run ${i}/${runs} ${r.tool.id.padEnd(14)} ${run.seconds.toFixed(2)} s  peak RSS ${rss} MiB${failed ? `  FAILED (${run.signal ?? `exit ${run.exitCode}`})` : ''}`);
      if (failed) {
        r.failure = run;
        continue;
      }
      r.runs.push(run);
      let problem: string | null;
      try {
        problem = r.tool.check(run);
      } catch (err) {
        problem = `unreadable output (${(err as Error).message})`;
      }
      if (problem !== null) r.notes.add(problem);
    }
  }
  return results;
}

function summarise(r: ToolResult, binlog: BenchBinlog): Summary {
  const seconds = r.runs.map((x) => x.seconds);
  const ok = r.failure === null && r.tool.spec !== null && seconds.length > 0;
  const med = ok ? median(seconds) : NaN;
  const rss = r.runs.map((x) => x.peakRssKiB).filter((x): x is number => x !== null);
  return {
    id: r.tool.id,
    ok,
    runs: seconds,
    median: med,
    mbPerSecond: binlog.meta.bytes / 1e6 / med,
    rowsPerSecond: binlog.meta.counts.rowChanges / med,
    peakRssBytes: rss.length === 0 ? null : Math.max(...rss) * 1024,
  };
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–');

function table(headers: string[], rows: string[][], rightAligned: boolean[]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string => cells.map((cell, c) => (rightAligned[c] ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function inProcessSeconds(run: MeasuredRun): number | null {
  try {
    const seconds = (JSON.parse(run.stdout) as { seconds?: unknown }).seconds;
    return typeof seconds === 'number' ? seconds : null;
  } catch {
    return null;
  }
}

function verdict(pass: boolean | null): string {
  return pass === null ? 'n/a ' : pass ? 'PASS' : 'MISS';
}

function report(binlog: BenchBinlog, results: ToolResult[], runs: number): { text: string; json: unknown; anyFailed: boolean } {
  const m = binlog.meta;
  const c = m.counts;
  const summaries = results.map((r) => summarise(r, binlog));
  const byId = new Map(summaries.map((s) => [s.id, s]));
  const out: string[] = [];
  out.push('');
  out.push(`binlog   ${binlog.path}${binlog.cached ? ' (cached)' : ' (just built)'}`);
  out.push(
    `         ${fmt(m.bytes)} bytes (${fmt(m.bytes / 1e6, 1)} MB), ${fmt(c.rowChanges)} row changes (${fmt(c.inserts)} ins / ${fmt(c.updates)} upd / ${fmt(c.deletes)} del), ${fmt(c.transactions)} transactions, seed ${m.seed}`,
  );
  const printed = m.printedRows;
  out.push(
    `         row count check: mariadb-binlog -v prints ${printed === null ? 'n/a' : `${fmt(printed.inserts)} / ${fmt(printed.updates)} / ${fmt(printed.deletes)}`}${printed !== null && printed.inserts === c.inserts && printed.updates === c.updates && printed.deletes === c.deletes ? ' (equal)' : ' (DIFFERENT)'}`,
  );
  out.push(`         ${m.serverVersion}, ${m.serverOptions}`);
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  out.push(`machine  ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, load average ${load} at the end; peak RSS from ${hasGnuTime() ? '/usr/bin/time -v' : 'the child (maxRSS) or /proc VmHWM'}`);
  out.push(`timing   wall clock of each child process (Node startup included), median of ${runs}, page cache warmed before every run`);
  out.push('');
  const rows = results.map((r, i) => {
    const s = summaries[i] as Summary;
    if (r.tool.spec === null) return [r.tool.label, `not run: ${r.tool.unavailable}`, '', '', '', ''];
    if (r.failure !== null) return [r.tool.label, `FAILED (${r.failure.signal ?? `exit ${r.failure.exitCode}`})`, '', '', '', ''];
    return [
      r.tool.label,
      s.runs.map((x) => x.toFixed(2)).join(' / '),
      s.median.toFixed(2),
      fmt(s.mbPerSecond, 1),
      fmt(s.rowsPerSecond),
      s.peakRssBytes === null ? '?' : fmt(s.peakRssBytes / 1048576, 1),
    ];
  });
  out.push(table(['tool', 'runs (s)', 'median s', 'MB/s', 'rows/s', 'peak RSS MiB'], rows, [false, false, true, true, true, true]));
  const floorRuns = results.find((r) => r.tool.id === 'floor')?.runs ?? [];
  const inProcess = floorRuns.map((r) => inProcessSeconds(r)).filter((x): x is number => x !== null);
  if (inProcess.length > 0) {
    const med = median(inProcess);
    out.push(`(floor inside its process, without Node startup as in peer-baselines.md a2: median ${med.toFixed(2)} s, ${fmt(m.bytes / 1e6 / med, 1)} MB/s)`);
  }

  const salvage = byId.get('salvage');
  const floor = byId.get('floor');
  const mdb = byId.get('mariadb-binlog');
  const sOk = salvage?.ok === true;
  const vsMdb = sOk && mdb?.ok === true ? salvage.mbPerSecond / mdb.mbPerSecond : null;
  const vsFloor = sOk && floor?.ok === true ? salvage.mbPerSecond / floor.mbPerSecond : null;
  const rss = sOk ? salvage.peakRssBytes : null;
  const na = salvage === undefined ? 'n/a (salvage not measured)' : sOk ? 'n/a (the reference was not measured or did not complete)' : 'n/a (salvage did not complete)';
  out.push('');
  out.push('targets (salvage inspect --stats):');
  out.push(
    `  ${verdict(vsMdb === null ? null : vsMdb >= TARGET_VS_MARIADB)}  ≥ ${TARGET_VS_MARIADB}× mariadb-binlog's MB/s   measured ${vsMdb === null ? na : `${vsMdb.toFixed(2)}× (${fmt(salvage?.mbPerSecond ?? NaN, 1)} vs ${fmt(mdb?.mbPerSecond ?? NaN, 1)} MB/s)`}`,
  );
  out.push(
    `  ${verdict(vsFloor === null ? null : vsFloor >= TARGET_VS_FLOOR)}  ≥ ${TARGET_VS_FLOOR * 100}% of the floor's MB/s      measured ${vsFloor === null ? na : `${(vsFloor * 100).toFixed(1)}% (${fmt(salvage?.mbPerSecond ?? NaN, 1)} vs ${fmt(floor?.mbPerSecond ?? NaN, 1)} MB/s)`}`,
  );
  out.push(
    `  ${verdict(rss === null ? null : rss < TARGET_RSS_BYTES)}  peak RSS < 200 MB              measured ${rss === null ? (sOk ? 'n/a (no RSS reading)' : na) : `${fmt(rss / 1e6, 1)} MB (${fmt(rss / 1048576, 1)} MiB, highest of the runs)`}`,
  );

  const b = byId.get('salvage-b');
  if (b?.ok === true) {
    const ratio = (ref: Summary | undefined): string => (ref?.ok === true ? `${((b.mbPerSecond / ref.mbPerSecond) * (ref.id === 'floor' ? 100 : 1)).toFixed(ref.id === 'floor' ? 1 : 2)}${ref.id === 'floor' ? '%' : '×'}` : 'n/a');
    out.push(`  (salvage-b, the compared build: ${ratio(mdb)} mariadb-binlog, ${ratio(floor)} of the floor, ${b.peakRssBytes === null ? '?' : fmt(b.peakRssBytes / 1e6, 1)} MB peak; salvage takes ${sOk ? ((salvage.median / b.median) * 100).toFixed(1) : 'n/a'}% of its time)`);
  }

  let anyFailed = false;
  for (const r of results) {
    for (const note of r.notes) out.push(`note: ${r.tool.id}: ${note}`);
    if (r.tool.spec === null) {
      out.push(`note: ${r.tool.id} not run: ${r.tool.unavailable}`);
      anyFailed = true;
    }
    if (r.failure === null) continue;
    anyFailed = true;
    const f = r.failure;
    out.push('');
    out.push(`${r.tool.id} FAILED (${f.signal ?? `exit ${f.exitCode}`}) after ${f.seconds.toFixed(2)} s; command: ${r.tool.spec?.command} ${r.tool.spec?.args.join(' ')}`);
    const tail = `${f.stdout}\n${f.stderr}`.trimEnd().split('\n').slice(-15).join('\n');
    out.push(tail.replace(/^/gm, '  | '));
  }
  out.push('');
  const json = { binlog: { path: binlog.path, ...binlog.meta }, runs, summaries, at: new Date().toISOString() };
  return { text: out.join('\n'), json, anyFailed };
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      options: {
        size: { type: 'string' },
        seed: { type: 'string' },
        runs: { type: 'string' },
        tools: { type: 'string' },
        rebuild: { type: 'boolean' },
        cli: { type: 'string' },
        compare: { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (err) {
    log(`bench:decode: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const o = parsed.values;
  if (o.help) {
    process.stdout.write(HELP);
    return 0;
  }
  let targetBytes: number;
  let seed: number;
  let runs: number;
  let selected: ToolId[];
  try {
    targetBytes = parseSize(o.size ?? process.env['BENCH_SIZE'] ?? '300m');
    if (targetBytes > MAX_TARGET_BYTES) throw new Error(`--size: at most ${MAX_TARGET_BYTES} bytes, so the workload fits one binlog file (max_binlog_size is 1 GiB)`);
    if (targetBytes < 1e6) throw new Error('--size: at least 1m');
    seed = positiveInt(o.seed ?? process.env['BENCH_SEED'] ?? '42', '--seed');
    runs = positiveInt(o.runs ?? process.env['BENCH_RUNS'] ?? '3', '--runs');
    selected = (o.tools ?? TOOL_IDS.join(',')).split(',').map((t) => t.trim()) as ToolId[];
    const unknown = selected.filter((t) => !TOOL_IDS.includes(t));
    if (unknown.length > 0) throw new Error(`--tools: unknown ${unknown.join(', ')}; choose from ${TOOL_IDS.join(', ')}`);
  } catch (err) {
    log(`bench:decode: ${(err as Error).message}`);
    return 2;
  }

  const here = dirname(fileURLToPath(import.meta.url));
  const root = repoRoot(here);
  const binlog = await ensureBenchBinlog({ targetBytes, seed, rebuild: o.rebuild ?? false, log });
  const cli = o.cli === undefined ? join(root, 'dist', 'cli', 'main.js') : resolve(o.cli);
  const compare = o.compare === undefined ? null : resolve(o.compare);
  if (compare !== null) selected.push('salvage-b');
  const chosen = tools(binlog, here, cli, compare).filter((t) => selected.includes(t.id));
  const version = spawnSync(chosen.find((t) => t.id === 'mariadb-binlog')?.spec?.command ?? 'true', ['--version'], { encoding: 'utf8' }).stdout.trim();
  log(`measuring ${chosen.map((t) => t.id).join(', ')} on ${binlog.path}, ${runs} runs each${version === '' ? '' : ` (${version})`}`);
  const results = await measure(binlog, chosen, runs);
  const { text, json, anyFailed } = report(binlog, results, runs);
  process.stdout.write(`${text}\n`);
  writeFileSync(join(binlog.dir, 'last-decode-result.json'), `${JSON.stringify(json, null, 2)}\n`);
  // Missing a target is a finding, not an error: exit 0. A tool that crashed or could not run is.
  return anyFailed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    log(`bench:decode failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  },
);
