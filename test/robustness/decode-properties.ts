/**
 * The robustness properties of the decoder, shared by the regular suites (bad-input,
 * split-anywhere: short, seeded) and the long fuzz run (fuzz.ts). Each check decodes some input and
 * fails an `expect` when the decoder misbehaves; the reference is the same real file decoded whole.
 *
 * What "misbehaves" means here:
 * - anything thrown that is not a BinlogError with the file and an offset (a TypeError or a
 *   RangeError escaping, or turned into a CORRUPT_EVENT by the decoder's catch-all, is a bug);
 * - an error offset that is not the start of an event of the input as framed;
 * - a committed transaction that differs from its twin in the undamaged file, or that comes from
 *   bytes the decoder did not completely read;
 * - a decode slower than DECODE_TIME_LIMIT_MS (a loop; a truly endless loop hangs the run instead,
 *   and the fast-check seed printed on failure reproduces it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { expect } from 'vitest';
import { BinlogDecoder, type DecoderOptions, type IncompleteTail } from '../../src/binlog/decoder.js';
import { ColumnType } from '../../src/binlog/column-types.js';
import type { BinlogEvent } from '../../src/binlog/event.js';
import { EventType } from '../../src/binlog/event-types.js';
import { TransactionAssembler, type TransactionItem } from '../../src/binlog/transaction.js';
import { BinlogError, BinlogErrorCode } from '../../src/errors.js';
import { BinlogWriter, type BinlogWriterOptions } from '../harness/binlog-writer.js';

/** The shared real binlogs (read only; never copied into the repository). */
export const REAL_BINLOGS = resolve(import.meta.dirname, '../../../shared/fixtures/real-binlogs');
export const haveRealBinlogs = existsSync(REAL_BINLOGS);

/** Real files the properties run on, by role. */
export const Fixture = {
  /** MariaDB 10.11, CRC32, 10.6 KB: every common event kind, many column types. */
  mariadbPrimary1: 'local-mariadb-10.11/failover/primary/primary-bin.000001',
  /** MariaDB 10.11, CRC32, FDE left in use (crash), statement-format group. */
  mariadbPrimary2: 'local-mariadb-10.11/failover/primary/primary-bin.000002',
  /** MariaDB 10.11, binlog_checksum=NONE. */
  mariadbNoChecksum: 'local-mariadb-10.11/variants/var-bin.000003',
  /** MariaDB 10.11, log_bin_compress (zlib-compressed query and rows events). */
  mariadbCompressed: 'local-mariadb-10.11/variants/var-bin.000004',
  /** MySQL 8.0.32, CRC32, one transaction in a zstd TRANSACTION_PAYLOAD. */
  mysqlPayload: 'rust_mysql_common/transaction_compression.000001',
  /** MySQL 8.0.28, CRC32, ENUM/SET rows with full metadata. */
  mysqlRows: 'rust_mysql_common/mysql-enum-string-set.000001',
  /** MySQL 9.6, CRC32, tagged GTID. */
  mysqlTaggedGtid: 'rust_mysql_common/binlog_transaction_with_GTID_TAG.000001',
  /** MySQL 5.6.4, checksum OFF. */
  mysqlNoChecksum: 'rust_mysql_common/bug11747887-bin.000003',
  /** MySQL 5.1.23, no checksum, 150 KB with events far larger than small chunks. */
  mysql51Large: 'rust_mysql_common/ver_5_1_23.001',
} as const;
export type FixtureName = (typeof Fixture)[keyof typeof Fixture];

/** A real file decoded whole: what every damaged, cut or chunked decode is compared with. */
export interface Reference {
  /** The name given to the decoder (errors and transactions carry it). */
  readonly name: string;
  readonly bytes: Buffer;
  readonly options: DecoderOptions;
  readonly events: readonly BinlogEvent[];
  readonly eventJson: readonly string[];
  /** Start and end offset of each event, in file order. */
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  readonly items: readonly TransactionItem[];
  readonly itemJson: readonly string[];
  /** The committed transactions alone, in order, as stable JSON. */
  readonly committedJson: readonly string[];
  readonly committedEnds: readonly number[];
  readonly tail: IncompleteTail | null;
  /** Whether every event carries a CRC32 that the decoder verifies. */
  readonly checksummed: boolean;
}

/** Upper bound for decoding one input of at most a few hundred KB; real decodes take milliseconds. */
export const DECODE_TIME_LIMIT_MS = 2_000;

// --- stable JSON ----------------------------------------------------------------------------------

/**
 * A deterministic JSON text of any decoded value: keys sorted; bigint, Buffer, typed arrays,
 * undefined, -0 and non-finite numbers tagged; class instances tagged with their class name.
 */
export function stableJson(value: unknown): string {
  return JSON.stringify(toStable(value, 0));
}

function toStable(v: unknown, depth: number): unknown {
  if (depth > 256) throw new Error('stableJson: nested deeper than 256 (a cycle?)');
  switch (typeof v) {
    case 'undefined':
      return { $: 'undefined' };
    case 'boolean':
    case 'string':
      return v;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0) ? v : { $: 'number', v: Object.is(v, -0) ? '-0' : String(v) };
    case 'bigint':
      return { $: 'bigint', v: v.toString() };
    case 'object':
      break;
    default:
      throw new Error(`stableJson: cannot represent a ${typeof v}`);
  }
  if (v === null) return null;
  if (Buffer.isBuffer(v)) return { $: 'Buffer', hex: v.toString('hex') };
  if (ArrayBuffer.isView(v)) return { $: v.constructor.name, hex: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') };
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = toStable(v[i], depth + 1);
    return out;
  }
  if (v instanceof Map) return { $: 'Map', entries: [...v.entries()].map(([k, x]) => [toStable(k, depth + 1), toStable(x, depth + 1)]) };
  const proto: unknown = Object.getPrototypeOf(v);
  const out: Record<string, unknown> = {};
  if (proto !== Object.prototype && proto !== null) out['$class'] = (v as { constructor?: { name?: string } }).constructor?.name ?? '?';
  const record = v as Record<string, unknown>;
  for (const key of Object.keys(record).sort()) out[key] = toStable(record[key], depth + 1);
  return out;
}

// --- decoding -------------------------------------------------------------------------------------

/** What one decode produced; `error` is what push() or end() threw (null when nothing was). */
export interface Outcome {
  readonly events: BinlogEvent[];
  /** Items the assembler emitted; after an error, only those of the chunks decoded before it. */
  readonly items: TransactionItem[];
  readonly tail: IncompleteTail | null;
  readonly error: unknown;
  readonly position: number;
  readonly ms: number;
}

/**
 * Decodes `bytes` fed in the chunks that `cuts` (sorted offsets inside the input) delimit. Each
 * chunk is copied into one scratch buffer that is scribbled over after push(), as a file reader
 * reuses its read buffer: an event still pointing into a chunk then shows up as a difference.
 */
export function decodeChunks(bytes: Buffer, cuts: readonly number[], options: DecoderOptions): Outcome {
  const started = performance.now();
  const decoder = new BinlogDecoder(options);
  const assembler = new TransactionAssembler(options.file);
  const events: BinlogEvent[] = [];
  const items: TransactionItem[] = [];
  let tail: IncompleteTail | null = null;
  let error: unknown = null;
  let scratch = Buffer.alloc(0);
  try {
    let from = 0;
    for (let i = 0; i <= cuts.length; i++) {
      const to = i < cuts.length ? cuts[i]! : bytes.length;
      if (to <= from && i < cuts.length) continue;
      const length = to - from;
      if (scratch.length < length) scratch = Buffer.alloc(Math.max(length, scratch.length * 2));
      bytes.copy(scratch, 0, from, to);
      const got = decoder.push(scratch.subarray(0, length));
      scratch.fill(0xa5, 0, length);
      events.push(...got);
      assembler.push(got, items);
      from = to;
    }
    tail = decoder.end();
    assembler.end(items);
  } catch (e) {
    error = e;
  }
  return { events, items, tail, error, position: decoder.position, ms: performance.now() - started };
}

/** Cut points that split `length` bytes into chunks of `size`. */
export function everyNth(length: number, size: number): number[] {
  const cuts: number[] = [];
  for (let at = size; at < length; at += size) cuts.push(at);
  return cuts;
}

/** Decodes the whole input in one push(). */
export function decodeWhole(bytes: Buffer, options: DecoderOptions): Outcome {
  return decodeChunks(bytes, [], options);
}

const references = new Map<string, Reference>();

/** The real file `rel` (under REAL_BINLOGS) decoded whole, cached; `name` is what errors carry. */
export function loadReference(rel: FixtureName, options: { readonly verifyChecksums?: boolean; readonly name?: string } = {}): Reference {
  const path = resolve(REAL_BINLOGS, rel);
  const name = options.name ?? rel;
  const key = `${path}\0${name}\0${options.verifyChecksums ?? true}`;
  const cached = references.get(key);
  if (cached) return cached;
  const bytes = readFileSync(path);
  const decoderOptions: DecoderOptions = { file: name, verifyChecksums: options.verifyChecksums ?? true };
  const whole = decodeWhole(bytes, decoderOptions);
  if (whole.error !== null) throw new Error(`reference decode of ${rel} failed`, { cause: whole.error });
  const starts = whole.events.map((e) => e.header.offset);
  const ends = whole.events.map((e) => e.header.offset + e.header.size);
  const committed = whole.items.flatMap((i) => (i.kind === 'transaction' ? [i.tx] : []));
  const fde = whole.events[0];
  const ref: Reference = {
    name,
    bytes,
    options: decoderOptions,
    events: whole.events,
    eventJson: whole.events.map(stableJson),
    starts,
    ends,
    items: whole.items,
    itemJson: whole.items.map(stableJson),
    committedJson: committed.map(stableJson),
    committedEnds: committed.map((t) => t.end),
    tail: whole.tail,
    checksummed: (options.verifyChecksums ?? true) && fde?.kind === 'format-description' && fde.checksumAlgorithm === 1,
  };
  references.set(key, ref);
  return ref;
}

// --- assertions -----------------------------------------------------------------------------------

/** The chain of causes below an error, the error first. */
function causes(e: unknown): unknown[] {
  const out: unknown[] = [];
  for (let c = e; c !== undefined && c !== null && out.length < 16; c = (c as { cause?: unknown }).cause) out.push(c);
  return out;
}

function describeError(e: unknown): string {
  return causes(e)
    .map((c) => (c instanceof Error ? `${c.name}${(c as { code?: unknown }).code === undefined ? '' : `[${String((c as { code?: unknown }).code)}]`}: ${c.message}` : String(c)))
    .join(' <- ');
}

/**
 * A JavaScript-engine error that the decoder's catch-all turned into a CORRUPT_EVENT ("cannot
 * decode … event"): a bug, where a bounds check should have said what and where. An engine error
 * deeper down, below a BinlogError that wrapped it on purpose (zstd or zlib refusing damaged data),
 * is not one.
 */
export function engineErrorCause(e: unknown): Error | null {
  const c = causes(e)[1];
  return c instanceof TypeError || c instanceof RangeError || c instanceof SyntaxError || c instanceof ReferenceError ? c : null;
}

/** Asserts `e` is a BinlogError naming `file` and an integer offset; returns it. */
export function expectTypedError(e: unknown, file: string): BinlogError {
  if (!(e instanceof BinlogError)) expect.fail(`expected a BinlogError, got ${describeError(e)}`);
  const engine = engineErrorCause(e);
  if (engine !== null) expect.fail(`a ${engine.name} escaped the decoder's bounds checks: ${describeError(e)}`);
  expect(e.details.file, describeError(e)).toBe(file);
  expect(Number.isInteger(e.details.offset), describeError(e)).toBe(true);
  return e;
}

/** Asserts a BinlogError of this code at this offset of this file. */
export function expectBinlogError(e: unknown, code: BinlogErrorCode, file: string, offset: number): void {
  const err = expectTypedError(e, file);
  expect({ code: err.code, offset: err.details.offset }, describeError(e)).toEqual({ code, offset });
}

/**
 * Event starts of `bytes` as the header sizes frame them, from offset 4 on, stopping at the first
 * size below the header length: the only offsets a decode error may name (besides 0, the magic).
 */
export function framedStarts(bytes: Buffer): Set<number> {
  const starts = new Set<number>([0]);
  let at = 4;
  while (at + 19 <= bytes.length) {
    starts.add(at);
    const size = bytes.readUInt32LE(at + 9);
    if (size < 19) break;
    at += size;
  }
  if (at < bytes.length) starts.add(at);
  return starts;
}

function expectWithinTime(got: Outcome, what: string): void {
  expect(got.ms, `${what} took ${got.ms.toFixed(0)} ms`).toBeLessThan(DECODE_TIME_LIMIT_MS);
}

/** Number of reference events that end at or before `cut`. */
function completeBefore(ends: readonly number[], cut: number): number {
  let n = 0;
  while (n < ends.length && ends[n]! <= cut) n++;
  return n;
}

/**
 * Asserts the committed transactions of `got` are the first ones of the reference, each identical
 * (from index `from` on; those before only by place). Returns how many there are.
 */
function expectCommittedPrefix(ref: Reference, got: readonly TransactionItem[], what: string, from = 0): number {
  const committed = got.flatMap((i) => (i.kind === 'transaction' ? [i.tx] : []));
  expect(committed.length, `${what}: more transactions than the file holds`).toBeLessThanOrEqual(ref.committedJson.length);
  for (let i = 0; i < committed.length; i++) {
    if (i < from) {
      expect(committed[i]!.end, what).toBe(ref.committedEnds[i]);
      continue;
    }
    const json = stableJson(committed[i]);
    if (json !== ref.committedJson[i]) expect.fail(`${what}: transaction ${i} differs from the one in the intact file\n  got ${json}\n want ${ref.committedJson[i]}`);
  }
  return committed.length;
}

// --- the properties -------------------------------------------------------------------------------

/**
 * The file cut at `cut` (fed whole, or in chunks of `chunkSize`): under 4 bytes a BAD_MAGIC from
 * end(); otherwise no error, exactly the events that end before the cut, a tail at the end of the
 * last complete one, and exactly the committed transactions that lie wholly before the cut.
 */
export function checkTruncation(ref: Reference, cut: number, chunkSize: number | null): void {
  const input = ref.bytes.subarray(0, cut);
  const what = `${ref.name} cut at ${cut}${chunkSize === null ? '' : ` in chunks of ${chunkSize}`}`;
  const got = chunkSize === null ? decodeWhole(input, ref.options) : decodeChunks(input, everyNth(cut, chunkSize), ref.options);
  expectWithinTime(got, what);
  if (cut < 4) {
    expectBinlogError(got.error, BinlogErrorCode.BadMagic, ref.name, 0);
    expect(got.events).toEqual([]);
    return;
  }
  if (got.error !== null) expect.fail(`${what}: a cut file must decode up to the cut, but threw ${describeError(got.error)}`);
  const n = completeBefore(ref.ends, cut);
  const lastEnd = n === 0 ? 4 : ref.ends[n - 1]!;
  expect(got.events.length, what).toBe(n);
  // The event next to the cut is the one that could have read past its end: it is compared at
  // every cut, the others (by place at every cut) in full at every 64th, as comparing all of them
  // at every cut is quadratic. Chunking alone is split-anywhere's business.
  for (let i = cut % 64 === 0 ? 0 : Math.max(0, n - 1); i < n; i++) {
    if (stableJson(got.events[i]) !== ref.eventJson[i]) expect.fail(`${what}: event ${i} at ${ref.starts[i]} differs from the whole-file decode`);
  }
  expect(got.events.map((e) => e.header.offset), what).toEqual(ref.starts.slice(0, n));
  expect(got.position, what).toBe(lastEnd);
  const partial = cut - lastEnd;
  expect(got.tail, what).toEqual(
    partial === 0 ? null : { offset: lastEnd, bytes: partial, claimedSize: partial >= 19 ? ref.bytes.readUInt32LE(lastEnd + 9) : null, typeCode: partial >= 5 ? ref.bytes[lastEnd + 4]! : null },
  );
  const deep = cut % 64 === 0;
  const before = completeBefore(ref.committedEnds, lastEnd);
  const committed = expectCommittedPrefix(ref, got.items, what, deep ? 0 : before - 1);
  expect(committed, `${what}: transactions committed before the cut`).toBe(before);
  // Every other item (rolled back, restarted groups) is the reference's too; only the group open
  // at the cut ends differently: incomplete, 'end-of-input', never committed.
  let k = got.items.length;
  while (k > 0 && got.items[k - 1]!.kind === 'incomplete' && (got.items[k - 1]!.tx as { reason?: string }).reason === 'end-of-input') k--;
  const place = (i: TransactionItem): string => `${i.kind}@${i.tx.pos}-${i.tx.end}`;
  expect(got.items.slice(0, k).map(place), what).toEqual(ref.items.slice(0, k).map(place));
  for (let i = deep ? 0 : Math.max(0, k - 1); i < k; i++) expect(stableJson(got.items[i]), what).toBe(ref.itemJson[i]);
  expect(got.items.length - k, `${what}: open groups at the cut`).toBeLessThanOrEqual(1);
  if (k < got.items.length) expect(got.items[k]!.tx.pos, what).toBe(ref.items[k]!.tx.pos);
}

/** One damaged byte: `bytes[pos] ^= mask` (mask 1..255). */
export interface Flip {
  readonly pos: number;
  readonly mask: number;
}

/** The reference's bytes with the flips applied (a copy). */
export function applyFlips(ref: Reference, flips: readonly Flip[]): Buffer {
  const bytes = Buffer.from(ref.bytes);
  for (const f of flips) bytes[f.pos] = bytes[f.pos]! ^ f.mask;
  return bytes;
}

/** Offset of the first FDE's flags: its in-use bit is outside the CRC by design (see decoder.ts). */
const FDE_FLAGS = 4 + 17;

/**
 * The first offset where `bytes` differs from the reference in a way a checksum can see: the FDE's
 * in-use flag is left out of its CRC, so toggling it alone is no damage. Null when nothing differs.
 */
function firstDamage(ref: Reference, bytes: Buffer): number | null {
  for (let i = 0; i < bytes.length; i++) {
    const diff = bytes[i]! ^ ref.bytes[i]!;
    if (diff !== 0 && !(i === FDE_FLAGS && diff === 1)) return i;
  }
  return null;
}

/** How a damaged file ended, for the fuzz run's statistics. */
export type FlipVerdict = 'detected' | 'harmless' | 'undetectable';

/**
 * The file with bytes flipped, fed whole (chunkSize null) or in chunks. Checksummed file: either a
 * typed error at the start of the first damaged event (CHECKSUM_MISMATCH or CORRUPT_EVENT; BAD_MAGIC
 * in the magic; for the format description also a version or "no format description" error), or
 * a harmless outcome: only committed transactions identical to the intact file's. Any file: only
 * BinlogErrors, naming the file and an event start of the damaged input, in bounded time.
 */
export function checkFlips(ref: Reference, flips: readonly Flip[], chunkSize: number | null): FlipVerdict {
  if (flips.length === 0) return 'harmless';
  const bytes = applyFlips(ref, flips);
  const first = firstDamage(ref, bytes);
  if (first === null) return 'harmless';
  const what = `${ref.name} with ${flips.map((f) => `byte ${f.pos} ^ 0x${f.mask.toString(16)}`).join(', ')}${chunkSize === null ? '' : ` in chunks of ${chunkSize}`}`;
  const got = chunkSize === null ? decodeWhole(bytes, ref.options) : decodeChunks(bytes, everyNth(bytes.length, chunkSize), ref.options);
  expectWithinTime(got, what);
  const k = first < 4 ? -1 : completeBefore(ref.ends, first);
  const eventStart = k < 0 ? 0 : ref.starts[k]!;
  if (got.error !== null) {
    const err = expectTypedError(got.error, ref.name);
    const offset = err.details.offset!;
    expect(framedStarts(bytes).has(offset), `${what}: error offset ${offset} is not an event start: ${err.message}`).toBe(true);
    if (!ref.checksummed) {
      // Without checksums a damaged row value is undetectable: only the error's place is checked.
      expect(offset, `${what}: error before the damage: ${err.message}`).toBeGreaterThanOrEqual(eventStart);
      return 'detected';
    }
    const allowed: string[] = [BinlogErrorCode.ChecksumMismatch, BinlogErrorCode.CorruptEvent];
    if (k < 0) allowed.push(BinlogErrorCode.BadMagic);
    if (k === 0) allowed.push(BinlogErrorCode.Unsupported, BinlogErrorCode.MissingFormatDescription);
    expect(allowed, `${what}: ${err.message}`).toContain(err.code);
    expect(offset, `${what}: ${err.message}`).toBe(eventStart);
    expectCommittedPrefix(ref, got.items, what);
    return 'detected';
  }
  if (!ref.checksummed) return 'undetectable';
  expectCommittedPrefix(ref, got.items, what);
  // Undetected damage in a checksummed file can only be a size that grew past the end of the
  // file: the event then looks like the partial one a crash leaves, reported as the tail. (Its
  // header's log_pos, offset + size in a server's own binlog, would tell the two apart.)
  expect(got.tail?.offset, `${what}: damage neither detected nor reported as a tail`).toBe(eventStart);
  const size = bytes.readUInt32LE(eventStart + 9);
  expect(size, `${what}: undetected damage, size field intact`).not.toBe(ref.bytes.readUInt32LE(eventStart + 9));
  expect(eventStart + size, `${what}: undetected damage in an event that fits in the file`).toBeGreaterThan(bytes.length);
  return 'harmless';
}

/**
 * Input that is not a binlog, or a binlog header followed by anything: the decoder either throws a
 * typed error at an event start of the input (whole or chunked the same), or reports a tail.
 */
export function checkGarbage(bytes: Buffer, name: string, chunkSize: number): void {
  const options: DecoderOptions = { file: name };
  const whole = decodeWhole(bytes, options);
  const chunked = decodeChunks(bytes, everyNth(bytes.length, chunkSize), options);
  expectWithinTime(whole, `${name} whole`);
  expectWithinTime(chunked, `${name} in chunks of ${chunkSize}`);
  for (const got of [whole, chunked]) {
    if (got.error === null) continue;
    const err = expectTypedError(got.error, name);
    expect(framedStarts(bytes).has(err.details.offset!), `${name}: error offset ${err.details.offset} is not an event start: ${err.message}`).toBe(true);
  }
  // Where the input fails must not depend on how it was chunked.
  const summary = (o: Outcome): string => (o.error instanceof BinlogError ? `${o.error.code}@${o.error.details.offset}` : `tail ${stableJson(o.tail)}`);
  expect(summary(chunked), name).toBe(summary(whole));
}

/**
 * The file fed in the chunks `cuts` delimit decodes to exactly the events, transactions, tail and
 * position of the whole-file decode.
 */
export function checkSplit(ref: Reference, cuts: readonly number[]): void {
  const what = `${ref.name} split at [${cuts.length > 12 ? `${cuts.slice(0, 12).join(', ')}, … ${cuts.length} cuts` : cuts.join(', ')}]`;
  const got = decodeChunks(ref.bytes, cuts, ref.options);
  expectWithinTime(got, what);
  if (got.error !== null) expect.fail(`${what}: threw ${describeError(got.error)}`);
  expect(got.events.length, what).toBe(ref.events.length);
  for (let i = 0; i < got.events.length; i++) {
    if (stableJson(got.events[i]) !== ref.eventJson[i]) expect.fail(`${what}: event ${i} at ${ref.starts[i]} differs from the whole-file decode`);
  }
  expect(got.items.map(stableJson), what).toEqual(ref.itemJson);
  expect(got.tail, what).toEqual(ref.tail);
  expect(got.position, what).toBe(ref.bytes.length - (ref.tail?.bytes ?? 0));
}

/** Sorted, distinct cut points inside (0, length) from any integers. */
export function normaliseCuts(raw: readonly number[], length: number): number[] {
  return [...new Set(raw.filter((c) => c > 0 && c < length))].sort((a, b) => a - b);
}

// --- fast-check arbitraries and runners -----------------------------------------------------------

/** fast-check parameters: seeded (reproducible), as many runs as fit in `ms`, then stop (not a failure). */
export function fuzzParameters(ms: number, seed: number): fc.Parameters<unknown> {
  return { seed, numRuns: Number.MAX_SAFE_INTEGER, plugins: [fc.interruptAfterTimeLimit(ms)] };
}

/** The seed of the regular suite (FUZZ_SEED overrides it to replay a fuzz finding). */
export function suiteSeed(env: Readonly<Record<string, string | undefined>>): number {
  const s = Number(env['FUZZ_SEED']);
  return Number.isInteger(s) ? s : 0x5a1_7a6e;
}

const chunkArb = fc.option(fc.integer({ min: 1, max: 600 }), { nil: null });

/** 1..maxFlips damaged bytes anywhere in a file of `length` bytes, plus a chunk size (null: whole). */
export function flipsArb(length: number, maxFlips: number): fc.Arbitrary<{ flips: Flip[]; chunk: number | null }> {
  const flip = fc.record({ pos: fc.integer({ min: 0, max: length - 1 }), mask: fc.integer({ min: 1, max: 255 }) });
  return fc.record({ flips: fc.array(flip, { minLength: 1, maxLength: maxFlips }), chunk: chunkArb });
}

/** Verdict counts of a flip run, for the fuzz report. */
export type FlipStats = Record<FlipVerdict, number>;

/**
 * Makes a reference print as its name in fast-check's counterexamples (the default would print
 * every byte and event of the file).
 */
function named(ref: Reference): Reference {
  return Object.assign(Object.create(ref) as Reference, { [fc.toStringMethod]: () => JSON.stringify(ref.name) });
}

/** The flip property over several references; counts verdicts into `stats`. */
export function flipsProperty(refs: readonly Reference[], maxFlips: number, stats: FlipStats): fc.IPropertyWithHooks<[{ ref: Reference; flips: Flip[]; chunk: number | null }]> {
  const arb = fc.constantFrom(...refs.map(named)).chain((ref) => flipsArb(ref.bytes.length, maxFlips).map((f) => ({ ref, ...f })));
  return fc.property(arb, ({ ref, flips, chunk }) => {
    stats[checkFlips(ref, flips, chunk)]++;
  });
}

/** Any chunking of a reference file: sorted cut points (as many as 1 per 4 bytes). */
export function splitProperty(refs: readonly Reference[]): fc.IPropertyWithHooks<[{ ref: Reference; cuts: number[] }]> {
  const arb = fc.constantFrom(...refs.map(named)).chain((ref) => {
    const n = ref.bytes.length;
    const cuts = fc.oneof(
      fc.array(fc.integer({ min: 1, max: n - 1 }), { maxLength: 64 }),
      fc.array(fc.integer({ min: 1, max: n - 1 }), { minLength: 64, maxLength: Math.max(64, n >> 2) }),
      // Cuts right around event boundaries: inside the header, just before or after the checksum.
      fc.array(fc.tuple(fc.constantFrom(...ref.starts), fc.integer({ min: -5, max: 20 })).map(([s, d]) => s + d), { maxLength: 48 }),
    );
    return cuts.map((raw) => ({ ref, cuts: normaliseCuts(raw, n) }));
  });
  return fc.property(arb, ({ ref, cuts }) => checkSplit(ref, cuts));
}

/** Magic followed by random bytes: a typed error at offset 4, or a tail, fed whole and chunked. */
export function randomAfterMagicProperty(): fc.IPropertyWithHooks<[Uint8Array, number]> {
  return fc.property(fc.uint8Array({ maxLength: 512 }), fc.integer({ min: 1, max: 64 }), (body, chunk) => {
    checkGarbage(Buffer.concat([Buffer.from([0xfe, 0x62, 0x69, 0x6e]), body]), 'random.bin', chunk);
  });
}

/** A valid file header (FDE, table map …) followed by framed events of known types with random bodies. */
export function framedGarbageProperty(headers: ReadonlyArray<{ readonly name: string; readonly build: (events: ReadonlyArray<{ type: number; body: Uint8Array }>) => Buffer }>, types: readonly number[]): fc.IPropertyWithHooks<[{ name: string; bytes: Buffer; chunk: number }]> {
  const event = fc.record({ type: fc.constantFrom(...types), body: fc.uint8Array({ maxLength: 96 }) });
  const arb = fc
    .record({ header: fc.constantFrom(...headers), events: fc.array(event, { minLength: 1, maxLength: 6 }), chunk: fc.integer({ min: 1, max: 200 }) })
    .map(({ header, events, chunk }) => ({ name: header.name, bytes: header.build(events), chunk }));
  return fc.property(arb, ({ name, bytes, chunk }) => checkGarbage(bytes, name, chunk));
}

/** File headers for framed-garbage inputs: a valid FDE and table map, then the events given. */
export function garbageHeaders(): Array<{ name: string; build: (events: ReadonlyArray<{ type: number; body: Uint8Array }>) => Buffer }> {
  const columns = [
    { type: ColumnType.LONG, name: 'id' },
    { type: ColumnType.LONGLONG, name: 'big', unsigned: true, nullable: true },
    { type: ColumnType.VARCHAR, meta: 64, name: 'name', charset: 45, nullable: true },
    { type: ColumnType.NEWDECIMAL, meta: 10 * 256 + 2, name: 'amount', nullable: true },
    { type: ColumnType.BLOB, meta: 2, name: 'data', nullable: true },
    { type: ColumnType.DATETIME2, meta: 3, name: 'at', nullable: true },
    { type: ColumnType.ENUM, meta: 1, name: 'status', charset: 45, enumLabels: ['a', 'b'], nullable: true },
    { type: ColumnType.BIT, meta: Buffer.from([2, 1]), name: 'bits', nullable: true },
    { type: ColumnType.DOUBLE, meta: 8, name: 'ratio', nullable: true },
  ];
  const header = (name: string, opts: BinlogWriterOptions, json: boolean) => ({
    name,
    build: (events: ReadonlyArray<{ type: number; body: Uint8Array }>): Buffer => {
      const w = new BinlogWriter(opts).formatDescription();
      w.tableMap({ tableId: 1, db: 'd', table: 't', metadata: 'full', primaryKey: [0], columns: json ? [...columns, { type: ColumnType.JSON, meta: 4, name: 'doc', nullable: true }] : columns });
      // Rows events keep table id 1 half of the time, so their row data reaches the value decoders.
      for (const e of events) w.unknown(e.type, e.body.length > 0 && e.body[0]! & 1 ? Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0]), e.body.subarray(1)]) : e.body);
      return w.toBuffer();
    },
  });
  return [
    header('mariadb-crc.bin', { flavor: 'mariadb' }, false),
    header('mysql-none.bin', { flavor: 'mysql', checksum: false }, true),
  ];
}

/** Every event type the decoder dispatches on, plus a few it does not know. */
export const GARBAGE_TYPES: readonly number[] = [...Object.values(EventType).filter((t) => t !== EventType.START_ENCRYPTION && t !== EventType.FORMAT_DESCRIPTION), 0x64, 0xff];

