/**
 * The decoder's speed work (issue 2's throughput targets) changed no output. For every binlog the
 * fixture MANIFESTs list, what `inspect --stats` counts and reports (through the command's own
 * pipeline) and a digest of everything the decoder hands on (each transaction's `inspect --json`
 * line and its row images with their in-memory types, each incomplete group, warning, error and
 * partial tail) equal what the decoder of commit 8776e7a produced, before the hot-path rewrite;
 * decode-identity.golden.json holds those records.
 *
 * real-binlogs.test.ts checks what the MANIFESTs and the reference decoders say a file holds; this
 * file pins everything else to what it was. Record again only for a change meant to change the
 * output, and say so in that change:
 *   DECODE_IDENTITY_RECORD=1 npx vitest run test/conformance/decode-identity.test.ts
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BinlogDecoder } from '../../src/binlog/decoder.js';
import type { DecodeWarning } from '../../src/binlog/event.js';
import { TransactionAssembler, type TransactionItem } from '../../src/binlog/transaction.js';
import { transactionToJson } from '../../src/binlog/transaction-json.js';
import { parallelStats } from '../../src/pipeline/parallel-stats.js';
import { EngineError } from '../../src/errors.js';
import { stableJson } from '../robustness/decode-properties.js';
import { readBinlogBytes, readManifests, requireFixturesRoot, type ManifestEntry } from './fixtures.js';

const ROOT = requireFixturesRoot();
const ENTRIES = readManifests(ROOT);
const GOLDEN_PATH = path.join(import.meta.dirname, 'decode-identity.golden.json');
const RECORD = process.env['DECODE_IDENTITY_RECORD'] === '1';
/** The command reads 256 KiB at a time (source/read-transactions.ts); the decoder sees the same pushes here. */
const CHUNK = 256 * 1024;

/** What `inspect --stats` prints and reports for one file, or the error code and offset it stops with. */
type StatsRecord =
  | {
      readonly snapshot: unknown;
      readonly bytes: number;
      readonly incomplete: string[];
      readonly tails: string[];
      readonly warnings: string[];
    }
  | { readonly error: string };

interface Observed {
  /** Events decoded before the end of the input or the error. */
  readonly events: number;
  readonly transactions: number;
  /** First 32 hex digits of the sha256 of every item, warning and the ending, in order. */
  readonly digest: string;
  /** `clean`, `tail at OFFSET (BYTES bytes)` or `CODE at OFFSET`. */
  readonly end: string;
  /** Null for compressed fixtures: the command reads files as they are. */
  readonly stats: StatsRecord | null;
}

interface Golden {
  readonly recordedWith: string;
  readonly files: Record<string, Observed>;
}

/** Paths in records as `<fixtures>/…`: the fixtures live beside the clone, wherever that is. */
function portable(text: string): string {
  return text.split(ROOT).join('<fixtures>');
}

function errorText(e: unknown): string {
  if (e instanceof EngineError) return `${e.code} at ${String(e.details.offset ?? '?')}`;
  throw e;
}

function observe(entry: ManifestEntry): Omit<Observed, 'stats'> {
  const bytes = readBinlogBytes(entry);
  const hash = createHash('sha256');
  const warnings: DecodeWarning[] = [];
  const decoder = new BinlogDecoder({ file: entry.rel, onWarning: (w) => warnings.push(w) });
  const assembler = new TransactionAssembler(entry.rel);
  let events = 0;
  let transactions = 0;
  const take = (items: readonly TransactionItem[]): void => {
    for (const item of items) {
      if (item.kind === 'transaction') {
        transactions++;
        hash.update(transactionToJson(item.tx));
        hash.update(stableJson(item.tx.changes.map((c) => [c.op, c.before, c.after])));
      } else {
        hash.update(stableJson(item.tx));
      }
      hash.update('\n');
    }
    for (const w of warnings.splice(0)) hash.update(`warning ${stableJson(w)}\n`);
  };
  let end: string;
  try {
    for (let at = 0; at < bytes.length; at += CHUNK) {
      const got = decoder.push(bytes.subarray(at, Math.min(at + CHUNK, bytes.length)));
      events += got.length;
      take(assembler.push(got));
    }
    const tail = decoder.end();
    take(assembler.end());
    end = tail === null ? 'clean' : `tail at ${tail.offset} (${tail.bytes} bytes)`;
  } catch (e) {
    take([]);
    end = errorText(e);
  }
  hash.update(end);
  return { events, transactions, digest: hash.digest('hex').slice(0, 32), end };
}

async function observeStats(entry: ManifestEntry): Promise<StatsRecord | null> {
  if (entry.rel.endsWith('.gz')) return null;
  try {
    const r = await parallelStats([entry.abs], { threads: 1 });
    return {
      snapshot: r.stats.snapshot(),
      bytes: r.bytesTotal,
      incomplete: r.incomplete.map((t) => portable(stableJson(t))),
      tails: r.tails.map((t) => portable(stableJson(t))),
      warnings: r.warnings.map((w) => portable(`${w.warning.code}: ${w.warning.message}`)),
    };
  } catch (e) {
    return { error: errorText(e) };
  }
}

const recorded: Record<string, Observed> = {};
const golden: Golden | null = RECORD ? null : (JSON.parse(readFileSync(GOLDEN_PATH, 'utf8')) as Golden);

describe('decode identity with the decoder before its speed work', () => {
  it('the record covers exactly the files the MANIFESTs list', () => {
    if (RECORD) return;
    expect(Object.keys(golden!.files).sort()).toEqual(ENTRIES.map((e) => e.rel).sort());
  });

  it.each(ENTRIES.map((e) => [e.rel, e] as const))('%s: same transactions, values, stats and endings', async (rel, entry) => {
    const observed: Observed = { ...observe(entry), stats: await observeStats(entry) };
    if (RECORD) {
      recorded[rel] = observed;
      return;
    }
    expect(observed).toEqual(golden!.files[rel]);
  });

  afterAll(() => {
    if (!RECORD) return;
    const out: Golden = { recordedWith: process.env['DECODE_IDENTITY_COMMIT'] ?? 'unknown', files: recorded };
    writeFileSync(GOLDEN_PATH, `${JSON.stringify(out, null, 1)}\n`);
  });
});
