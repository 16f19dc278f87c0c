import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { EngineError } from '../../src/errors.js';

/** Stable codes of the test harness's failures; tests match on these, never on text. */
export const HarnessErrorCode = {
  BinaryNotFound: 'HARNESS_BINARY_NOT_FOUND',
  TemplateInitFailed: 'HARNESS_TEMPLATE_INIT_FAILED',
  StartFailed: 'HARNESS_SERVER_START_FAILED',
  StartTimeout: 'HARNESS_SERVER_START_TIMEOUT',
  NotRunning: 'HARNESS_SERVER_NOT_RUNNING',
  BinlogDisabled: 'HARNESS_BINLOG_DISABLED',
} as const;
export type HarnessErrorCode = (typeof HarnessErrorCode)[keyof typeof HarnessErrorCode];

// Debian puts mariadbd in /usr/sbin, which a non-login PATH often lacks.
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];
const found = new Map<string, string>();

/** Absolute path of a MariaDB program found on PATH or in the sbin folders; throws HARNESS_BINARY_NOT_FOUND with the install hint. */
export function findMariadbBinary(name: string): string {
  const cached = found.get(name);
  if (cached !== undefined) return cached;
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== ''), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      found.set(name, candidate);
      return candidate;
    } catch {
      // not here; try the next folder
    }
  }
  throw new EngineError(
    HarnessErrorCode.BinaryNotFound,
    `${name} not found on PATH nor in ${EXTRA_DIRS.join(', ')}: install MariaDB with \`apt-get install mariadb-server mariadb-client\``,
    { option: name },
  );
}

/** Absolute path of the server binary `mariadbd`. */
export function mariadbdPath(): string {
  return findMariadbBinary('mariadbd');
}

/** Absolute path of `mariadb-install-db`, which initialises a data directory. */
export function mariadbInstallDbPath(): string {
  return findMariadbBinary('mariadb-install-db');
}

/** Absolute path of `mariadb-binlog`, the reference binlog decoder tests compare against. */
export function mariadbBinlogPath(): string {
  return findMariadbBinary('mariadb-binlog');
}
