/**
 * One initialised MariaDB data directory per machine, copied for each throwaway server.
 * `mariadb-install-db` costs seconds on a busy box; a copy costs tens of milliseconds.
 * The template lives under os.tmpdir() keyed by the server binary and the init options,
 * is built under a lock file so parallel processes (vitest workers, a demo beside the tests)
 * do not all build it, and is published with an atomic rename so a reader never sees a
 * half-built one.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../errors.js';
import { processAlive, type HostProcess } from './host-process.js';
import { ThrowawayErrorCode, type MariadbBinaries } from './mariadb-binaries.js';

/** InnoDB redo size baked into the template; servers start with the same so nothing is resized. */
export const TEMPLATE_LOG_FILE_SIZE = '8M';

/** Prefix of the template folders under os.tmpdir(): a cache kept between runs, not litter. */
export const TEMPLATE_PREFIX = 'binlog-salvage-mariadb-template-';

// Bump when the init arguments change meaning, so old cached templates are ignored.
const TEMPLATE_VERSION = 1;
const INIT_TIMEOUT_MS = 120_000;
const LOCK_STALE_MS = 180_000;

const memo = new Map<string, Promise<string>>();

/** Path of the ready template data directory (built on first use, then cached per process and per machine). */
export function mariadbTemplateDir(binaries: MariadbBinaries, host: HostProcess): Promise<string> {
  const finalDir = join(tmpdir(), `${TEMPLATE_PREFIX}${templateKey(binaries.mariadbd)}`);
  let pending = memo.get(finalDir);
  if (pending === undefined) {
    pending = ensureTemplate(finalDir, binaries.installDb, host).catch((err: unknown) => {
      memo.delete(finalDir);
      throw err;
    });
    memo.set(finalDir, pending);
  }
  return pending;
}

function installArgs(dataDir: string): string[] {
  return [
    '--no-defaults',
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    `--datadir=${dataDir}`,
    '--user=root',
    `--innodb-log-file-size=${TEMPLATE_LOG_FILE_SIZE}`,
    '--innodb-buffer-pool-size=64M',
    '--skip-name-resolve',
  ];
}

function templateKey(server: string): string {
  const s = statSync(server);
  const facts = [TEMPLATE_VERSION, server, s.size, s.mtimeMs, installArgs('').join(' ')].join('|');
  return createHash('sha256').update(facts).digest('hex').slice(0, 16);
}

async function ensureTemplate(finalDir: string, installDb: string, host: HostProcess): Promise<string> {
  if (existsSync(finalDir)) return finalDir;
  const lockPath = `${finalDir}.lock`;
  await acquireLock(lockPath, finalDir, host);
  try {
    if (!existsSync(finalDir)) await buildTemplate(finalDir, installDb, host);
  } finally {
    await rm(lockPath, { force: true });
  }
  return finalDir;
}

/** Takes the lock file, or returns early once another process has published the template. */
async function acquireLock(lockPath: string, finalDir: string, host: HostProcess): Promise<void> {
  const deadline = Date.now() + INIT_TIMEOUT_MS + 10_000;
  for (;;) {
    if (existsSync(finalDir)) return;
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(host.pid));
      await handle.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await lockIsStale(lockPath, host)) {
      await rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new EngineError(ThrowawayErrorCode.TemplateInitFailed, `timed out waiting for another process to build ${finalDir} (lock ${lockPath})`, {
        file: lockPath,
      });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function lockIsStale(lockPath: string, host: HostProcess): Promise<boolean> {
  try {
    const [text, info] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
    const holder = Number.parseInt(text, 10);
    if (Date.now() - info.mtimeMs > LOCK_STALE_MS) return true;
    // An empty file is a holder between open and write: not stale yet.
    return Number.isInteger(holder) && holder > 0 && !processAlive(host, holder);
  } catch {
    return false; // vanished: the next open will tell
  }
}

async function buildTemplate(finalDir: string, installDb: string, host: HostProcess): Promise<void> {
  const building = `${finalDir}.tmp-${host.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await runInstallDb(installDb, building);
    await rename(building, finalDir);
  } catch (err) {
    await rm(building, { recursive: true, force: true });
    // Lost a race after a stale-lock break: the other builder's template is as good.
    if (existsSync(finalDir)) return;
    throw err;
  }
}

function runInstallDb(program: string, dataDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(program, installArgs(dataDir), { timeout: INIT_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) {
        resolve();
        return;
      }
      const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-30).join('\n');
      reject(
        new EngineError(ThrowawayErrorCode.TemplateInitFailed, `${program} failed for ${dataDir}: ${err.message}\n${tail}`, { file: dataDir }, { cause: err }),
      );
    });
  });
}
