/**
 * Where the MariaDB programs are: the PATH given (src/cli passes the process's), then the
 * sbin folders a non-login PATH often lacks (Debian puts mariadbd in /usr/sbin).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { EngineError } from '../errors.js';

/** Stable codes of throwaway-server failures; callers match on these, never on text. */
export const ThrowawayErrorCode = {
  BinaryNotFound: 'MARIADB_BINARY_NOT_FOUND',
  TemplateInitFailed: 'MARIADB_TEMPLATE_INIT_FAILED',
  StartFailed: 'MARIADB_START_FAILED',
  StartTimeout: 'MARIADB_START_TIMEOUT',
  NotRunning: 'MARIADB_NOT_RUNNING',
  BinlogDisabled: 'MARIADB_BINLOG_DISABLED',
} as const;
export type ThrowawayErrorCode = (typeof ThrowawayErrorCode)[keyof typeof ThrowawayErrorCode];

/** The folders searched after PATH. */
export const EXTRA_BINARY_DIRS: readonly string[] = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];

/** Where to look: the PATH string, and folders tried after it. */
export interface BinarySearch {
  readonly path: string | undefined;
  readonly extraDirs?: readonly string[];
}

/** The two programs a throwaway server needs. */
export interface MariadbBinaries {
  readonly mariadbd: string;
  readonly installDb: string;
}

const found = new Map<string, string>();

/** Absolute path of a MariaDB program; throws MARIADB_BINARY_NOT_FOUND naming `apt-get install mariadb-server`. */
export function findMariadbBinary(name: string, search: BinarySearch): string {
  const extra = search.extraDirs ?? EXTRA_BINARY_DIRS;
  const dirs = [...(search.path ?? '').split(delimiter).filter((d) => d !== ''), ...extra];
  const key = `${name}\0${dirs.join(delimiter)}`;
  const cached = found.get(key);
  if (cached !== undefined) return cached;
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      found.set(key, candidate);
      return candidate;
    } catch {
      // not here; try the next folder
    }
  }
  const where = extra.length === 0 ? 'on PATH' : `on PATH nor in ${extra.join(', ')}`;
  throw new EngineError(
    ThrowawayErrorCode.BinaryNotFound,
    `${name} not found ${where}: install MariaDB with \`apt-get install mariadb-server mariadb-client\``,
    { option: name },
  );
}

/** `mariadbd` and `mariadb-install-db`, or the first one missing as MARIADB_BINARY_NOT_FOUND. */
export function findServerBinaries(search: BinarySearch): MariadbBinaries {
  return { mariadbd: findMariadbBinary('mariadbd', search), installDb: findMariadbBinary('mariadb-install-db', search) };
}
