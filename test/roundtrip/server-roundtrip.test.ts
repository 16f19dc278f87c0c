/**
 * Round trip through a real MariaDB 10.11: generated tables over every column type the server
 * logs, rows written by the server (INSERT, UPDATE, DELETE), and the decoded binlog must give
 * exactly what SELECT returns for the same rows (see server-workload.ts and exact-compare.ts).
 * Runs under the server's binlog variants. Seeded: ROUNDTRIP_SEED=<n> replays a run.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSchemaHints } from '../../src/db/schema-hints.js';
import { parseConnectionUrl } from '../../src/db/connection-url.js';
import { startMariadb, type MariadbOptions, type MariadbServer } from '../harness/mariadb-server.js';
import { addCounts, describeMismatches, roundTripCase, runRoundTrip, type Mismatch, type RoundTripOptions } from './server-workload.js';

const SEED = Number(process.env['ROUNDTRIP_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const MIN_ROWS_PER_TYPE = 1000;

interface Variant {
  readonly name: string;
  readonly server: MariadbOptions;
  readonly runs: number;
  readonly rows: number;
  readonly options: RoundTripOptions;
}

const hintsFrom = (server: MariadbServer) => loadSchemaHints(parseConnectionUrl(server.url, 'test'));

const VARIANTS: readonly Variant[] = [
  { name: 'row image FULL, metadata FULL, CRC32', server: {}, runs: 5, rows: 200, options: { rowImage: 'FULL' } },
  { name: 'binlog_checksum NONE', server: { checksum: 'NONE' }, runs: 1, rows: 150, options: { rowImage: 'FULL' } },
  { name: 'binlog_row_image MINIMAL', server: { rowImage: 'MINIMAL' }, runs: 1, rows: 150, options: { rowImage: 'MINIMAL' } },
  { name: 'binlog_row_image NOBLOB', server: { rowImage: 'NOBLOB' }, runs: 1, rows: 150, options: { rowImage: 'NOBLOB' } },
  { name: 'binlog_row_metadata NO_LOG with schema hints', server: { rowMetadata: 'NO_LOG' }, runs: 1, rows: 150, options: { rowImage: 'FULL', hints: hintsFrom } },
  { name: 'binlog_row_metadata MINIMAL (ENUM/SET as numbers)', server: { rowMetadata: 'MINIMAL' }, runs: 1, rows: 100, options: { rowImage: 'FULL' } },
  { name: 'log_bin_compress', server: { compressBinlog: true }, runs: 1, rows: 150, options: { rowImage: 'FULL' } },
];

const inserted = new Map<string, number>();
const compared = new Map<string, number>();

describe.each(VARIANTS.map((v, i) => ({ ...v, index: i })))('server round trip: $name', (variant) => {
  let server: MariadbServer;
  beforeAll(async () => {
    server = await startMariadb({ name: `roundtrip-${variant.index}`, ...variant.server });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it(`decodes exactly what SELECT returns (seed ${SEED})`, { timeout: 120_000 }, async () => {
    const mismatches: Mismatch[] = [];
    const problems: string[] = [];
    const property = fc.asyncProperty(roundTripCase({ rows: variant.rows, extraColumns: 8 }), async (c) => {
      const r = await runRoundTrip(server, c, variant.options);
      addCounts(inserted, r.inserted);
      addCounts(compared, r.compared);
      mismatches.push(...r.mismatches);
      problems.push(...r.problems);
    });
    // Mismatches are gathered over every run rather than stopping at the first, so one report shows them all.
    const details = await fc.check(property, { seed: SEED + variant.index, numRuns: variant.runs, endOnFailure: true });
    if (details.failed) throw new Error(`ROUNDTRIP_SEED=${SEED}: run failed: ${String(details.errorInstance)}`);
    const report = [...problems.slice(0, 20), describeMismatches(mismatches)].filter((s) => s !== '').join('\n');
    // Not expect(report).toBe(''): a diff of a long report takes minutes.
    if (report !== '') expect.fail(`ROUNDTRIP_SEED=${SEED} (variant ${variant.name}): ${problems.length} problem(s), ${mismatches.length} cell mismatch(es)\n${report}`);
  });
});

describe('server round trip coverage', () => {
  it(`generated at least ${MIN_ROWS_PER_TYPE} rows of every column type`, () => {
    const lines = [...inserted].sort(([a], [b]) => a.localeCompare(b)).map(([family, n]) => `${family.padEnd(20)} ${String(n).padStart(6)} rows, ${String(compared.get(family) ?? 0).padStart(6)} images`);
    console.log(`rows per column type (seed ${SEED}):\n${lines.join('\n')}`);
    const short = [...inserted].filter(([, n]) => n < MIN_ROWS_PER_TYPE).map(([f, n]) => `${f}: ${n}`);
    expect(short).toEqual([]);
  });
});
