/**
 * zod, loaded on first use rather than when the library is imported: it costs ~70 ms of start-up
 * that an application only reading binlog files (readBinlog, inspectBinlogs) never needs.
 * Synchronous (zod ships CommonJS too), so parseConfig and the schema accessors stay synchronous.
 * Every schema and `toJSONSchema` goes through this one instance: zod's ES build is a second copy
 * with registries of its own, so nothing in src may import zod's values directly.
 */
import { createRequire } from 'node:module';
import type * as Zod from 'zod';

type ZodNamespace = typeof Zod.z;

const load = createRequire(import.meta.url);
let instance: ZodNamespace | undefined;

/** zod's `z`. */
export function zod(): ZodNamespace {
  instance ??= (load('zod') as typeof Zod).z;
  return instance;
}
