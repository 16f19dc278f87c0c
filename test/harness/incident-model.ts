/**
 * Generated incidents for the reconcile properties (DESIGN.md "Strategies", the invariants
 * paragraph): a base state the primary and the DR share at the failover, a lost history the
 * primary committed after it, and the DR's own history after the failover. Both sides allocate
 * ids from the same AUTO_INCREMENT counters, so their inserts collide by construction.
 *
 * Histories are lists of application commands (insert a customer, move an order, …) whose row
 * choices are numbers taken modulo the rows there are, so fast-check shrinks them freely. Each
 * side runs its commands against its own InMemoryDr, which enforces the keys: the lost history's
 * row changes therefore carry the before and after images a real primary would have logged.
 *
 * Values are drawn from pools kept apart per side (names L… and D…, totals from 100 and from 200, bodies l… and d…,
 * emails lower-case or Capitalised on the primary, UPPER or lOWER-first on the DR), so no value the
 * DR writes ever equals one the primary wrote: a DR change is never mistaken, by value, for one the
 * lost history made. Emails still clash under the case-insensitive collation. In `disjoint` mode
 * the sides own separate base rows, separate email names, and the DR's counters jumped past the
 * primary's, so no row or key is shared.
 *
 * The schema's foreign keys are part of the spec (`fks`, default the historical RESTRICT and
 * logical reference): orders → customers may be RESTRICT, CASCADE or SET NULL, notes → orders a
 * logical reference or a declared key with any of the three. Each side's application deletes with
 * the server's checks on (InMemoryDr.deleteCascading), so a delete carries out the ON DELETE
 * actions on that side's database and logs only the row it named, as InnoDB's binlog does: the
 * children a lost cascade removed are nowhere in the lost history.
 *
 * With `keyless` (incidentArbitrary's option, for keyless.property.test.ts) the schema gains
 * shop.tags(label varchar _ci, qty int NULL) with no key at all, matched by image
 * (src/reconcile/keyless-rows.ts). Its values come from one small domain both sides share — two
 * labels, each lower-case or Capitalised (equal under the collation, not exactly), qty NULL, 1 or 2 —
 * so equal rows (copies), rows the collation alone equates, and DR changes to the very rows the
 * lost changes name all happen. Each side's application changes a particular row it holds (its
 * exact value), and logs full images, as the primary's binlog would.
 *
 * `keyless: { wide: true }` widens shop.tags (tagsTable): a nullable `code` under a UNIQUE key (on
 * its own, or with `label`) drawn from NULL, `k`, `K` and `q` — so an insert or a move onto a value a
 * DR row holds, under the collation, happens often, and rows whose key has a NULL part do not
 * collide — and a nullable TEXT `note`. The primary then logs shop.tags' images as its
 * binlog_row_image says (TagImages): FULL, NOBLOB (`note` left out of the before image, and of an
 * update's after image unless the update sets it), or MINIMAL over the columns a mask names (the
 * before image logs those, an update's after image the columns it sets). MariaDB logs whole images
 * of a table without a primary key under MINIMAL and NOBLOB (test/reconcile/keyless.test.ts); its
 * FULL_NODUP (newer servers) logs the whole before image and an after image of the columns set —
 * the mask with every bit; a partial before image is what a primary whose table has a key the DR's
 * lacks logs, and DESIGN.md matches such an image on the columns it has.
 * Each side's application skips a write its unique key refuses, as the server would.
 */
import fc from 'fast-check';
import type { ColumnDef, RowImage } from '../../src/binlog/column.js';
import { ColumnType } from '../../src/binlog/column-types.js';
import type { RowChange, TableMap } from '../../src/binlog/event.js';
import type { Transaction } from '../../src/binlog/transaction.js';
import type { ColumnSchema, LogicalReferences, ReferentialAction, TableSchema } from '../../src/model/table-schema.js';
import { EngineError } from '../../src/errors.js';
import { columnSchema } from './column-schema.js';
import { InMemoryDr, OracleErrorCode } from './in-memory-dr.js';

export const CUSTOMERS = 'shop.customers';
export const ORDERS = 'shop.orders';
export const NOTES = 'shop.notes';
/** The keyless table of `keyless` incidents. */
export const TAGS = 'shop.tags';

function column(name: string, ordinal: number, text: boolean, autoIncrement = false, nullable = false): ColumnSchema {
  return columnSchema(name, ordinal, text, { columnType: text ? 'varchar(120)' : 'int(10) unsigned', unsigned: !text, isAutoIncrement: autoIncrement, nullable });
}

function table(name: string, columns: ColumnSchema[], extra: Partial<TableSchema> = {}): TableSchema {
  return { schema: 'shop', table: name, columns, primaryKey: ['id'], uniqueKeys: [], foreignKeys: [], autoIncrement: { column: 'id', next: 1n }, engine: 'InnoDB', ...extra };
}

/**
 * The ON DELETE rule of orders.customer_id → customers.id, and how notes.order_id points at orders
 * (`logical`: the configuration's reference; `none`: it does not, so a customer's cascade stops at
 * its orders, the one level the engine carries out).
 */
export interface FkActions {
  readonly customer: Extract<ReferentialAction, 'RESTRICT' | 'CASCADE' | 'SET NULL'>;
  readonly note: 'logical' | 'none' | Extract<ReferentialAction, 'RESTRICT' | 'CASCADE' | 'SET NULL'>;
}

/** The schema the model had before cascades were generated: fk_customer RESTRICT, notes.order_id logical. */
export const DEFAULT_FKS: FkActions = { customer: 'RESTRICT', note: 'logical' };

/**
 * customers(id AI, email UNIQUE ci, name); orders(id AI, customer_id → customers.id, total);
 * notes(id AI, order_id, body), order_id a declared key when `fks.note` says so. A SET NULL key's
 * column is nullable (InnoDB refuses SET NULL on a NOT NULL column).
 */
export function tablesFor(fks: FkActions): readonly TableSchema[] {
  const fk = (name: string, col: string, refTable: string, onDelete: ReferentialAction) => ({ name, columns: [col], refSchema: 'shop', refTable, refColumns: ['id'], onDelete, onUpdate: 'RESTRICT' as const, origin: 'schema' as const });
  return [
    table('customers', [column('id', 1, false, true), column('email', 2, true), column('name', 3, true)], { uniqueKeys: [{ name: 'uk_email', columns: ['email'] }] }),
    table('orders', [column('id', 1, false, true), column('customer_id', 2, false, false, fks.customer === 'SET NULL'), column('total', 3, false)], {
      foreignKeys: [fk('fk_customer', 'customer_id', 'customers', fks.customer)],
    }),
    table('notes', [column('id', 1, false, true), column('order_id', 2, false, false, fks.note === 'SET NULL'), column('body', 3, true)], {
      foreignKeys: fks.note === 'logical' || fks.note === 'none' ? [] : [fk('fk_order', 'order_id', 'orders', fks.note)],
    }),
  ];
}

/** shop.tags: no primary key, no unique key, no AUTO_INCREMENT; a _ci label and a nullable count. */
export const TAGS_TABLE: TableSchema = table('tags', [column('label', 1, true), column('qty', 2, false, false, true)], { primaryKey: null, autoIncrement: null });

/** The UNIQUE key of a wide shop.tags: `code` alone, or (`label`, `code`). */
export type TagUnique = 'code' | 'label-code';

/**
 * A wide shop.tags: label, qty, a nullable `code` varchar _ci under the UNIQUE key `unique` names
 * (no primary key: the key has a nullable column, so it gives the rows no identity), and a
 * nullable TEXT `note` _ci (what binlog_row_image=NOBLOB leaves out).
 */
export function tagsTable(unique: TagUnique): TableSchema {
  const note: ColumnSchema = { ...column('note', 4, true, false, true), dataType: 'text', columnType: 'text' };
  return table('tags', [column('label', 1, true), column('qty', 2, false, false, true), { ...column('code', 3, true, false, true), columnType: 'varchar(8)' }, note], {
    primaryKey: null,
    autoIncrement: null,
    uniqueKeys: [unique === 'code' ? { name: 'uk_code', columns: ['code'] } : { name: 'uk_label_code', columns: ['label', 'code'] }],
  });
}

/**
 * How the primary logs a wide shop.tags' row images (binlog_row_image): `full`; `noblob`, `note`
 * out of the before image, and out of an update's after image unless the update sets it; `minimal`,
 * the before image logs the columns whose bit `before` sets (1 label, 2 qty, 4 code, 8 note; 15,
 * every column, is MariaDB's FULL_NODUP; none, an image to find no row by), an update's after image
 * the columns it sets. An insert logs its whole row.
 */
export type TagImages = { readonly kind: 'full' } | { readonly kind: 'noblob' } | { readonly kind: 'minimal'; readonly before: number };

const NOTE = 3;

/**
 * The images the primary logs under `images` for a wide shop.tags' change of `before` into `after`
 * by a statement that sets the columns `sets` names (absent cells: not logged).
 */
export function loggedTagImages(images: TagImages, before: RowImage | null, after: RowImage | null, sets: (column: number) => boolean): { readonly before: RowImage | null; readonly after: RowImage | null } {
  if (images.kind === 'full' || before === null) return { before, after };
  const beforeLogs = (i: number): boolean => (images.kind === 'noblob' ? i !== NOTE : ((images.before >> i) & 1) === 1);
  const afterLogs = (i: number): boolean => (images.kind === 'noblob' ? i !== NOTE || sets(i) : sets(i));
  return { before: before.map((v, i) => (beforeLogs(i) ? v : undefined)), after: after === null ? null : after.map((v, i) => (afterLogs(i) ? v : undefined)) };
}

/** The configuration's logical references for `fks`: notes.order_id when the schema does not declare it. */
export function logicalFor(fks: FkActions): LogicalReferences {
  return fks.note === 'logical' ? { 'shop.notes': { references: { order_id: 'shop.orders.id' } } } : {};
}

/** The default schema (DEFAULT_FKS). */
export const TABLES: readonly TableSchema[] = tablesFor(DEFAULT_FKS);

/** notes.order_id is a reference the schema does not declare (the configuration's logical FK). */
export const LOGICAL: LogicalReferences = logicalFor(DEFAULT_FKS);

function tableMap(t: TableSchema, tableId: number): TableMap {
  const columns: ColumnDef[] = t.columns.map((c, index) => ({
    index,
    name: c.name,
    type: c.dataType === 'int' ? ColumnType.LONG : c.dataType === 'text' ? ColumnType.BLOB : ColumnType.VARCHAR,
    binlogType: c.dataType === 'int' ? ColumnType.LONG : c.dataType === 'text' ? ColumnType.BLOB : ColumnType.VARCHAR,
    // A TEXT's length prefix is 2 bytes; a varchar(120) of utf8mb4 holds up to 480.
    meta: c.dataType === 'int' ? 0 : c.dataType === 'text' ? 2 : 480,
    nullable: c.nullable,
    unsigned: c.unsigned,
    collation: c.collationId,
    enumLabels: null,
    setLabels: null,
    geometryType: null,
    isJson: false,
    visible: true,
  }));
  return { tableId, schema: t.schema, table: t.table, flags: 1, columns, primaryKey: t.primaryKey === null ? null : [0], metadata: 'full' };
}

function mapsFor(tables: readonly TableSchema[]): Map<string, TableMap> {
  return new Map<string, TableMap>(tables.map((t, i) => [`${t.schema}.${t.table}`, tableMap(t, 100 + i)]));
}

/** An application command; numbers pick rows and values modulo what there is. */
export type Cmd =
  | { readonly k: 'insCustomer'; readonly email: number; readonly variant: number; readonly name: number }
  | { readonly k: 'insOrder'; readonly customer: number; readonly total: number }
  | { readonly k: 'insNote'; readonly order: number; readonly body: number }
  | { readonly k: 'setEmail'; readonly customer: number; readonly email: number; readonly variant: number }
  | { readonly k: 'setName'; readonly customer: number; readonly name: number }
  | { readonly k: 'setTotal'; readonly order: number; readonly total: number }
  | { readonly k: 'moveOrder'; readonly order: number; readonly customer: number }
  | { readonly k: 'delNote'; readonly note: number }
  | { readonly k: 'delOrder'; readonly order: number }
  | { readonly k: 'delCustomer'; readonly customer: number }
  // The DR's own only (drCommandArbitrary): delete a customer and give its id to a new record, and
  // change a name and change it back (what only the DR's binlog can tell).
  | { readonly k: 'reuseCustomer'; readonly customer: number; readonly email: number; readonly variant: number }
  | { readonly k: 'bounceName'; readonly customer: number; readonly name: number }
  // shop.tags (keyless incidents): a row added, one row's values changed, one row deleted.
  | { readonly k: 'insTag'; readonly tag: TagValue }
  // `cols` (a wide shop.tags): the columns the update sets, a bit each (1 label, 2 qty, 4 code, 8 note); none or absent: all.
  | { readonly k: 'setTag'; readonly row: number; readonly tag: TagValue; readonly cols?: number }
  | { readonly k: 'delTag'; readonly row: number };

/**
 * A shop.tags value: label 0 or 1 (`red`, `blue`), `variant` 1 Capitalised, qty 0 NULL, else 1 or 2;
 * a wide table's `code` 0 NULL, 1 `k`, 2 `K` (`k` without case variants), 3 `q`, and `note` 0 NULL,
 * 1 `x`, 2 `y` (absent: 0).
 */
export interface TagValue {
  readonly label: number;
  readonly variant: number;
  readonly qty: number;
  readonly code?: number;
  readonly note?: number;
}

const TAG_LABELS = ['red', 'blue'];
const TAG_COLUMNS = ['label', 'qty', 'code', 'note'];
const TAG_CODES = [null, 'k', 'K', 'q'];
const TAG_NOTES = [null, 'x', 'y'];

/**
 * The row of a TagValue (`wide`: with code and note); `caseVariants` false keeps every label and
 * code lower-case (no two rows equal only under the collation).
 */
export function tagRow(v: TagValue, caseVariants = true, wide = false): RowImage {
  const label = TAG_LABELS[v.label % TAG_LABELS.length] as string;
  const q = v.qty % 3;
  const row: RowImage = [caseVariants && v.variant % 2 === 1 ? `${label[0]?.toUpperCase() ?? ''}${label.slice(1)}` : label, q === 0 ? null : q];
  if (!wide) return row;
  const code = TAG_CODES[(v.code ?? 0) % TAG_CODES.length] ?? null;
  return [...row, code !== null && !caseVariants ? code.toLowerCase() : code, TAG_NOTES[(v.note ?? 0) % TAG_NOTES.length] ?? null];
}

/** Whether `e` is the oracle refusing a duplicate unique value (an application's write the server would refuse). */
function refusedUnique(e: unknown): boolean {
  return e instanceof EngineError && e.code === OracleErrorCode.UkDuplicate;
}

export interface IncidentSpec {
  /** Customers 1..n with emails ann@x, bob@x, … */
  readonly baseCustomers: number;
  readonly baseOrders: readonly { readonly customer: number; readonly total: number }[];
  readonly baseNotes: readonly { readonly order: number; readonly body: number }[];
  /** The primary's transactions after the failover, each a list of commands. */
  readonly lost: readonly (readonly Cmd[])[];
  /** The DR's own commands after the failover. */
  readonly dr: readonly Cmd[];
  readonly disjoint: boolean;
  /** The schema's foreign keys (default DEFAULT_FKS). */
  readonly fks?: FkActions;
  /**
   * shop.tags (a table without a key) and its rows at the failover; absent: no such table. `wide`:
   * the table has a nullable unique `code` and a TEXT `note` (tagsTable), and the primary logs its
   * images as `images` says; a base row its unique key refuses is left out.
   */
  readonly keyless?: { readonly base: readonly TagValue[]; readonly caseVariants: boolean; readonly wide?: { readonly unique: TagUnique; readonly images: TagImages } };
}

export interface Incident {
  readonly spec: IncidentSpec;
  /** The DR (and the primary) at the failover. */
  readonly base: InMemoryDr;
  /** The DR after its own history: what salvage meets. */
  readonly dr: InMemoryDr;
  /** The failed primary after its lost history. */
  readonly primary: InMemoryDr;
  /** The lost history as the binlog holds it (transactions that changed no row are not logged). */
  readonly lost: Transaction[];
  /** The DR's own history as its binlog holds it: one transaction per command, server id 2, no GTID. */
  readonly drLog: Transaction[];
  /** Rows (`table#id`) whose current record the DR created after the failover. */
  readonly drCreated: ReadonlySet<string>;
  /** The schema's foreign keys. */
  readonly fks: FkActions;
}

const NAMES = ['ann', 'bob', 'cy', 'dee', 'eve', 'fay', 'gus', 'hal'];
type Side = 'lost' | 'dr';

function email(side: Side, disjoint: boolean, n: number, variant: number): string {
  const name = disjoint ? (NAMES[(side === 'lost' ? 4 : 6) + (n % 2)] as string) : (NAMES[n % 6] as string);
  if (side === 'lost') return variant % 2 === 0 ? `${name}@x` : `${name[0]?.toUpperCase() ?? ''}${name.slice(1)}@x`;
  return variant % 2 === 0 ? `${name.toUpperCase()}@X` : `${name[0] ?? ''}${name.slice(1).toUpperCase()}@X`;
}
const personName = (side: Side, n: number): string => `${side === 'lost' ? 'L' : 'D'}${n}`;
const total = (side: Side, n: number): number => (side === 'lost' ? 100 : 200) + (n % 50);
const body = (side: Side, n: number): string => `${side === 'lost' ? 'l' : 'd'}${n}`;

/** Runs one side's commands against its own database, logging row changes with full images. */
class Application {
  readonly #db: InMemoryDr;
  readonly #side: Side;
  readonly #disjoint: boolean;
  /** Disjoint mode: the rows (`table#id`) this side may touch. */
  readonly #owned: Set<string> | null;
  readonly #fks: FkActions;
  readonly #maps: ReadonlyMap<string, TableMap>;
  readonly #caseVariants: boolean;
  /** A wide shop.tags: how this side logs its images (the DR's own history: FULL). */
  readonly #tagImages: TagImages | null;
  #offset = 0;

  constructor(db: InMemoryDr, side: Side, disjoint: boolean, owned: Set<string> | null, fks: FkActions, maps: ReadonlyMap<string, TableMap>, caseVariants = true, tagImages: TagImages | null = null) {
    this.#caseVariants = caseVariants;
    this.#tagImages = tagImages;
    this.#db = db;
    this.#side = side;
    this.#disjoint = disjoint;
    this.#owned = owned;
    this.#fks = fks;
    this.#maps = maps;
  }

  run(cmd: Cmd): RowChange[] {
    const out: RowChange[] = [];
    const db = this.#db;
    const side = this.#side;
    switch (cmd.k) {
      case 'insCustomer': {
        const e = email(side, this.#disjoint, cmd.email, cmd.variant);
        if (db.holder(CUSTOMERS, 'uk_email', [e]) !== null) break;
        this.#insert(CUSTOMERS, (id) => [id, e, personName(side, cmd.name)], out);
        break;
      }
      case 'insOrder': {
        const c = this.#pick(CUSTOMERS, cmd.customer);
        if (c !== null) this.#insert(ORDERS, (id) => [id, c[0], total(side, cmd.total)], out);
        break;
      }
      case 'insNote': {
        const o = this.#pick(ORDERS, cmd.order);
        if (o !== null) this.#insert(NOTES, (id) => [id, o[0], body(side, cmd.body)], out);
        break;
      }
      case 'setEmail': {
        const c = this.#pick(CUSTOMERS, cmd.customer);
        const e = email(side, this.#disjoint, cmd.email, cmd.variant);
        if (c === null || c[1] === e) break;
        const holder = db.holder(CUSTOMERS, 'uk_email', [e]);
        if (holder !== null && holder[0] !== c[0]) break;
        this.#update(CUSTOMERS, c, { email: e }, out);
        break;
      }
      case 'setName': {
        const c = this.#pick(CUSTOMERS, cmd.customer);
        const name = personName(side, cmd.name);
        if (c !== null && c[2] !== name) this.#update(CUSTOMERS, c, { name }, out);
        break;
      }
      case 'setTotal': {
        const o = this.#pick(ORDERS, cmd.order);
        const t = total(side, cmd.total);
        if (o !== null && o[2] !== t) this.#update(ORDERS, o, { total: t }, out);
        break;
      }
      case 'moveOrder': {
        const o = this.#pick(ORDERS, cmd.order);
        const c = this.#pick(CUSTOMERS, cmd.customer);
        if (o !== null && c !== null && o[1] !== c[0]) this.#update(ORDERS, o, { customer_id: c[0] as number }, out);
        break;
      }
      case 'delNote': {
        const n = this.#pick(NOTES, cmd.note);
        if (n !== null) this.#delete(NOTES, n, out);
        break;
      }
      case 'delOrder': {
        // The application removes an order's notes first where the server would not (a logical
        // reference) or would refuse (RESTRICT); a CASCADE or SET NULL key does it unlogged, and
        // with no reference at all (`none`) the notes stay.
        const o = this.#pick(ORDERS, cmd.order);
        if (o === null) break;
        if (this.#fks.note === 'logical' || this.#fks.note === 'RESTRICT') for (const n of db.rows(NOTES)) if (n[1] === o[0]) this.#delete(NOTES, n, out);
        this.#delete(ORDERS, o, out);
        break;
      }
      case 'delCustomer': {
        // fk_customer RESTRICT: a customer with orders stays. CASCADE: the server deletes its orders
        // (unlogged), so the application first removes those orders' notes where it would not follow.
        const c = this.#pick(CUSTOMERS, cmd.customer);
        if (c === null) break;
        const orders = db.rows(ORDERS).filter((o) => o[1] === c[0]);
        if (orders.length > 0 && this.#fks.customer === 'RESTRICT') break;
        if (this.#fks.customer === 'CASCADE' && (this.#fks.note === 'logical' || this.#fks.note === 'RESTRICT')) {
          for (const n of db.rows(NOTES)) if (orders.some((o) => o[0] === n[1])) this.#delete(NOTES, n, out);
        }
        this.#delete(CUSTOMERS, c, out);
        break;
      }
      case 'reuseCustomer': {
        const c = this.#pick(CUSTOMERS, cmd.customer);
        const e = email(side, this.#disjoint, cmd.email, cmd.variant);
        if (c === null || db.rows(ORDERS).some((o) => o[1] === c[0])) break;
        const holder = db.holder(CUSTOMERS, 'uk_email', [e]);
        if (holder !== null && holder[0] !== c[0]) break;
        this.#delete(CUSTOMERS, c, out);
        // Another person who happens to share the old record's name: only the email tells them apart.
        const row: RowImage = [c[0], e, c[2] as string];
        db.insert(CUSTOMERS, row);
        this.created.add(`${CUSTOMERS}#${String(row[0])}`);
        out.push(this.#change('insert', CUSTOMERS, null, row));
        break;
      }
      case 'bounceName': {
        const c = this.#pick(CUSTOMERS, cmd.customer);
        const name = personName(side, cmd.name);
        if (c === null || c[2] === name) break;
        this.#update(CUSTOMERS, c, { name }, out);
        this.#update(CUSTOMERS, db.row(CUSTOMERS, [c[0] as number]) as RowImage, { name: c[2] as string }, out);
        break;
      }
      case 'insTag': {
        const row = tagRow(cmd.tag, this.#caseVariants, this.#tagImages !== null);
        try {
          db.insert(TAGS, row);
        } catch (e) {
          if (refusedUnique(e)) break;
          throw e;
        }
        out.push(this.#change('insert', TAGS, null, row));
        break;
      }
      case 'setTag': {
        // The application changes one particular row: a copy of the value it read (any copy is the same row value).
        const rows = db.rows(TAGS);
        const old = rows[cmd.row % Math.max(1, rows.length)];
        if (old === undefined) break;
        const drawn = tagRow(cmd.tag, this.#caseVariants, this.#tagImages !== null);
        const cols = (cmd.cols ?? 0) % 16;
        const next = cols === 0 ? drawn : old.map((v, i) => (((cols >> i) & 1) === 1 ? drawn[i] : v));
        if (next.every((v, i) => v === old[i])) break;
        const set = Object.fromEntries(TAG_COLUMNS.slice(0, next.length).map((name, i) => [name, next[i] as string | number | null]));
        let before: RowImage;
        try {
          before = db.updateByImage(TAGS, old, set, { exact: true });
        } catch (e) {
          if (refusedUnique(e)) break;
          throw e;
        }
        out.push(this.#tagChange('update', before, next, (i) => cols === 0 || ((cols >> i) & 1) === 1));
        break;
      }
      case 'delTag': {
        const rows = db.rows(TAGS);
        const old = rows[cmd.row % Math.max(1, rows.length)];
        if (old === undefined) break;
        out.push(this.#tagChange('delete', db.deleteByImage(TAGS, old, { exact: true }), null, () => false));
        break;
      }
    }
    return out;
  }

  /** Rows (`table#id`) this side inserted (and still holds, as far as `delete` keeps it). */
  readonly created = new Set<string>();

  #pick(table: string, n: number): RowImage | null {
    const rows = this.#db.rows(table).filter((r) => this.#owned === null || this.#owned.has(`${table}#${String(r[0])}`));
    return rows.length === 0 ? null : (rows[n % rows.length] as RowImage);
  }

  #insert(table: string, make: (id: number) => RowImage, out: RowChange[]): void {
    const row = make(this.#db.allocate(table));
    this.#db.insert(table, row);
    this.created.add(`${table}#${String(row[0])}`);
    this.#owned?.add(`${table}#${String(row[0])}`);
    out.push(this.#change('insert', table, null, row));
  }

  #update(table: string, row: RowImage, set: Record<string, string | number>, out: RowChange[]): void {
    const before = this.#db.update(table, [row[0] as number], set);
    out.push(this.#change('update', table, before, this.#db.row(table, [row[0] as number])));
  }

  /** With the server's checks on: its ON DELETE actions happen too, and only this row is logged. */
  #delete(table: string, row: RowImage, out: RowChange[]): void {
    const { row: before, effects } = this.#db.deleteCascading(table, [row[0] as number]);
    this.created.delete(`${table}#${String(row[0])}`);
    for (const e of effects) if (e.action === 'delete') this.created.delete(`${e.table}#${String(e.row[0])}`);
    out.push(this.#change('delete', table, before, null));
  }

  /** A change of shop.tags by a statement setting the columns `sets` names, its images as this side logs them (loggedTagImages). */
  #tagChange(op: RowChange['op'], before: RowImage | null, after: RowImage | null, sets: (column: number) => boolean): RowChange {
    const logged = this.#tagImages === null ? { before, after } : loggedTagImages(this.#tagImages, before, after, sets);
    return this.#change(op, TAGS, logged.before, logged.after);
  }

  #change(op: RowChange['op'], table: string, before: RowImage | null, after: RowImage | null): RowChange {
    this.#offset += 40;
    return { op, table: this.#maps.get(table) as TableMap, before, after, eventOffset: this.#offset };
  }
}

const UUID = '3e11fa47-71ca-11e1-9e33-c80aa9429562';

/** A lost transaction as the decoder would emit it. */
export function transaction(gno: number, changes: RowChange[]): Transaction {
  const pos = 4 + (gno - 1) * 1000;
  return {
    gtid: { flavor: 'mysql', uuid: UUID, tag: null, gno: BigInt(gno) },
    file: 'mysql-bin.000002',
    pos,
    end: pos + 999,
    timestamp: 1_700_000_000 + gno,
    serverId: 1,
    changes,
    statements: [],
    annotations: [],
    statementMarks: [],
    xid: BigInt(gno),
    commit: 'xid',
  };
}

/** Builds the incident `spec` describes (deterministic). */
export function buildIncident(spec: IncidentSpec): Incident {
  const fks = spec.fks ?? DEFAULT_FKS;
  const wide = spec.keyless?.wide;
  const tables = spec.keyless === undefined ? tablesFor(fks) : [...tablesFor(fks), wide === undefined ? TAGS_TABLE : tagsTable(wide.unique)];
  const maps = mapsFor(tables);
  const base = new InMemoryDr(tables, logicalFor(fks));
  const caseVariants = spec.keyless?.caseVariants ?? true;
  for (const v of spec.keyless?.base ?? []) {
    try {
      base.insert(TAGS, tagRow(v, caseVariants, wide !== undefined));
    } catch (e) {
      if (!refusedUnique(e)) throw e;
    }
  }
  for (let i = 0; i < spec.baseCustomers; i++) base.insert(CUSTOMERS, [base.allocate(CUSTOMERS), `${NAMES[i] ?? `c${i}`}@x`, `B${i}`]);
  const customers = base.rows(CUSTOMERS);
  for (const o of spec.baseOrders) {
    const c = customers[o.customer % Math.max(1, customers.length)];
    if (c !== undefined) base.insert(ORDERS, [base.allocate(ORDERS), c[0], 1 + (o.total % 99)]);
  }
  const orders = base.rows(ORDERS);
  for (const n of spec.baseNotes) {
    const o = orders[n.order % Math.max(1, orders.length)];
    if (o !== undefined) base.insert(NOTES, [base.allocate(NOTES), o[0], `b${n.body}`]);
  }

  // Disjoint mode: odd customers (and their orders and notes) are the primary's, even ones the DR's.
  let lostOwned: Set<string> | null = null;
  let drOwned: Set<string> | null = null;
  if (spec.disjoint) {
    lostOwned = new Set();
    drOwned = new Set();
    const ownerOf = new Map<string, Set<string>>();
    for (const c of base.rows(CUSTOMERS)) ownerOf.set(`${CUSTOMERS}#${String(c[0])}`, (c[0] as number) % 2 === 1 ? lostOwned : drOwned);
    for (const o of base.rows(ORDERS)) ownerOf.set(`${ORDERS}#${String(o[0])}`, ownerOf.get(`${CUSTOMERS}#${String(o[1])}`) as Set<string>);
    for (const n of base.rows(NOTES)) ownerOf.set(`${NOTES}#${String(n[0])}`, ownerOf.get(`${ORDERS}#${String(n[1])}`) as Set<string>);
    for (const [k, owner] of ownerOf) owner.add(k);
  }

  const primary = base.clone();
  const app = new Application(primary, 'lost', spec.disjoint, lostOwned, fks, maps, caseVariants, wide?.images ?? null);
  const lost: Transaction[] = [];
  for (const cmds of spec.lost) {
    const changes = cmds.flatMap((c) => app.run(c));
    if (changes.length > 0) lost.push(transaction(lost.length + 1, changes));
  }

  const dr = base.clone();
  if (spec.disjoint) for (const t of [CUSTOMERS, ORDERS, NOTES]) dr.setAutoIncrement(t, dr.autoIncrementNext(t) + 100n);
  const drApp = new Application(dr, 'dr', spec.disjoint, drOwned, fks, maps, caseVariants, wide === undefined ? null : { kind: 'full' });
  const drLog: Transaction[] = [];
  for (const c of spec.dr) {
    const changes = drApp.run(c);
    if (changes.length > 0) drLog.push({ ...transaction(drLog.length + 1, changes), gtid: null, serverId: 2, file: 'dr-bin.000001' });
  }
  return { spec, base, dr, primary, lost, drLog, drCreated: drApp.created, fks };
}

const pick = fc.nat({ max: 7 });

/** Application commands, inserts weighted up so ids collide often; `deletes` weighs each delete command. */
function commands(deletes: number): fc.Arbitrary<Cmd> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ k: fc.constant('insCustomer' as const), email: fc.nat({ max: 5 }), variant: fc.nat({ max: 1 }), name: pick }) },
    { weight: 4, arbitrary: fc.record({ k: fc.constant('insOrder' as const), customer: pick, total: pick }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('insNote' as const), order: pick, body: pick }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('setEmail' as const), customer: pick, email: fc.nat({ max: 5 }), variant: fc.nat({ max: 1 }) }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('setName' as const), customer: pick, name: pick }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('setTotal' as const), order: pick, total: pick }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('moveOrder' as const), order: pick, customer: pick }) },
    { weight: deletes, arbitrary: fc.record({ k: fc.constant('delNote' as const), note: pick }) },
    { weight: deletes, arbitrary: fc.record({ k: fc.constant('delOrder' as const), order: pick }) },
    { weight: deletes, arbitrary: fc.record({ k: fc.constant('delCustomer' as const), customer: pick }) },
  );
}

/** One application command, inserts weighted up so ids collide often. */
export const commandArbitrary: fc.Arbitrary<Cmd> = commands(1);

/** The DR's own commands with what only its binlog tells apart: an id given to a new record, a change undone. */
export const drCommandArbitrary: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 8, arbitrary: commandArbitrary },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('reuseCustomer' as const), customer: pick, email: fc.nat({ max: 5 }), variant: fc.nat({ max: 1 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('bounceName' as const), customer: pick, name: pick }) },
);

/** Any foreign-key schema of FkActions. */
export const fkActionsArbitrary: fc.Arbitrary<FkActions> = fc.record({
  customer: fc.constantFrom('RESTRICT' as const, 'CASCADE' as const, 'SET NULL' as const),
  note: fc.constantFrom('logical' as const, 'none' as const, 'RESTRICT' as const, 'CASCADE' as const, 'SET NULL' as const),
});

const tagValue: fc.Arbitrary<TagValue> = fc.record({ label: fc.nat({ max: 1 }), variant: fc.nat({ max: 1 }), qty: fc.nat({ max: 2 }) });

/** shop.tags commands: inserts, and changes and deletes of a row picked modulo the rows there are. */
export const tagCommandArbitrary: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('insTag' as const), tag: tagValue }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('setTag' as const), row: pick, tag: tagValue }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('delTag' as const), row: pick }) },
);

/** A wide shop.tags value: code NULL a quarter of the time, one of three values (two equal under the collation) else. */
const wideTagValue: fc.Arbitrary<TagValue> = fc.record({ label: fc.nat({ max: 1 }), variant: fc.nat({ max: 1 }), qty: fc.nat({ max: 2 }), code: fc.nat({ max: 3 }), note: fc.nat({ max: 2 }) });

/** A wide shop.tags' commands; an update sets some columns (`cols`), so one that changes only `note`, or only `code`, is common. */
const wideTagCommandArbitrary: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('insTag' as const), tag: wideTagValue }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('setTag' as const), row: pick, tag: wideTagValue, cols: fc.nat({ max: 15 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('delTag' as const), row: pick }) },
);

/** How the primary logs a wide shop.tags (TagImages): FULL, NOBLOB, or MINIMAL over any set of columns. */
const tagImagesArbitrary: fc.Arbitrary<TagImages> = fc.oneof(
  fc.constant({ kind: 'full' as const }),
  fc.constant({ kind: 'noblob' as const }),
  fc.record({ kind: fc.constant('minimal' as const), before: fc.nat({ max: 15 }) }),
);

/**
 * Incident specs; `disjoint` makes the DR's history share no row or key with the lost one; `reuse`
 * lets the DR give ids to new records and undo changes (drCommandArbitrary); `cascade` draws the
 * foreign keys' ON DELETE rules (fkActionsArbitrary) and weighs the lost deletes up, so lost
 * parent deletes meet children on the DR (the lost history's own cascades unlogged). `keyless` adds
 * shop.tags (no key) with base rows and tag commands on both sides, weighted up; its `drTags: false`
 * keeps the DR's own history off the table, `caseVariants: false` keeps labels lower-case. Without
 * `cascade` or `keyless` the stream of specs is what it always was (kept seeds hold).
 */
export function incidentArbitrary(
  options: {
    readonly disjoint?: boolean;
    readonly maxTransactions?: number;
    readonly reuse?: boolean;
    readonly cascade?: boolean;
    readonly keyless?: boolean | KeylessOptions;
  } = {},
): fc.Arbitrary<IncidentSpec> {
  if (options.keyless !== undefined && options.keyless !== false) return keylessArbitrary(options, options.keyless === true ? {} : options.keyless);
  const cascade = options.cascade === true;
  const lostCommands = cascade ? commands(3) : commandArbitrary;
  // Cascades need children: more base orders and notes, over fewer customers.
  const spec = fc.record({
    baseCustomers: fc.integer({ min: 1, max: cascade ? 3 : 4 }),
    baseOrders: fc.array(fc.record({ customer: pick, total: fc.nat({ max: 98 }) }), { maxLength: cascade ? 6 : 4 }),
    baseNotes: fc.array(fc.record({ order: pick, body: pick }), { maxLength: cascade ? 5 : 3 }),
    lost: fc.array(fc.array(lostCommands, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: options.maxTransactions ?? 6 }),
    dr: fc.array(options.reuse === true ? drCommandArbitrary : commandArbitrary, { maxLength: 6 }),
    disjoint: fc.constant(options.disjoint ?? false),
  });
  if (options.cascade !== true) return spec;
  return fc.tuple(spec, fkActionsArbitrary).map(([s, fks]) => ({ ...s, fks }));
}

/**
 * DR rows (`table#id`, shop.tags left out) that no lost change names — by the id in its before or after image, or in
 * `alsoNamed` (a remap's fresh keys) — and that `final` holds otherwise than the DR did before the
 * run (changed, or gone), each described.
 */
export function unnamedRowChanges(inc: Incident, final: InMemoryDr, alsoNamed: Iterable<string> = []): Map<string, string> {
  const names = new Set<string>(alsoNamed);
  for (const tx of inc.lost) for (const c of tx.changes) for (const img of [c.before, c.after]) if (img !== null) names.add(`${c.table.schema}.${c.table.table}#${String(img[0])}`);
  const out = new Map<string, string>();
  for (const [table, rows] of Object.entries(inc.dr.snapshot())) {
    // A keyless table's rows have no id to name them by (keyless.property.test.ts counts them by value).
    if (table === TAGS) continue;
    for (const row of rows) {
      const id = `${table}#${String(row[0])}`;
      if (names.has(id)) continue;
      const now = final.row(table, [row[0] as number]);
      if (JSON.stringify(now) !== JSON.stringify(row)) out.set(id, `${id} ${JSON.stringify(row)} became ${JSON.stringify(now)}`);
    }
  }
  return out;
}

/**
 * incidentArbitrary's `keyless` options: `drTags` false keeps the DR's own history off shop.tags,
 * `caseVariants` false keeps labels (and codes) lower-case, `wide` widens the table (a nullable
 * unique `code`, a TEXT `note`) and draws how the primary logs its images (TagImages).
 */
export interface KeylessOptions {
  readonly drTags?: boolean;
  readonly caseVariants?: boolean;
  readonly wide?: boolean;
}

/** incidentArbitrary with `keyless`: the shop's commands and shop.tags', mixed in transactions. */
function keylessArbitrary(options: { readonly disjoint?: boolean; readonly maxTransactions?: number }, keyless: KeylessOptions): fc.Arbitrary<IncidentSpec> {
  if (keyless.wide === true) return wideKeylessArbitrary(options, keyless);
  const lostCommands = fc.oneof({ weight: 1, arbitrary: commandArbitrary }, { weight: 2, arbitrary: tagCommandArbitrary });
  const drCommands = keyless.drTags === false ? commandArbitrary : fc.oneof({ weight: 1, arbitrary: commandArbitrary }, { weight: 2, arbitrary: tagCommandArbitrary });
  return fc.record({
    baseCustomers: fc.integer({ min: 1, max: 3 }),
    baseOrders: fc.array(fc.record({ customer: pick, total: fc.nat({ max: 98 }) }), { maxLength: 3 }),
    baseNotes: fc.array(fc.record({ order: pick, body: pick }), { maxLength: 2 }),
    lost: fc.array(fc.array(lostCommands, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: options.maxTransactions ?? 6 }),
    dr: fc.array(drCommands, { maxLength: 6 }),
    disjoint: fc.constant(options.disjoint ?? false),
    keyless: fc.record({ base: fc.array(tagValue, { maxLength: 6 }), caseVariants: fc.constant(keyless.caseVariants ?? true) }),
  });
}

/**
 * keylessArbitrary with `wide`: shop.tags' commands weighted further up (the shop's few, so the
 * unique values and partial images are what the runs spend their time on), base rows up to 7.
 */
function wideKeylessArbitrary(options: { readonly disjoint?: boolean; readonly maxTransactions?: number }, keyless: KeylessOptions): fc.Arbitrary<IncidentSpec> {
  const lostCommands = fc.oneof({ weight: 1, arbitrary: commandArbitrary }, { weight: 4, arbitrary: wideTagCommandArbitrary });
  const drCommands = keyless.drTags === false ? commandArbitrary : fc.oneof({ weight: 1, arbitrary: commandArbitrary }, { weight: 4, arbitrary: wideTagCommandArbitrary });
  return fc.record({
    baseCustomers: fc.integer({ min: 1, max: 2 }),
    baseOrders: fc.array(fc.record({ customer: pick, total: fc.nat({ max: 98 }) }), { maxLength: 2 }),
    baseNotes: fc.array(fc.record({ order: pick, body: pick }), { maxLength: 1 }),
    lost: fc.array(fc.array(lostCommands, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: options.maxTransactions ?? 6 }),
    dr: fc.array(drCommands, { maxLength: 6 }),
    disjoint: fc.constant(options.disjoint ?? false),
    keyless: fc.record({
      base: fc.array(wideTagValue, { maxLength: 7 }),
      caseVariants: fc.constant(keyless.caseVariants ?? true),
      wide: fc.record({ unique: fc.constantFrom<TagUnique>('code', 'label-code'), images: tagImagesArbitrary }),
    }),
  });
}
