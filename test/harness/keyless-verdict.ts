/**
 * What the reconcile engine should decide for a change of a table without a primary key, worked
 * out from the spec alone (DESIGN.md "Conflict taxonomy" — such a table is matched the way
 * replication matches it, a change whose before image lacks columns compared on the columns it has
 * — and docs/RELIABILITY.md §7 item 26), for keyless.property.test.ts. Written apart from the
 * engine, as in-memory-dr.ts is: it shares no code with src/reconcile, so it cannot agree with a
 * bug there by construction.
 *
 * The table is a multiset of full rows. For an update or delete, the rows its write `… WHERE
 * <before image> LIMIT 1` can reach are those equal to the before image on every cell it logs under
 * the columns' collations (NULL-safe); the change is matched when exactly one row value among them
 * equals the image exactly on those cells and no other value is reachable — then whichever copy the
 * server takes, the table ends the same. A write that could reach rows that differ is held
 * (`no-key`), one with nothing exact to reach is update-/delete-missing, an image that logs no
 * column finds no row (`no-key`). A matched update whose logged after cells the row already holds is
 * already-applied. An insert, or a matched update's new row (the row with the after image's logged
 * cells put in), whose unique value (every part non-NULL, folded by the collation) another row
 * holds is insert-/update-unique-taken; one whose new value has a part neither image logs is held
 * (`no-key`: the value is known only from the row reached). Everything else is clean, and changes
 * the multiset: the row the write reaches is taken, the new row added.
 */
import type { ColumnValue, RowImage } from '../../src/binlog/column.js';
import type { RowChange } from '../../src/binlog/event.js';
import type { TableSchema } from '../../src/model/table-schema.js';

export type KeylessVerdict =
  | { readonly class: 'clean'; readonly take: RowImage | null; readonly put: RowImage | null }
  | { readonly class: 'already-applied'; readonly row: RowImage }
  | { readonly class: 'no-key' | 'update-missing' | 'delete-missing'; readonly why: string }
  | { readonly class: 'insert-unique-taken' | 'update-unique-taken'; readonly key: string; readonly holder: RowImage };

/** A cell as text, exactly (`-`: not logged). */
function exactCell(v: ColumnValue | undefined): string {
  if (v === undefined) return '-';
  if (v === null) return 'N';
  if (typeof v === 'number' || typeof v === 'bigint') return `i${BigInt(v).toString()}`;
  if (typeof v === 'string') return `s${JSON.stringify(v)}`;
  return `x${String(v)}`;
}

/** A row's exact text: equal texts are copies of one value. */
export function rowText(row: RowImage): string {
  return row.map(exactCell).join('|');
}

export class KeylessModel {
  readonly #schema: TableSchema;
  readonly #rows: RowImage[];
  /** Per column: whether its text compares case-insensitively (a `_ci` collation, ASCII values). */
  readonly #ci: readonly boolean[];

  constructor(schema: TableSchema, rows: readonly RowImage[]) {
    this.#schema = schema;
    this.#rows = rows.map((r) => r.slice());
    this.#ci = schema.columns.map((c) => (c.collation ?? '').endsWith('_ci'));
  }

  clone(): KeylessModel {
    return new KeylessModel(this.#schema, this.#rows);
  }

  /** The rows, every copy, by exact text. */
  rows(): RowImage[] {
    return this.#rows.map((r) => r.slice()).sort((a, b) => (rowText(a) < rowText(b) ? -1 : rowText(a) > rowText(b) ? 1 : 0));
  }

  /** The verdict for `change` against the rows now. */
  verdict(change: Pick<RowChange, 'op' | 'before' | 'after'>): KeylessVerdict {
    if (change.op === 'insert') {
      const row = change.after as RowImage;
      const taken = this.#uniqueHolder(row, null);
      return taken === null ? { class: 'clean', take: null, put: row } : { class: 'insert-unique-taken', ...taken };
    }
    const before = change.before as RowImage;
    const missing = change.op === 'update' ? 'update-missing' : 'delete-missing';
    const logged = before.flatMap((v, i) => (v === undefined ? [] : [i]));
    if (logged.length === 0) return { class: 'no-key', why: 'the before image logs no column' };
    const reachable = this.#rows.filter((r) => logged.every((i) => this.#cellEquals(i, before[i], r[i])));
    const exact = new Set(reachable.filter((r) => logged.every((i) => exactCell(before[i]) === exactCell(r[i]))).map(rowText));
    if (exact.size === 0) return { class: missing, why: `no row equals the before image exactly (${reachable.length} equal under the collation)` };
    const values = new Set(reachable.map(rowText));
    if (values.size > 1) return { class: 'no-key', why: `the write could reach ${values.size} different row values` };
    const row = reachable[0] as RowImage;
    if (change.op === 'delete') return { class: 'clean', take: row, put: null };
    const after = change.after as RowImage;
    const unknown = this.#unknownUniqueValue(before, after, row);
    if (unknown !== null) return { class: 'no-key', why: `the value ${unknown} moves to is given by neither image` };
    if (after.every((v, i) => v === undefined || exactCell(v) === exactCell(row[i]))) return { class: 'already-applied', row };
    const next = row.map((v, i) => (after[i] === undefined ? v : after[i]));
    const taken = this.#uniqueHolder(next, row);
    return taken === null ? { class: 'clean', take: row, put: next } : { class: 'update-unique-taken', ...taken };
  }

  /** Carries out a clean verdict: one copy of the row the write reaches goes, the new row comes. */
  carryOut(v: Extract<KeylessVerdict, { class: 'clean' }>): void {
    if (v.take !== null) {
      const i = this.#rows.findIndex((r) => rowText(r) === rowText(v.take as RowImage));
      if (i === -1) throw new Error(`keyless model: no row ${rowText(v.take)} to take`);
      this.#rows.splice(i, 1);
    }
    if (v.put !== null) this.#rows.push(v.put.slice());
  }

  /** Equal as the server's `<=>` compares them under the column's collation. */
  #cellEquals(i: number, a: ColumnValue | undefined, b: ColumnValue | undefined): boolean {
    if (a === null || b === null || a === undefined || b === undefined) return a === b;
    if (typeof a === 'string' && typeof b === 'string' && this.#ci[i] === true) return a.toLowerCase() === b.toLowerCase();
    return exactCell(a) === exactCell(b);
  }

  /**
   * A unique key the update moves (its after image logs a part with a value other than the before
   * image's, or one the before image does not log) to a value with no NULL part, of which a part is
   * logged in neither image: the value is known only from the row the write reaches, too late for
   * the window to ask the DR who holds it, so the change is held (RELIABILITY §7 item 26).
   */
  #unknownUniqueValue(before: RowImage, after: RowImage, row: RowImage): string | null {
    for (const uk of this.#schema.uniqueKeys) {
      const parts = uk.columns.map((c) => this.#schema.columns.findIndex((col) => col.name === c));
      if (!parts.some((p) => after[p] !== undefined && exactCell(after[p]) !== exactCell(before[p]))) continue;
      const value = parts.map((p) => (after[p] === undefined ? row[p] : after[p]));
      if (value.some((v) => v === null || v === undefined)) continue;
      if (parts.some((p) => after[p] === undefined && before[p] === undefined)) return uk.name;
    }
    return null;
  }

  /** A row other than one copy of `self` holding one of `row`'s unique values (no NULL part), under the collations. */
  #uniqueHolder(row: RowImage, self: RowImage | null): { readonly key: string; readonly holder: RowImage } | null {
    const others = this.#rows.slice();
    if (self !== null) others.splice(others.findIndex((r) => rowText(r) === rowText(self)), 1);
    for (const uk of this.#schema.uniqueKeys) {
      const parts = uk.columns.map((c) => this.#schema.columns.findIndex((col) => col.name === c));
      if (parts.some((p) => row[p] === null || row[p] === undefined)) continue;
      const holder = others.find((r) => parts.every((p) => this.#cellEquals(p, row[p], r[p])));
      if (holder !== undefined) return { key: uk.name, holder };
    }
    return null;
  }
}
