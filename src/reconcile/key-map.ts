/**
 * The key map of `remap` (DESIGN.md "Strategies"): per table, which source key a lost row had and
 * which fresh key it was given on the DR. Later lost changes are rewritten through it, and the sink
 * persists `entries()` beside the checkpoint so a resumed run rewrites the same way.
 *
 * Keys are compared by `canonicalKey`: integers by their digits, so the decoder's number 42 and
 * bigint 42n (DESIGN.md "Canonical JSON": numbers within ±(2^53−1), else bigint) are one key.
 */
import { EngineError, type ErrorDetails } from '../errors.js';
import type { ColumnValue } from '../binlog/column.js';
import { rowKey } from '../model/row-key.js';

/** Primary-key values in the table's primary-key column order. */
export type KeyValues = readonly ColumnValue[];

/** One persisted mapping. */
export interface KeyMapEntry {
  readonly schema: string;
  readonly table: string;
  readonly oldKey: KeyValues;
  readonly newKey: KeyValues;
}

export const KeyMapErrorCode = {
  /** A value that cannot be part of a key (JSON, or a column the image did not log). */
  BadKey: 'RECONCILE_KEY_BAD_VALUE',
  /** The new key is an old key still waiting to be rewritten: it would not be fresh. */
  NotFresh: 'RECONCILE_KEY_NOT_FRESH',
  /** Another old key already maps to this new key: two source rows would merge into one. */
  DuplicateTarget: 'RECONCILE_KEY_DUPLICATE_TARGET',
  /** The old key already maps to a different new key. */
  AlreadyMapped: 'RECONCILE_KEY_ALREADY_MAPPED',
} as const;
export type KeyMapErrorCode = (typeof KeyMapErrorCode)[keyof typeof KeyMapErrorCode];

export class KeyMapError extends EngineError {
  declare readonly code: KeyMapErrorCode;
  constructor(code: KeyMapErrorCode, message: string, details: ErrorDetails = {}) {
    super(code, message, details, { retryable: false });
  }
}

/**
 * A string that two key tuples share exactly when they are the same key: integers by digits
 * (number and bigint alike), strings JSON-quoted, binary as hex, NULL as `N`.
 */
export function canonicalKey(values: readonly (ColumnValue | undefined)[]): string {
  return rowKey(values, badKey);
}

const badKey = (message: string): never => {
  throw new KeyMapError(KeyMapErrorCode.BadKey, message);
};

interface TableKeys {
  readonly schema: string;
  readonly table: string;
  /** canonical old key → mapping. */
  readonly forward: Map<string, KeyMapEntry>;
  /** canonical new keys in use. */
  readonly targets: Set<string>;
  /** Keys a lost row was linked onto in place (the DR's record at the lost row's own key): canonical key → mapping. */
  readonly inPlace: Map<string, KeyMapEntry>;
}

/** In-memory table → old key → new key; `set` keeps every re-keyed row's new key fresh, and every mapping is one-to-one. */
export class KeyMap {
  readonly #tables = new Map<string, TableKeys>();
  #size = 0;
  /** Every `set` that added a mapping, in order, so a quarantined transaction's remaps can be undone. */
  readonly #log: LogEntry[] = [];

  /** Restores persisted `entries` (in the order they were made; links among them, so as `link` checks them). */
  constructor(entries: Iterable<KeyMapEntry> = []) {
    for (const e of entries) this.link(e.schema, e.table, e.oldKey, e.newKey);
  }

  get size(): number {
    return this.#size;
  }

  /** Whether any key of `schema`.`table` is mapped (lets callers skip tables cheaply). */
  hasTable(schema: string, table: string): boolean {
    return this.#tables.has(tableKey(schema, table));
  }

  /** The new key of `oldKey`, or undefined when it is not remapped. */
  get(schema: string, table: string, oldKey: readonly (ColumnValue | undefined)[]): KeyValues | undefined {
    return this.#tables.get(tableKey(schema, table))?.forward.get(canonicalKey(oldKey))?.newKey;
  }

  /** Whether a lost row was linked onto the DR's record at its own key `key` (`link` with equal keys). */
  isLinkedInPlace(schema: string, table: string, key: readonly (ColumnValue | undefined)[]): boolean {
    return this.#tables.get(tableKey(schema, table))?.inPlace.has(canonicalKey(key)) === true;
  }

  /** Whether `key` is the new key of some remapped or linked row of the table (a row this engine re-keyed or linked onto it). */
  isTarget(schema: string, table: string, key: readonly (ColumnValue | undefined)[]): boolean {
    return this.#tables.get(tableKey(schema, table))?.targets.has(canonicalKey(key)) === true;
  }

  /** The old keys of the table's re-keyed rows (not those linked in place), in the order they were mapped. */
  *oldKeys(schema: string, table: string): Iterable<KeyValues> {
    const t = this.#tables.get(tableKey(schema, table));
    if (t !== undefined) for (const e of t.forward.values()) yield e.oldKey;
  }

  /** Same as `get` for a key already in canonical form. */
  getCanonical(schema: string, table: string, canonical: string): KeyValues | undefined {
    return this.#tables.get(tableKey(schema, table))?.forward.get(canonical)?.newKey;
  }

  /**
   * Records `oldKey` → `newKey` for a re-keyed row, whose new key must be fresh. Setting an
   * identical mapping again is a no-op; it throws when the new key is an old key of the table,
   * already the new key of another old key, or when the old key already maps elsewhere.
   */
  set(schema: string, table: string, oldKey: KeyValues, newKey: KeyValues): void {
    this.#add(schema, table, oldKey, newKey, true);
  }

  /**
   * Records `oldKey` → `newKey` for a lost row linked to an existing DR row: as `set`, except that
   * the DR row's key may also be the old key of a row re-keyed away from it (the DR gave that id to
   * this other record). No chain follows from it: every image is rewritten from its original
   * values, once (remap.ts), and every old key names a source row, never a DR row.
   *
   * Equal keys link the lost row onto the DR's record at its own key: nothing is rewritten, but the
   * mapping is kept (and persisted) so that every later run meets that record as the lost row's,
   * whatever the DR's history says created it (isLinkedInPlace).
   */
  link(schema: string, table: string, oldKey: KeyValues, newKey: KeyValues): void {
    if (oldKey.length > 0 && oldKey.length === newKey.length && canonicalKey(oldKey) === canonicalKey(newKey)) {
      this.#linkInPlace(schema, table, oldKey);
      return;
    }
    this.#add(schema, table, oldKey, newKey, false);
  }

  #linkInPlace(schema: string, table: string, key: KeyValues): void {
    const where: ErrorDetails = { table: `${schema}.${table}` };
    const c = canonicalKey(key);
    const k = tableKey(schema, table);
    let t = this.#tables.get(k);
    if (t?.inPlace.has(c) === true) return;
    // The source row at this key was re-keyed away from it: the DR's record here is another one.
    if (t?.forward.has(c) === true) throw new KeyMapError(KeyMapErrorCode.AlreadyMapped, `key map for ${schema}.${table}: key (${c}) already maps to (${canonicalKey(t.forward.get(c)!.newKey)}), not to itself`, { ...where, key: c });
    if (t?.targets.has(c) === true) throw new KeyMapError(KeyMapErrorCode.DuplicateTarget, `key map for ${schema}.${table}: new key (${c}) is already given to another row`, { ...where, key: c });
    if (t === undefined) this.#tables.set(k, (t = newTableKeys(schema, table)));
    const kept = key.map(normalInteger);
    t.inPlace.set(c, { schema, table, oldKey: kept, newKey: kept });
    t.targets.add(c);
    this.#size++;
    this.#log.push({ table: k, oldC: c, newC: c, linked: true });
  }

  #add(schema: string, table: string, oldKey: KeyValues, newKey: KeyValues, fresh: boolean): void {
    const where: ErrorDetails = { table: `${schema}.${table}` };
    if (oldKey.length !== newKey.length || oldKey.length === 0) {
      throw new KeyMapError(KeyMapErrorCode.BadKey, `key map for ${schema}.${table}: old key has ${oldKey.length} columns, new key ${newKey.length}`, where);
    }
    const oldC = canonicalKey(oldKey);
    const newC = canonicalKey(newKey);
    const k = tableKey(schema, table);
    let t = this.#tables.get(k);
    const existing = t?.forward.get(oldC);
    if (existing !== undefined) {
      if (canonicalKey(existing.newKey) === newC) return;
      throw new KeyMapError(KeyMapErrorCode.AlreadyMapped, `key map for ${schema}.${table}: key (${oldC}) already maps to (${canonicalKey(existing.newKey)}), not (${newC})`, { ...where, key: oldC });
    }
    if (t?.inPlace.has(oldC) === true) {
      throw new KeyMapError(KeyMapErrorCode.AlreadyMapped, `key map for ${schema}.${table}: key (${oldC}) is already linked to the DR's record at that key, not (${newC})`, { ...where, key: oldC });
    }
    if (oldC === newC || (fresh && t?.forward.has(newC) === true)) {
      throw new KeyMapError(KeyMapErrorCode.NotFresh, `key map for ${schema}.${table}: new key (${newC}) is an old key still to be rewritten`, { ...where, key: newC });
    }
    if (t?.targets.has(newC) === true) {
      throw new KeyMapError(KeyMapErrorCode.DuplicateTarget, `key map for ${schema}.${table}: new key (${newC}) is already given to another row`, { ...where, key: newC });
    }
    if (t === undefined) this.#tables.set(k, (t = newTableKeys(schema, table)));
    // Copied (the caller's arrays may be row images that change later), integers as the decoder holds them.
    t.forward.set(oldC, { schema, table, oldKey: oldKey.map(normalInteger), newKey: newKey.map(normalInteger) });
    t.targets.add(newC);
    this.#size++;
    this.#log.push({ table: k, oldC, newC, linked: !fresh });
  }

  /** A point to roll back to. */
  mark(): number {
    return this.#log.length;
  }

  /** Removes every mapping added since `mark` (its transaction was quarantined whole). */
  rollbackTo(mark: number): void {
    while (this.#log.length > mark) {
      const e = this.#log.pop() as LogEntry;
      const t = this.#tables.get(e.table);
      if (t === undefined) continue;
      if (e.oldC === e.newC) t.inPlace.delete(e.oldC);
      else t.forward.delete(e.oldC);
      t.targets.delete(e.newC);
      this.#size--;
      if (t.forward.size === 0 && t.inPlace.size === 0) this.#tables.delete(e.table);
    }
  }

  /** Mappings added since `mark`, in order; `linked` for a lost row mapped onto an existing DR record (`link`), not re-keyed. */
  since(mark: number): (KeyMapEntry & { readonly linked: boolean })[] {
    const out: (KeyMapEntry & { readonly linked: boolean })[] = [];
    for (const e of this.#log.slice(mark)) {
      const t = this.#tables.get(e.table);
      const m = e.oldC === e.newC ? t?.inPlace.get(e.oldC) : t?.forward.get(e.oldC);
      if (m) out.push({ schema: m.schema, table: m.table, oldKey: [...m.oldKey], newKey: [...m.newKey], linked: e.linked });
    }
    return out;
  }

  /** Every mapping, per table in the order tables were first mapped, then in the order of `set` (links in place after the others). */
  entries(): KeyMapEntry[] {
    const out: KeyMapEntry[] = [];
    for (const t of this.#tables.values()) {
      for (const e of [...t.forward.values(), ...t.inPlace.values()]) out.push({ schema: e.schema, table: e.table, oldKey: [...e.oldKey], newKey: [...e.newKey] });
    }
    return out;
  }
}

/** One mapping added, for rollbackTo and since; equal keys are a link in place. */
interface LogEntry {
  readonly table: string;
  readonly oldC: string;
  readonly newC: string;
  readonly linked: boolean;
}

function newTableKeys(schema: string, table: string): TableKeys {
  return { schema, table, forward: new Map(), targets: new Set(), inPlace: new Map() };
}

/** Schema and table names may contain dots, never NUL. */
function tableKey(schema: string, table: string): string {
  return `${schema}\u0000${table}`;
}

/** A number within ±(2^53−1), else a bigint (DESIGN.md "Canonical JSON"), so rewritten images look decoded. */
function normalInteger(v: ColumnValue): ColumnValue {
  if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(v);
  return v;
}
