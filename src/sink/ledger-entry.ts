/**
 * A decision as the ledger records it: one JSON line for `--ledger FILE.jsonl`
 * (`{gtid, table, op, key, class, outcome, newKey?, reason?, before?, after?, dr?}`, values in
 * canonical JSON; `dr` only where it differs from what the class implies) and one row of the DR's `ledger` / `quarantine` tables (state-store.ts).
 */
import type { ColumnValue, RowImage } from '../binlog/column.js';
import type { TableMap } from '../binlog/event.js';
import { rowToCanonical } from '../binlog/transaction-json.js';
import { gtidText } from '../binlog/transaction.js';
import { RawJson, stringifyCanonical, toCanonical, type CanonicalValue } from '../binlog/values/canonical-json.js';
import { canonicalKey, type KeyPart, type LedgerRow, type QuarantineRow } from '../db/state-store.js';
import type { ChangeDecision } from '../model/decision.js';

/** The JSON object of one `--ledger` line. */
export interface LedgerLine {
  readonly gtid: string | null;
  readonly file: string;
  readonly pos: number;
  readonly index: number;
  readonly table: string;
  readonly op: string;
  readonly key: CanonicalValue[] | null;
  readonly class: string;
  readonly outcome: string;
  readonly newKey?: CanonicalValue[];
  readonly reason?: string;
  readonly conflicts?: readonly string[];
  /** The rule path that decided it. */
  readonly rule?: string;
  readonly before?: Record<string, CanonicalValue>;
  readonly after?: Record<string, CanonicalValue>;
  readonly dr?: Record<string, CanonicalValue>;
  /** A second DR row the change met that `dr` does not show (the unique value's holder, or the row at its own key): see ChangeDecision.otherRow. */
  readonly other?: Record<string, CanonicalValue>;
  readonly sql?: string;
  /**
   * The SQL statement that produced a quarantined row change, as the binlog's ANNOTATE_ROWS /
   * ROWS_QUERY event logged it; absent where the binlog logged none (or for other outcomes).
   */
  readonly statement?: string;
  readonly withoutHistory: boolean;
}

/** The key columns' canonical values, in key order (positions from the table map's primary key, else the DR's). */
function canonicalValues(values: readonly ColumnValue[] | null, map: TableMap | null, positions: readonly number[] | null): CanonicalValue[] | null {
  if (values === null) return null;
  return values.map((v, i) => {
    const col = map !== null && positions !== null ? map.columns[positions[i] ?? -1] : undefined;
    return col === undefined ? (typeof v === 'bigint' ? v.toString() : (v as CanonicalValue)) : toCanonical(v, col);
  });
}

/**
 * The DR row when it tells something the before and after images do not: a clean change met the
 * DR row equal to its before image, an already-applied one equal to its after image (on the logged
 * columns), so for those it is left out — a third of the ledger's bytes on an update-heavy range.
 */
function informativeDr(d: ChangeDecision): RowImage | null {
  return d.class === 'clean' || d.class === 'already-applied' ? null : d.drRow;
}

function image(row: RowImage | null | undefined, map: TableMap | null): Record<string, CanonicalValue> | undefined {
  return row === null || row === undefined || map === null ? undefined : rowToCanonical(row, map);
}

/**
 * One `--ledger` line; `keyPositions` are the primary-key column positions of the decision's
 * table, `statement` the text of the statement that produced it (quarantined changes only).
 */
export function ledgerLine(d: ChangeDecision, keyPositions: readonly number[] | null, statement: string | null = null): LedgerLine {
  const map = d.change?.table ?? null;
  const line: Record<string, unknown> = {
    gtid: d.tx.gtid === null ? null : gtidText(d.tx.gtid),
    file: d.tx.file,
    pos: d.tx.pos,
    index: d.index,
    table: d.table,
    op: d.op,
    key: canonicalValues(d.sourceKey, map, keyPositions),
    class: d.class,
    outcome: d.outcome,
    withoutHistory: d.withoutHistory,
  };
  if (d.newKey !== null) line['newKey'] = canonicalValues(d.newKey, map, keyPositions);
  if (d.reason !== null) line['reason'] = d.reason;
  if (d.conflicts.length > 0) line['conflicts'] = d.conflicts;
  if (d.rulePath !== undefined && d.rulePath !== null) line['rule'] = d.rulePath;
  const before = image(d.change?.before, map);
  const after = image(d.change?.after, map);
  const dr = image(informativeDr(d), map);
  if (before) line['before'] = before;
  if (after) line['after'] = after;
  if (dr) line['dr'] = dr;
  const other = image(d.otherRow, map);
  if (other) line['other'] = other;
  if (d.sql !== undefined) line['sql'] = d.sql;
  if (statement !== null) line['statement'] = statement;
  return line as unknown as LedgerLine;
}

/** The line as canonical JSON text (no newline). */
export function ledgerLineText(line: LedgerLine): string {
  return stringifyCanonical(line as unknown as Record<string, unknown>);
}

function isKeyPart(v: ColumnValue): v is Extract<ColumnValue, KeyPart> {
  return typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string' || v === null || Buffer.isBuffer(v);
}

/** The key's values as the state store takes them: the decision's own array when every value already is one (a key of numbers and text). */
function keyParts(values: readonly ColumnValue[] | null): readonly KeyPart[] {
  if (values === null) return [];
  return values.every(isKeyPart) ? values : values.map((v) => (isKeyPart(v) ? v : String(v)));
}

/** A key as the ledger records it (source_key, new_key): for finding a DR row's entries (state-store.ts ledgerWrites). */
export function ledgerKeyText(values: readonly ColumnValue[]): string {
  return canonicalKey(keyParts(values));
}

function json(v: Record<string, CanonicalValue> | undefined): string | null {
  return v === undefined ? null : stringifyCanonical(v);
}

/**
 * Which changes keep their row images in the DR's ledger: `all` (the default), or `conflicts` —
 * every change but a clean one applied as the binlog has it, whose images the binlog itself keeps
 * (find them by GTID or position: `salvage inspect --include-gtids`). Saves most of the ledger's
 * bytes on a large, mostly clean lost range.
 */
export type LedgerImages = 'all' | 'conflicts';

/** Per table map: the columns in the order an object keyed by their names lists them, and each one's `"name":`. */
interface ImageLayout {
  readonly order: readonly number[];
  readonly keys: readonly string[];
  /** No column is named `__proto__`, which an ordinary object takes as its prototype, not as a key. */
  readonly plainKeys: boolean;
}

const layouts = new WeakMap<TableMap, ImageLayout>();

function layoutOf(map: TableMap): ImageLayout {
  let layout = layouts.get(map);
  if (layout === undefined) {
    const names = map.columns.map((c) => c.name);
    // An object lists integer-like keys first, ascending, then the rest in insertion order: the
    // order stringifyCanonical(rowToCanonical(…)) prints, which the ledger's text must keep.
    const index = (name: string): number => (/^(0|[1-9]\d*)$/.test(name) && Number(name) < 4294967295 ? Number(name) : -1);
    const integers = names.flatMap((n, i) => (index(n) >= 0 ? [i] : [])).sort((a, b) => index(names[a]!) - index(names[b]!));
    const others = names.flatMap((n, i) => (index(n) >= 0 ? [] : [i]));
    layout = { order: [...integers, ...others], keys: names.map((n) => `${JSON.stringify(n)}:`), plainKeys: !names.includes('__proto__') };
    layouts.set(map, layout);
  }
  return layout;
}

/**
 * A row image's canonical JSON text, written straight from the row: the same text as
 * `stringifyCanonical(rowToCanonical(row, map))` (ledger-entry.test.ts) — two images per change,
 * most of the client's work for the ledger. An image of plain values (every column but JSON and
 * VECTOR) goes through one JSON.stringify of an ordinary object: its text comes out flat, where
 * appending pieces made a rope the driver flattens again to count its bytes — ≈ 15 % less CPU
 * and a third fewer scavenges than the appending (an order_items/customers micro-benchmark).
 */
export function imageJson(row: RowImage | null | undefined, map: TableMap | null): string | null {
  if (row === null || row === undefined || map === null) return null;
  const layout = layoutOf(map);
  const cols = map.columns;
  if (layout.plainKeys) {
    // JSON.stringify lists the object's keys in the order rowToCanonical's object has them
    // (integer-like first, then insertion order) and leaves out undefined, an unlogged column.
    const o: Record<string, CanonicalValue> = {};
    for (let i = 0; i < cols.length; i++) {
      const v = row[i];
      if (v === undefined) continue;
      const c = toCanonical(v, cols[i]!);
      // RawJson and arrays print as stringifyCanonical prints them, not as JSON.stringify does.
      if (typeof c === 'object' && c !== null) return appendedImage(row, cols, layout);
      o[cols[i]!.name] = c;
    }
    return JSON.stringify(o);
  }
  return appendedImage(row, cols, layout);
}

function appendedImage(row: RowImage, cols: TableMap['columns'], { order, keys }: ImageLayout): string {
  let s = '{';
  let first = true;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    const v = row[i];
    if (v === undefined) continue;
    s += (first ? '' : ',') + keys[i]! + valueJson(toCanonical(v, cols[i]!));
    first = false;
  }
  return s + '}';
}

function valueJson(c: CanonicalValue): string {
  switch (typeof c) {
    case 'string':
      return JSON.stringify(c);
    case 'number':
      return Number.isFinite(c) ? String(c) : 'null';
    case 'boolean':
      return c ? 'true' : 'false';
  }
  if (c === null) return 'null';
  if (c instanceof RawJson) return c.json;
  return stringifyCanonical(c);
}

/** The DR ledger row of a decision (its run's id and source travel with the batch: state-store.ts LedgerRun). */
export function ledgerRow(d: ChangeDecision, seq: number, images: LedgerImages = 'all'): LedgerRow {
  const map = images === 'conflicts' && d.class === 'clean' && d.outcome === 'applied' && d.newKey === null ? null : (d.change?.table ?? null);
  return {
    seq,
    gtid: d.tx.gtid === null ? null : gtidText(d.tx.gtid),
    file: d.tx.gtid === null ? d.tx.file : null,
    pos: d.tx.gtid === null ? BigInt(d.tx.pos) : null,
    changeIndex: d.index,
    table: d.table,
    op: d.op === 'sql' ? 'sql' : d.op,
    sourceKey: keyParts(d.sourceKey),
    class: d.class,
    outcome: d.outcome,
    newKey: d.newKey === null ? null : keyParts(d.newKey),
    reason: d.reason ?? (d.sql !== undefined ? d.sql : null),
    rulePath: d.rulePath ?? null,
    beforeImage: imageJson(d.change?.before, map),
    afterImage: imageJson(d.change?.after, map),
    drImage: imageJson(informativeDr(d), map),
    otherImage: imageJson(d.otherRow, map),
    heldSkip: d.heldSkip === true,
  } as LedgerRow;
}

/** The DR quarantine row of a quarantined decision; `rowKeys` are the rows it holds back, `statement` the SQL that produced it (if logged). */
export function quarantineRow(d: ChangeDecision, runId: number, sourceId: string, rowKeys: readonly (readonly [string, string])[], statement: string | null = null): QuarantineRow {
  const map = d.change?.table ?? null;
  return {
    runId,
    sourceId,
    gtid: d.tx.gtid === null ? null : gtidText(d.tx.gtid),
    file: d.tx.gtid === null ? d.tx.file : null,
    pos: d.tx.gtid === null ? BigInt(d.tx.pos) : null,
    changeIndex: d.index,
    table: d.table,
    reason: d.sql !== undefined ? `${d.reason ?? ''}: ${d.sql}` : d.reason,
    beforeImage: json(image(d.change?.before, map)),
    afterImage: json(image(d.change?.after, map)),
    drImage: json(image(informativeDr(d), map)),
    dependants: [],
    rowKeys,
    origin: d.origin ?? null,
    statement,
  };
}
