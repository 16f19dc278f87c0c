/**
 * Preloaded (`node --import trace-sql.js …`) into a salvage child by `bench:apply --trace-sql`:
 * times every statement the child sends through mysql2's promise API, grouped by kind
 * (`UPDATE bench.orders`, `INSERT salvage.ledger`, `SELECT…FOR UPDATE bench.events`, …), and on
 * exit writes the groups as JSON to the file named by BENCH_SQL_TRACE_FILE, with the event loop
 * utilisation of the whole run. A statement's time runs from the call to its result, so it holds
 * mysql2's formatting and escaping, the socket write, the round trip and the server's work.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

/** One group of statements in the trace file. */
export interface SqlTraceEntry {
  readonly kind: string;
  readonly count: number;
  readonly ms: number;
  /** SQL text plus bound strings and buffers (hex counted twice): close to what went on the wire. */
  readonly approxBytes: number;
}

/** The trace file's content. */
export interface SqlTrace {
  readonly wallMs: number;
  /**
   * Sum of the statements' times. Since salvage pipelines a window's statements (src/db/statement-pipeline.ts)
   * and sends its reads together, these overlap: a statement's time includes its wait behind the
   * ones queued before it, so the sum can pass the wall clock.
   */
  readonly inQueryMs: number;
  /** Share of the run the event loop was busy (JS, GC, syscalls), 0–1. */
  readonly eventLoopUtilization: number;
  readonly entries: readonly SqlTraceEntry[];
}

type QueryFn = (this: { connection: unknown }, sql: unknown, params?: unknown) => Promise<unknown>;

const target = process.env['BENCH_SQL_TRACE_FILE'];
if (target !== undefined) {
  const require = createRequire(import.meta.url);
  // The same module instance the CLI's `import mysql from 'mysql2/promise'` gets (ESM shares the CJS cache).
  const promiseApi = require('mysql2/promise') as { PromiseConnection: { prototype: { query: QueryFn } } };
  const proto = promiseApi.PromiseConnection.prototype;
  const original = proto.query;
  const groups = new Map<string, { count: number; ms: number; approxBytes: number }>();
  let inQueryMs = 0;
  const started = performance.now();
  const elu0 = performance.eventLoopUtilization();
  proto.query = async function traced(this: { connection: unknown }, sql: unknown, params?: unknown): Promise<unknown> {
    const t = performance.now();
    try {
      return await original.call(this, sql, params);
    } finally {
      const ms = performance.now() - t;
      inQueryMs += ms;
      const text = typeof sql === 'string' ? sql : String((sql as { sql?: unknown } | null)?.sql ?? '');
      const kind = statementKind(text);
      const g = groups.get(kind) ?? { count: 0, ms: 0, approxBytes: 0 };
      g.count++;
      g.ms += ms;
      g.approxBytes += text.length + paramBytes(params);
      groups.set(kind, g);
    }
  };
  process.on('exit', () => {
    const trace: SqlTrace = {
      wallMs: performance.now() - started,
      inQueryMs,
      eventLoopUtilization: performance.eventLoopUtilization(elu0).utilization,
      entries: [...groups].map(([kind, g]) => ({ kind, ...g })).sort((a, b) => b.ms - a.ms),
    };
    writeFileSync(target, JSON.stringify(trace));
  });
}

/** The verb and table of a statement, or its first 40 characters. */
function statementKind(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  const m = /^(INSERT INTO|UPDATE|DELETE FROM|SELECT .*? FROM) (`[^`]+`\.`[^`]+`)/.exec(s);
  if (m === null) return s.slice(0, 40);
  const verb = m[1] as string;
  const table = (m[2] as string).replace(/`/g, '');
  if (!verb.startsWith('SELECT')) return `${verb.split(' ')[0]} ${table}`;
  if (s.includes('MAX(')) return `SELECT MAX ${table}`;
  return `${s.endsWith('FOR UPDATE') ? 'SELECT…FOR UPDATE' : 'SELECT'} ${table}`;
}

function paramBytes(params: unknown): number {
  if (!Array.isArray(params)) return 0;
  let n = 0;
  for (const p of params) {
    if (typeof p === 'string') n += p.length + 2;
    else if (Buffer.isBuffer(p)) n += p.length * 2 + 3;
    else n += 8;
  }
  return n;
}
