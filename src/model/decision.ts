/**
 * What reconcile decides for each lost row change, and the writes that carry the decisions out:
 * the vocabulary shared by the reconciler, the sink, the ledger and the reports.
 */
import type { ColumnValue, RowImage } from '../binlog/column.js';
import type { RowChange } from '../binlog/event.js';
import type { Transaction } from '../binlog/transaction.js';
import type { TableSchema } from './table-schema.js';

/**
 * What classify.ts (src/reconcile/) makes of a lost row change against the DR's current rows:
 * DESIGN.md's "Conflict taxonomy". config/schema.ts's ConflictClass, the classes a rule can name,
 * adds `parent-missing` (decided outside classify.ts).
 */
export type ConflictClass =
  | 'clean'
  | 'already-applied'
  | 'insert-pk-taken'
  | 'insert-pk-same-record'
  | 'insert-unique-taken'
  | 'update-diverged'
  | 'update-missing'
  | 'update-deleted-on-dr'
  | 'update-never-existed'
  | 'update-pk-reused'
  | 'update-unique-taken'
  | 'delete-diverged'
  | 'delete-pk-reused'
  | 'delete-missing';

/**
 * The class of a change: DESIGN.md's taxonomy, plus what the value rules decide outside it:
 * `parent-missing` (a foreign key points at no row, or at a quarantined one), `row-quarantined`
 * (an earlier change to the same row is in quarantine), `transaction-quarantined` (kept whole with a
 * quarantined change of its transaction), `statement-based` (DML logged as SQL text), `no-key`
 * (an update or delete of a table without a primary key that no row can be matched to safely: a
 * write by its image could reach rows that differ, keyless-rows.ts), `partial-json` (an update that carries
 * JSON diffs, not a document), `dr-rejected` (the DR refused the transaction on its own),
 * `ddl` (a schema change the user chose to skip) and `damaged` (a transaction whose events failed
 * their checksum or did not decode, skipped under `--skip-damaged`).
 */
export type ChangeClass =
  | ConflictClass
  | 'parent-missing'
  | 'row-quarantined'
  | 'transaction-quarantined'
  | 'statement-based'
  | 'no-key'
  | 'partial-json'
  | 'dr-rejected'
  | 'table-suspended'
  | 'ddl'
  | 'damaged';

/** The ledger's outcomes (issue: at least applied | merged | remapped | skipped | quarantined). */
export type Outcome = 'applied' | 'merged' | 'remapped' | 'skipped' | 'quarantined';

export const OUTCOMES: readonly Outcome[] = ['applied', 'merged', 'remapped', 'skipped', 'quarantined'];

/** The decision for one lost row change (or one statement of a statement-based transaction). */
export interface ChangeDecision {
  readonly tx: Transaction;
  /** Index of the change within its transaction (statements follow the row changes). */
  readonly index: number;
  /** The change as the binlog logged it (null for a statement). */
  readonly change: RowChange | null;
  /** `schema.table` (for a statement, its default schema). */
  readonly table: string;
  readonly op: RowChange['op'] | 'sql';
  /** The source row's primary key as the binlog logged it (before a remap); null for a statement or a keyless table. */
  readonly sourceKey: readonly ColumnValue[] | null;
  readonly class: ChangeClass;
  readonly outcome: Outcome;
  /** The key the row has on the DR when it differs from the source key (remapped, or following a remap). */
  readonly newKey: readonly ColumnValue[] | null;
  readonly reason: string | null;
  /** The DR row the change met, if any. */
  readonly drRow: RowImage | null;
  /**
   * A second DR row the classification met that `drRow` does not show: the holder of the clashing
   * unique value (*-unique-taken), or the row at the change's own key when the decision is about
   * another row (a link, a quarantined update whose `drRow` is the holder). Recorded so a decision
   * can be reproduced from what the ledger holds.
   */
  readonly otherRow?: RowImage | null;
  /** Columns a merge kept from the DR where both sides changed them. */
  readonly conflicts: readonly string[];
  /** The configuration path of the rule that decided it (`tables."shop.*".onConflict.update-diverged`, `built-in.clean`), or null. */
  readonly rulePath?: string | null;
  /** Always true until the DR's own binlog is read (issue 8): decided by values. */
  readonly withoutHistory: boolean;
  /** For a statement: its SQL text. */
  readonly sql?: string;
  /** Quarantined only: the rows (`schema.table`, row key) it holds back from later changes. */
  readonly holds?: readonly (readonly [string, string])[];
  /**
   * A skipped insert whose source row is held back from the changes after it (the DR row at its
   * key, if any, is another record): recorded so every later run holds it too.
   */
  readonly heldSkip?: true;
  /**
   * Quarantined because of another change (an earlier change of the same row, a quarantined parent,
   * the rest of a transaction kept whole): that change's `GTID#index` (or `file:pos#index`), else null.
   */
  readonly origin?: string | null;
}

/**
 * A DR row kept in the state schema's `archive` before a write deletes or changes it, so what
 * `delete-blocking` or the cascade guard's `report` / `allowUpTo` removes can be put back by hand:
 * the row as it was, and why.
 */
export interface ArchiveNote {
  /** `GTID#index` (or `file:pos#index`) of the lost change that needed the row out of the way. */
  readonly change: string;
  /** The row held the lost change's unique value; or the DR's ON DELETE CASCADE / SET NULL reached it from that row, or from the row of a lost delete. */
  readonly role: 'blocking' | 'cascade-delete' | 'cascade-set-null';
  /** The row as it was, full image in column order. */
  readonly row: RowImage;
}

/** One write to the DR; rows are full images in column order, keys in primary-key order. */
export type WriteOp =
  | { readonly kind: 'insert'; readonly table: TableSchema; readonly row: RowImage }
  | {
      readonly kind: 'update';
      readonly table: TableSchema;
      readonly key: readonly ColumnValue[];
      readonly set: Readonly<Record<string, ColumnValue>>;
      /** The row as it was before this update (the overlay's view), so the sink can tell whether unique values pass between rows. */
      readonly old?: RowImage;
      /** Archive the row before the update (the sink writes the archive row first). */
      readonly archive?: ArchiveNote;
      /** A table without a primary key: the row is one of those equal to this image on the columns it logs (`key` is empty). */
      readonly image?: RowImage;
    }
  | {
      readonly kind: 'delete';
      readonly table: TableSchema;
      readonly key: readonly ColumnValue[];
      /** Archive the row before it is deleted. */
      readonly archive?: ArchiveNote;
      /** A table without a primary key: the row is one of those equal to this image on the columns it logs (`key` is empty). */
      readonly image?: RowImage;
    };

/** What one source transaction came to. */
export interface TransactionResult {
  readonly tx: Transaction;
  readonly decisions: readonly ChangeDecision[];
  /** In source order; empty when the transaction was quarantined whole. */
  readonly writes: readonly WriteOp[];
  /** Remaps made by this transaction. */
  readonly remaps: readonly { readonly table: string; readonly oldKey: readonly ColumnValue[]; readonly newKey: readonly ColumnValue[]; readonly linked?: true }[];
}
