/**
 * The test harness's view of the MariaDB programs: src/demo/mariadb-binaries.ts searched with
 * this process's PATH.
 */
import {
  findMariadbBinary as findInSearch,
  ThrowawayErrorCode,
  type MariadbBinaries,
} from '../../src/demo/mariadb-binaries.js';

/** Stable codes of the harness's failures (the throwaway-server codes); tests match on these, never on text. */
export const HarnessErrorCode = ThrowawayErrorCode;
export type HarnessErrorCode = ThrowawayErrorCode;

/** Absolute path of a MariaDB program found on PATH or in the sbin folders; throws MARIADB_BINARY_NOT_FOUND with the install hint. */
export function findMariadbBinary(name: string): string {
  return findInSearch(name, { path: process.env['PATH'] });
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

/** The server programs, found on this process's PATH. */
export function harnessBinaries(): MariadbBinaries {
  return { mariadbd: mariadbdPath(), installDb: mariadbInstallDbPath() };
}
