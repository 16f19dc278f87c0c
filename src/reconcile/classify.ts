/**
 * Classifies one lost row change against the DR's current rows (DESIGN.md "Conflict taxonomy").
 * Pure: the caller fetched the DR rows; nothing here reads a server.
 *
 * Without the DR's own binlog (R) the rules are value-based, and every result says so with
 * `withoutHistory: true`: an insert whose primary key is taken by a different row is a different
 * record when the key is AUTO_INCREMENT (both sides allocated the same id after the failover),
 * else the same record changed since. With R, identity comes first: the record at a key is the
 * DR's own when the DR inserted it after the failover (insert-pk-taken, update-pk-reused,
 * delete-pk-reused, whatever the values), a missing row was deleted on the DR or never existed
 * there, and "changed on the DR" is what the DR logged, so a column changed and changed back
 * still counts. A history that ends before the DR's current position (`complete: false`) only
 * speaks for the keys it knows; the others are judged by values. parent-missing (needs other
 * tables) is decided elsewhere.
 *
 * Partial images (binlog_row_image=MINIMAL/NOBLOB) are compared on the columns they logged; a
 * JsonPatch (partial JSON without a before image) never equals a value, so an update carrying
 * one is never taken as already applied.
 */
import { EngineError } from '../errors.js';
import type { RowChange } from '../binlog/event.js';
import type { RowImage } from '../binlog/column.js';
import type { ColumnSchema, TableSchema, UniqueKey } from '../model/table-schema.js';
import type { RowHistory } from '../model/dr-history.js';
import type { ConflictClass } from '../model/decision.js';
import { sameExactValue, sameUniqueValue, sameValue } from './value-equality.js';

/** The classes a history splits `update-missing` into: rules for `update-missing` cover them unless they have their own. */
export const UPDATE_MISSING_CLASSES: readonly ConflictClass[] = ['update-deleted-on-dr', 'update-never-existed'];

export interface ClassifyInput {
  readonly change: RowChange;
  readonly schema: TableSchema;
  /**
   * The DR row with the change's primary key (the before image's key for updates and deletes), in
   * column order: the row holding it as it is, else the one the key's collation equates (`B` for `b`
   * under a _ci key), as the server finds a row by its key.
   */
  readonly drRowByPk: RowImage | null;
  /**
   * An update that changes the row's primary key: the DR row at the new key (null when none, or when
   * the update keeps its key). A primary key is a unique key: another row there is update-unique-taken.
   */
  readonly drRowAtNewPk?: RowImage | null;
  /**
   * The record at that new key is known to be another one, whatever its values: the DR's history
   * says the DR put it there after the failover, or this engine re-keyed or linked another lost row
   * onto it. Never then the lost row already moved there.
   */
  readonly newPkIsOtherRecord?: boolean;
  /** DR rows holding any of the change's unique values; `key` names the unique key they were found by. */
  readonly drRowsByUnique: ReadonlyArray<{ readonly key: string; readonly row: RowImage; readonly held?: boolean }>;
  readonly pkIsAutoIncrement: boolean;
  /**
   * Tables without a primary key only: the DR rows to match an update or delete against, the way
   * replication matches them (equal to the before image on every logged column).
   */
  readonly drRowsByImage?: readonly RowImage[];
  /**
   * The row the change writes, which its unique keys are checked on. An update's: its after image,
   * the DR row's own values where the image leaves a column out or an ignored column kept them (an
   * after image that leaves out part of a key, MariaDB's binlog_row_image=FULL_NODUP or MINIMAL,
   * moves the row onto the value the part it logs and the row's own other parts make). An insert's
   * that meets no row at its key: its after image with the columns it leaves out at the DR's known
   * defaults (written-row.ts insertedRow). Default: the after image.
   */
  readonly newRow?: RowImage;
  /** Columns left out of every comparison (the configuration's `ignoreColumns`). */
  readonly ignore?: ReadonlySet<string>;
  /** `compare: "keys"`: an update or delete meets the row at its key, whatever its values. */
  readonly compareKeysOnly?: boolean;
  /**
   * The DR's own history for the change's key, when the DR's binlog was given: `row` is what the DR
   * did to the key after the failover (undefined: nothing the history saw), `complete` whether the
   * history covers everything the DR wrote (else an unknown key is judged by values).
   */
  readonly history?: { readonly row: RowHistory | undefined; readonly complete: boolean } | null;
}

export interface Classification {
  readonly class: ConflictClass;
  /** Decided by values, without the DR's binlog (R): no history was given, or it did not know the key. */
  readonly withoutHistory: boolean;
  /** Columns the DR logged changes to after the failover (from R; empty without it): a merge counts them as changed on the DR. */
  readonly drChanged: readonly string[];
  /** What the DR's binlog says the DR did to this key after the failover, when it says anything. */
  readonly historyRow: RowHistory | null;
  /** The DR row the change was matched to (by primary key, or by before image for keyless tables). */
  readonly drRow: RowImage | null;
  /** Columns (logged in the before image) where the DR row differs from it; updates and deletes. */
  readonly differsFromBefore: readonly string[];
  /** Columns (logged in the after image) where the DR row differs from it; inserts and updates. */
  readonly differsFromAfter: readonly string[];
  /** The unique key (name) another DR row already holds, for the *-unique-taken classes; PRIMARY_KEY for an update's new primary key. */
  readonly uniqueKey: string | null;
  /** The DR row holding that unique key. */
  readonly uniqueHolder: RowImage | null;
  /** Columns not logged in the change's images: the comparison ignored them (reports say so). */
  readonly notLogged: readonly string[];
}

/** The `uniqueKey` of an update whose new primary key another DR row holds (MariaDB and MySQL name the primary key so). */
export const PRIMARY_KEY = 'PRIMARY';

export const ClassifyErrorCode = {
  ImageShape: 'RECONCILE_IMAGE_SHAPE',
} as const;
export type ClassifyErrorCode = (typeof ClassifyErrorCode)[keyof typeof ClassifyErrorCode];

/** Classifies one lost row change against the DR rows fetched for its keys. */
export function classifyChange(input: ClassifyInput): Classification {
  const { change, schema } = input;
  checkShape(change, schema);
  switch (change.op) {
    case 'insert':
      return classifyInsert(input, image(change.after, change, 'after'));
    case 'update':
      return classifyUpdate(input, image(change.before, change, 'before'), image(change.after, change, 'after'));
    case 'delete':
      return classifyDelete(input, image(change.before, change, 'before'));
  }
}

function classifyInsert(input: ClassifyInput, after: RowImage): Classification {
  const { schema, drRowByPk } = input;
  const notLogged = unlogged(schema, after, null);
  const h = schema.primaryKey === null ? NO_HISTORY : known(input);
  if (schema.primaryKey !== null && drRowByPk !== null) {
    const differsFromAfter = differing(schema, after, drRowByPk, input.ignore);
    // The DR created the record at this key after the failover: another record even with the same
    // values (two likes of one post by one user, an order equal to one a link rewrote the lost one to).
    if (h.row?.insertedByDr === true) return result('insert-pk-taken', h.facts, drRowByPk, notLogged, NONE, differsFromAfter);
    // The key is compared exactly, as every column is: a DR row the key's collation equates (`B` for
    // the lost `b`) differs in it, so it is never the insert already applied, even when every other
    // column is equal. Nothing shows this insert reached the DR (the engine writes the key as logged,
    // so an earlier recovery would have left `b`), and the DR's spelling is not the lost row's value.
    // It is the record at that key all the same (the server knows one row there): the same record
    // changed since, or another one, by the rules below; merge, the default for the former, keeps the
    // DR's spelling and writes nothing when only the key's spelling differs.
    if (differsFromAfter.length === 0) return result('already-applied', h.facts, drRowByPk, notLogged);
    if (h.known) {
      return result('insert-pk-same-record', h.facts, drRowByPk, notLogged, NONE, differsFromAfter);
    }
    const cls = input.pkIsAutoIncrement ? 'insert-pk-taken' : 'insert-pk-same-record';
    return result(cls, NO_HISTORY.facts, drRowByPk, notLogged, NONE, differsFromAfter);
  }
  const holder = uniqueHolder(input, input.newRow ?? after, null, schema.uniqueKeys);
  if (holder !== null) return result('insert-unique-taken', h.facts, null, notLogged, NONE, NONE, holder);
  return result('clean', h.facts, null, notLogged);
}

function classifyUpdate(input: ClassifyInput, before: RowImage, after: RowImage): Classification {
  const { schema } = input;
  const notLogged = unlogged(schema, before, after);
  const dr = matchedRow(input, before);
  const h = schema.primaryKey === null ? NO_HISTORY : known(input);
  if (dr === null) {
    // The move is on the DR already (an earlier partial recovery, or a re-run): nothing at the old
    // key, the after image at the new one.
    const atNewPk = input.drRowAtNewPk ?? null;
    if (atNewPk !== null && input.newPkIsOtherRecord !== true && differing(schema, after, atNewPk, input.ignore).length === 0 && !holdsBeforeExactly(schema, before, after, atNewPk, input.ignore)) {
      return result('already-applied', h.facts, atNewPk, notLogged);
    }
    if (!h.known) return result('update-missing', NO_HISTORY.facts, null, notLogged);
    return result(h.row?.deletedByDr === true ? 'update-deleted-on-dr' : 'update-never-existed', h.facts, null, notLogged);
  }
  // The record at this key is one the DR created after the failover: never the row the lost change meant.
  if (h.row?.insertedByDr === true) return result('update-pk-reused', h.facts, dr, notLogged);
  const differsFromAfter = differing(schema, after, dr, input.ignore);
  if (differsFromAfter.length === 0 && !holdsBeforeExactly(schema, before, after, dr, input.ignore)) return result('already-applied', h.facts, dr, notLogged);
  const changedKeys = schema.uniqueKeys.length === 0 ? schema.uniqueKeys : schema.uniqueKeys.filter((k) => k.columns.some((c) => keyChanged(schema, c, before, after)));
  // The new primary key first: it is the row's identity, and no rule may write over another record's.
  const atNewPk = input.drRowAtNewPk ?? null;
  const holder = atNewPk !== null && !isSameRow(schema, atNewPk, dr) ? { uniqueKey: PRIMARY_KEY, uniqueHolder: atNewPk } : uniqueHolder(input, input.newRow ?? after, dr, changedKeys);
  const differsFromBefore = input.compareKeysOnly === true ? NONE : differing(schema, before, dr, input.ignore, true);
  if (holder !== null) return result('update-unique-taken', h.facts, dr, notLogged, differsFromBefore, differsFromAfter, holder);
  // A column both sides changed is a divergence even when the DR changed it back to the base value
  // (asked only when the DR's history names changed columns: without them no column is both sides').
  const bothChanged = input.compareKeysOnly !== true && h.facts.drChanged.length > 0 && lostChanged(schema, before, after).some((c) => h.facts.drChanged.includes(c));
  const cls = differsFromBefore.length === 0 && !bothChanged ? 'clean' : 'update-diverged';
  return result(cls, h.facts, dr, notLogged, differsFromBefore, differsFromAfter);
}

function classifyDelete(input: ClassifyInput, before: RowImage): Classification {
  const { schema } = input;
  const notLogged = unlogged(schema, before, null);
  const dr = matchedRow(input, before);
  const h = schema.primaryKey === null ? NO_HISTORY : known(input);
  // A keyless table's rows are only their values: with no DR row equal to the before image, nothing
  // tells a delete already made from one of a row the DR changed or never had (replication stops on it).
  if (dr === null) return result(schema.primaryKey === null ? 'delete-missing' : 'already-applied', h.facts, null, notLogged);
  if (h.row?.insertedByDr === true) return result('delete-pk-reused', h.facts, dr, notLogged);
  const differsFromBefore = input.compareKeysOnly === true ? NONE : differing(schema, before, dr, input.ignore, true);
  // A record the DR changed after the failover is diverged even when its values came back to the before image.
  const diverged = differsFromBefore.length > 0 || (input.compareKeysOnly !== true && h.facts.drChanged.length > 0);
  return result(diverged ? 'delete-diverged' : 'clean', h.facts, dr, notLogged, differsFromBefore);
}

/** Columns the lost change set to a new value (logged in `after` and different from `before`). */
function lostChanged(schema: TableSchema, before: RowImage, after: RowImage): string[] {
  return schema.columns.filter((col, i) => after[i] !== undefined && !sameValue(before[i], after[i], col)).map((col) => col.name);
}

interface KnownHistory {
  /** The history speaks for this key: it saw the key, or it covers everything the DR wrote. */
  readonly known: boolean;
  readonly row: RowHistory | undefined;
  readonly facts: { readonly withoutHistory: boolean; readonly drChanged: readonly string[]; readonly historyRow: RowHistory | null };
}

/**
 * The empty list of column names every classification without one shares (never changed in place:
 * a fresh array for each of a classification's lists was ≈ 5 arrays per lost change).
 */
const NONE: readonly string[] = [];

const NO_HISTORY: KnownHistory = { known: false, row: undefined, facts: { withoutHistory: true, drChanged: NONE, historyRow: null } };

function known(input: ClassifyInput): KnownHistory {
  const h = input.history;
  if (h === undefined || h === null) return NO_HISTORY;
  const isKnown = h.row !== undefined || h.complete;
  if (!isKnown) return NO_HISTORY;
  const ignore = input.ignore;
  const drChanged = h.row === undefined ? [] : [...h.row.changedColumns].filter((c) => ignore?.has(c) !== true);
  return { known: true, row: h.row, facts: { withoutHistory: false, drChanged, historyRow: h.row ?? null } };
}

/** The DR row a change to `before` applies to: by primary key, else the first row equal to `before` on its logged columns. */
function matchedRow(input: ClassifyInput, before: RowImage): RowImage | null {
  if (input.schema.primaryKey !== null) return input.drRowByPk;
  for (const row of input.drRowsByImage ?? []) if (differing(input.schema, before, row, input.ignore).length === 0) return row;
  return null;
}

/**
 * Names of the columns logged in `image` whose DR value differs (the shared NONE when none does).
 * A DR cell that is undefined is one the window itself inserted without logging it (a partial or
 * shorter image: the DR gave it its default, unknown here until read back). `unknownSame`: such a
 * cell is no divergence from a before image (the lost range's own insert put it there); against an
 * after image it stays a difference, or an update of that column would pass for already applied.
 */
function differing(schema: TableSchema, image: RowImage, dr: RowImage, ignore: ReadonlySet<string> | undefined, unknownSame = false): readonly string[] {
  let out: string[] | null = null;
  const columns = schema.columns;
  for (let i = 0; i < columns.length; i++) {
    const col = columns[i] as ColumnSchema;
    const v = image[i];
    if (v !== undefined && !(unknownSame && dr[i] === undefined) && ignore?.has(col.name) !== true && !sameValue(v, dr[i], col)) (out ??= []).push(col.name);
  }
  return out ?? NONE;
}

/**
 * The DR holds exactly the before value of a column the change set to another value closer than
 * `sameValue`'s FLOAT tolerance: the change is not on the DR yet, though the row matches its after
 * image within that tolerance (which is there for DRs seeded from a dump's 6-digit FLOATs).
 */
function holdsBeforeExactly(schema: TableSchema, before: RowImage, after: RowImage, dr: RowImage, ignore: ReadonlySet<string> | undefined): boolean {
  const columns = schema.columns;
  for (let i = 0; i < columns.length; i++) {
    const col = columns[i] as ColumnSchema;
    if (col.dataType !== 'float' || after[i] === undefined || ignore?.has(col.name) === true) continue;
    if (!sameExactValue(after[i], before[i], col) && sameExactValue(before[i], dr[i], col)) return true;
  }
  return false;
}

function keyChanged(schema: TableSchema, column: string, before: RowImage, after: RowImage): boolean {
  const i = columnIndex(schema, column);
  const a = after[i];
  return a !== undefined && !sameValue(before[i], a, schema.columns[i] ?? null);
}

/**
 * The first DR row, other than `self`, that holds one of `keys` with the values of `image`,
 * judged under each column's collation. A key with a NULL or unlogged part cannot collide.
 */
function uniqueHolder(input: ClassifyInput, image: RowImage, self: RowImage | null, keys: readonly UniqueKey[]): { uniqueKey: string; uniqueHolder: RowImage } | null {
  const { schema } = input;
  for (const key of keys) {
    const parts = key.columns.map((c) => columnIndex(schema, c));
    if (parts.some((i) => image[i] === undefined || image[i] === null)) continue;
    for (const { key: name, row, held } of input.drRowsByUnique) {
      if (self !== null && isSameRow(schema, row, self)) continue;
      // `held`: the DR's index for this key holds the row under the image's value — by the server's
      // own comparison where the fold here cannot tell (reconciler.ts, TableState.aliasIndexKey).
      if ((held === true && name === key.name) || parts.every((i) => sameUniqueValue(image[i], row[i], collationOf(schema.columns[i])))) return { uniqueKey: key.name, uniqueHolder: row };
    }
  }
  return null;
}

/** Same DR row: by primary key, or (keyless tables) the same object or equal on every column. */
function isSameRow(schema: TableSchema, a: RowImage, b: RowImage): boolean {
  if (a === b) return true;
  const cols = schema.primaryKey ?? schema.columns.map((c) => c.name);
  return cols.every((c) => {
    const i = columnIndex(schema, c);
    return sameValue(a[i], b[i], schema.columns[i] ?? null);
  });
}

function collationOf(col: ColumnSchema | undefined): string | null {
  return col?.collation ?? null;
}

function columnIndex(schema: TableSchema, name: string): number {
  const i = schema.columns.findIndex((c) => c.name === name);
  if (i === -1) {
    throw new EngineError(ClassifyErrorCode.ImageShape, `key column ${name} is not a column of ${schema.schema}.${schema.table}`, { table: `${schema.schema}.${schema.table}`, column: name });
  }
  return i;
}

/** Columns `a` or `b` did not log (the shared NONE when both logged every column, as FULL row images do). */
function unlogged(schema: TableSchema, a: RowImage, b: RowImage | null): readonly string[] {
  let out: string[] | null = null;
  const columns = schema.columns;
  for (let i = 0; i < columns.length; i++) {
    if (a[i] === undefined || (b !== null && b[i] === undefined)) (out ??= []).push((columns[i] as ColumnSchema).name);
  }
  return out ?? NONE;
}

function image(img: RowImage | null, change: RowChange, which: 'before' | 'after'): RowImage {
  if (img === null) {
    const t = change.table;
    throw new EngineError(ClassifyErrorCode.ImageShape, `${change.op} on ${t.schema}.${t.table} has no ${which} image`, { table: `${t.schema}.${t.table}`, offset: change.eventOffset });
  }
  return img;
}

/** Images longer than the DR's table mean the schemas disagree (DDL): never guess column positions. */
function checkShape(change: RowChange, schema: TableSchema): void {
  checkImageShape(change.before, change, schema);
  checkImageShape(change.after, change, schema);
}

function checkImageShape(img: RowImage | null, change: RowChange, schema: TableSchema): void {
  const n = schema.columns.length;
  if (img !== null && img.length !== n) {
    throw new EngineError(ClassifyErrorCode.ImageShape, `row image of ${schema.schema}.${schema.table} has ${img.length} columns, the DR's table has ${n}`, { table: `${schema.schema}.${schema.table}`, offset: change.eventOffset });
  }
}

/** One classification, every field present (one object per change: no partial object spread into it). */
function result(
  cls: ConflictClass,
  facts: KnownHistory['facts'],
  drRow: RowImage | null,
  notLogged: readonly string[],
  differsFromBefore: readonly string[] = NONE,
  differsFromAfter: readonly string[] = NONE,
  holder: { readonly uniqueKey: string; readonly uniqueHolder: RowImage } | null = null,
): Classification {
  return {
    class: cls,
    withoutHistory: facts.withoutHistory,
    drChanged: facts.drChanged,
    historyRow: facts.historyRow,
    drRow,
    differsFromBefore,
    differsFromAfter,
    uniqueKey: holder === null ? null : holder.uniqueKey,
    uniqueHolder: holder === null ? null : holder.uniqueHolder,
    notLogged,
  };
}
