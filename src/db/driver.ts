/**
 * mysql2, loaded on first use rather than when the library is imported: it costs ~0.17 s of
 * start-up that an application only reading binlog files (readBinlog, inspectBinlogs) never needs.
 * Synchronous (the driver is CommonJS), so `format` and `escape` callers need not await it.
 */
import { createRequire } from 'node:module';
import type Mysql from 'mysql2/promise';

type Driver = typeof Mysql;

const load = createRequire(import.meta.url);
let driver: Driver | undefined;

/** The mysql2/promise module. */
export function mysql(): Driver {
  driver ??= load('mysql2/promise') as Driver;
  return driver;
}
