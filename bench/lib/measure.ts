/**
 * Runs one command in a fresh child process and measures its wall time and peak RSS.
 *
 * Peak RSS comes from GNU `/usr/bin/time -v` when it is installed (the kernel's ru_maxrss of
 * the child). Without it, a Node child reports its own `process.resourceUsage().maxRSS` through
 * the preload in report-rss.ts, and any other child is sampled from /proc/PID/status VmHWM
 * (the kernel's high-water mark, so a sample taken late still sees an earlier peak).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TIME_BIN = '/usr/bin/time';
const CAPTURE_LIMIT = 1 << 20;
const STDERR_KEEP = 64 * 1024;
const PROC_POLL_MS = 10;

export type RssSource = 'time -v' | 'child' | 'proc-poll' | 'none';

/** How to run one measured command. */
export interface RunSpec {
  readonly command: string;
  readonly args: readonly string[];
  /** 'capture' keeps stdout (up to 1 MiB); 'discard' sends it to /dev/null. */
  readonly stdout: 'capture' | 'discard';
  /** The command is `node`: without /usr/bin/time, preload this module (report-rss.js) to learn its peak RSS. */
  readonly nodePreload?: string;
}

/** What one run measured. */
export interface MeasuredRun {
  readonly seconds: number;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly peakRssKiB: number | null;
  readonly rssSource: RssSource;
  /** The child's user + system CPU seconds (GNU time), or null without it: what the tool itself cost, apart from the server it waits on. */
  readonly cpuSeconds: number | null;
  readonly stdout: string;
  /** The last 64 KiB of stderr. */
  readonly stderr: string;
}

let gnuTime: boolean | undefined;

/** True when GNU time is installed and understands `-v -o FILE`. */
export function hasGnuTime(): boolean {
  if (process.env['BENCH_NO_TIME'] === '1') return false;
  gnuTime ??= spawnSync(TIME_BIN, ['-v', '-o', '/dev/null', 'true'], { stdio: 'ignore' }).status === 0;
  return gnuTime;
}

/** Runs `spec` once and resolves with its wall time, exit status, peak RSS and output. */
export async function runMeasured(spec: RunSpec): Promise<MeasuredRun> {
  const dir = mkdtempSync(join(tmpdir(), 'binlog-salvage-measure-'));
  const reportFile = join(dir, 'report');
  const useTime = hasGnuTime();
  let command = spec.command;
  let args = [...spec.args];
  const env = { ...process.env };
  let rssSource: RssSource = 'proc-poll';
  if (useTime) {
    args = ['-v', '-o', reportFile, command, ...args];
    command = TIME_BIN;
    rssSource = 'time -v';
  } else if (spec.nodePreload !== undefined) {
    args = ['--import', spec.nodePreload, ...args];
    env['BENCH_RSS_FILE'] = reportFile;
    rssSource = 'child';
  }
  const devNull = spec.stdout === 'discard' ? openSync('/dev/null', 'w') : undefined;
  try {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ['ignore', devNull ?? 'pipe', 'pipe'], env });
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const out: Buffer[] = [];
    let outBytes = 0;
    child.stdout?.on('data', (b: Buffer) => {
      if (outBytes < CAPTURE_LIMIT) out.push(b);
      outBytes += b.length;
    });
    let err = '';
    child.stderr?.on('data', (b: Buffer) => {
      err = (err + b.toString('utf8')).slice(-STDERR_KEEP);
    });
    let polledKiB: number | null = null;
    const poll =
      rssSource === 'proc-poll'
        ? setInterval(() => {
            const hwm = vmHwmKiB(child.pid);
            if (hwm !== null) polledKiB = Math.max(polledKiB ?? 0, hwm);
          }, PROC_POLL_MS)
        : undefined;
    const { code, signal, ended } = await new Promise<{ code: number | null; signal: string | null; ended: bigint }>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, s) => resolve({ code: c, signal: s, ended: process.hrtime.bigint() }));
    });
    if (poll !== undefined) clearInterval(poll);
    await closed;
    const report = readText(reportFile);
    let peakRssKiB: number | null;
    let cpuSeconds: number | null = null;
    let exitCode = code;
    let sig = signal;
    if (rssSource === 'time -v') {
      peakRssKiB = numberAfter(report, 'Maximum resident set size (kbytes):');
      const user = numberAfter(report, 'User time (seconds):');
      const system = numberAfter(report, 'System time (seconds):');
      cpuSeconds = user === null || system === null ? null : user + system;
      const bySignal = numberAfter(report, 'Command terminated by signal');
      if (bySignal !== null) {
        sig = `signal ${bySignal}`;
        exitCode = null;
      }
    } else if (rssSource === 'child') {
      peakRssKiB = report.trim() === '' ? null : Number(report.trim());
    } else {
      peakRssKiB = polledKiB;
    }
    return {
      seconds: Number(ended - started) / 1e9,
      exitCode,
      signal: sig,
      peakRssKiB,
      rssSource: peakRssKiB === null ? 'none' : rssSource,
      cpuSeconds,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: err,
    };
  } finally {
    if (devNull !== undefined) closeSync(devNull);
    rmSync(dir, { recursive: true, force: true });
  }
}

function vmHwmKiB(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  return numberAfter(readText(`/proc/${pid}/status`), 'VmHWM:');
}

function numberAfter(text: string, label: string): number | null {
  const at = text.indexOf(label);
  if (at < 0) return null;
  const m = /\d+(?:\.\d+)?/.exec(text.slice(at + label.length, at + label.length + 40));
  return m === null ? null : Number(m[0]);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Reads a file once, end to end, so every tool starts with the same warm page cache. */
export function warmPageCache(path: string): void {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(4 << 20);
  try {
    // Position null: each read continues where the last one ended.
    while (readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}
