/**
 * The `merge` strategy's three-way column merge (DESIGN.md "Strategies"): base = B (the binlog's
 * before image), theirs = A (its after image), ours = D (the DR's row).
 *
 * Per column: A's value is taken only when A changed it and D did not; a column changed on both
 * sides to different values is a conflict, resolved by the column's policy (default: the DR's
 * value, so nothing the DR changed after the failover is overwritten). A column absent from a
 * partial image is unchanged, not NULL. Where the base is unknown (no before image, as for
 * insert-pk-same-record, or a column the before image did not log) nobody can tell which side
 * changed, so a difference is a conflict. A JsonPatch in A is never applied here (it is diffs,
 * not a value): it differs from D, so it is a conflict the report shows.
 *
 * Groups of related columns (an address, an amount and its currency) are decided together, as one
 * value: when both sides changed the group — the same column or different ones (A the total, D the
 * currency) — to different values, the whole group comes from one side, so a row never ends with
 * a street from one side and a city from the other, or A's amount in D's currency.
 */
import type { RowImage } from '../binlog/column.js';
import type { ColumnSchema } from '../model/table-schema.js';
import { sameValue } from './value-equality.js';

/** Which side a conflicting column takes. */
export type ConflictPolicy = 'ours' | 'theirs';

export interface MergeOptions {
  /** The table's columns in image order. */
  readonly columns: readonly Pick<ColumnSchema, 'name' | 'dataType'>[];
  /** Per-column policy for conflicts (column name → side); default `ours` (the DR keeps its value). */
  readonly policy?: Readonly<Record<string, ConflictPolicy>>;
  /** Related columns decided together; a column belongs to at most one group (later groups ignore repeats). */
  readonly groups?: readonly (readonly string[])[];
  /**
   * Columns the DR is known to have changed (its own binlog logged a change), whatever their value
   * now: a DR change back to the base value is still a change, so A does not silently win there.
   */
  readonly oursChanged?: ReadonlySet<string>;
}

/** A group both sides changed, decided as one value. */
export interface GroupConflict {
  /** The group's columns (those the table has), in the configured order. */
  readonly columns: readonly string[];
  /** The side the whole group came from. */
  readonly side: ConflictPolicy;
}

export interface MergeResult {
  /** The merged row, a new array in column order. */
  readonly row: RowImage;
  /** Columns whose value comes from A (changed by A only, or a conflict resolved to `theirs`). */
  readonly taken: readonly string[];
  /** Columns the DR changed (and A did not, or changed identically): D's value stays. */
  readonly kept: readonly string[];
  /**
   * Columns changed on both sides to different values (or with an unknown base), plus, in a group
   * that conflicted, the columns whose change the losing side gave up (A's under `ours`, D's under
   * `theirs`).
   */
  readonly conflicts: readonly string[];
  /** The groups both sides changed (to different values), each taken whole from one side. */
  readonly groups: readonly GroupConflict[];
}

type Decision = 'same' | 'taken' | 'kept' | 'conflict';

/** Merges A's changes from base B into the DR row D, column by column; inputs are never mutated. */
export function threeWayMerge(base: RowImage | null, theirs: RowImage, ours: RowImage, options: MergeOptions): MergeResult {
  const { columns } = options;
  const decisions: Decision[] = columns.map((col, i) => decide(base === null ? undefined : base[i], theirs[i], ours[i], col, options.oursChanged?.has(col.name) === true));
  const row: RowImage = ours.slice(0, columns.length);
  const taken: string[] = [];
  const kept: string[] = [];
  const conflicts: string[] = [];
  const grouped = groupIndexes(options);
  const policyOf = (i: number): ConflictPolicy => options.policy?.[columns[i]?.name ?? ''] ?? 'ours';

  const groupConflicts: GroupConflict[] = [];
  for (const group of grouped) {
    // The group is one value: in conflict when A changed some column of it and D changed some
    // (maybe another) column of it, and the two sides' groups differ. A column both changed
    // differently is such a case already.
    const conflicting = group.filter((i) => decisions[i] === 'conflict');
    const byTheirs = group.filter((i) => decisions[i] === 'taken' || theirsChanged(base, theirs, i, columns));
    const byOurs = group.filter((i) => decisions[i] === 'kept');
    const differ = group.some((i) => !sameValue(theirsValue(base, theirs, ours, i), ours[i], columns[i] ?? null));
    if (conflicting.length === 0 && !(byTheirs.length > 0 && byOurs.length > 0 && differ)) continue;
    // The policies of the columns both sides changed decide; when the sides changed different
    // columns, those of every column either side changed.
    const deciding = conflicting.length > 0 ? conflicting : [...new Set([...byTheirs, ...byOurs])];
    const side: ConflictPolicy = deciding.every((i) => policyOf(i) === 'theirs') ? 'theirs' : 'ours';
    groupConflicts.push({ columns: group.map((i) => name(columns, i)), side });
    for (const i of group) {
      const d = decisions[i];
      // The side that loses a conflicting group loses its other changes in the group too: recorded, not silently dropped.
      if (d === 'conflict' || d === (side === 'ours' ? 'taken' : 'kept')) conflicts.push(name(columns, i));
      if (side === 'theirs') {
        row[i] = theirsValue(base, theirs, ours, i);
        if (!sameValue(row[i], ours[i], columns[i] ?? null)) taken.push(name(columns, i));
      } else if (d === 'kept') kept.push(name(columns, i));
      decisions[i] = 'same';
    }
  }
  decisions.forEach((d, i) => {
    if (d === 'taken') {
      row[i] = theirs[i];
      taken.push(name(columns, i));
    } else if (d === 'kept') {
      kept.push(name(columns, i));
    } else if (d === 'conflict') {
      conflicts.push(name(columns, i));
      if (policyOf(i) === 'theirs') {
        row[i] = theirs[i];
        taken.push(name(columns, i));
      }
    }
  });
  return { row, taken: inColumnOrder(taken, columns), kept: inColumnOrder(kept, columns), conflicts: inColumnOrder(conflicts, columns), groups: groupConflicts };
}

function decide(b: RowImage[number], a: RowImage[number], d: RowImage[number], col: Pick<ColumnSchema, 'dataType'>, loggedOnDr: boolean): Decision {
  if (a === undefined) return b !== undefined && d !== undefined && !sameValue(b, d, col) ? 'kept' : 'same';
  if (d === undefined) return 'taken';
  if (b === undefined) return sameValue(a, d, col) ? 'same' : 'conflict';
  const aChanged = !sameValue(a, b, col);
  const dChanged = loggedOnDr || !sameValue(d, b, col);
  if (!aChanged) return dChanged ? 'kept' : 'same';
  if (!dChanged) return 'taken';
  return sameValue(a, d, col) ? 'kept' : 'conflict';
}

/** Whether A changed column `i` from a known base (a change equal to D's is still a change of A's). */
function theirsChanged(base: RowImage | null, theirs: RowImage, i: number, columns: MergeOptions['columns']): boolean {
  const a = theirs[i];
  const b = base === null ? undefined : base[i];
  return a !== undefined && b !== undefined && !sameValue(a, b, columns[i] ?? null);
}

/** A's view of a column: its after value, else (unchanged) the base, else D's when neither logged it. */
function theirsValue(base: RowImage | null, theirs: RowImage, ours: RowImage, i: number): RowImage[number] {
  const a = theirs[i];
  if (a !== undefined) return a;
  const b = base === null ? undefined : base[i];
  return b !== undefined ? b : ours[i];
}

function groupIndexes(options: MergeOptions): number[][] {
  const seen = new Set<number>();
  const groups: number[][] = [];
  for (const names of options.groups ?? []) {
    const idx: number[] = [];
    for (const n of names) {
      const i = options.columns.findIndex((c) => c.name === n);
      if (i !== -1 && !seen.has(i)) {
        seen.add(i);
        idx.push(i);
      }
    }
    if (idx.length > 0) groups.push(idx);
  }
  return groups;
}

function name(columns: MergeOptions['columns'], i: number): string {
  return columns[i]?.name ?? `@${i + 1}`;
}

function inColumnOrder(names: string[], columns: MergeOptions['columns']): string[] {
  const set = new Set(names);
  return columns.map((c) => c.name).filter((n) => set.has(n));
}
