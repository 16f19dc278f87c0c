/**
 * Builds the DR's own history since the failover (model/dr-history.ts) from the DR's decoded
 * transactions, fed in binlog order: finds the failover point, drops what is not the DR's own
 * post-failover writing (the primary's events, replays of them, the salvage engine's own writes),
 * and folds each row change into what classification needs per table and primary key.
 *
 * Pure and synchronous: the caller reads the binlog (src/source/dr-history-reader.ts) and hands
 * over a spill port for histories larger than `maxEntries`.
 */
import type { ColumnValue, RowImage } from '../binlog/column.js';
import type { TableMap } from '../binlog/event.js';
import { gtidText, type Transaction } from '../binlog/transaction.js';
import { EngineError } from '../errors.js';
import type { DrHistory, FailoverAt, FailoverPoint, HistoryAt, HistorySpill, HistoryTableSummary, RowHistory } from '../model/dr-history.js';
import { redactSecrets } from '../model/redact-secrets.js';
import { rowKey } from '../model/row-key.js';
import type { SchemaCatalog } from '../model/table-schema.js';
import { columnPositions, matchesByName, typeMismatch } from './column-match.js';
import { sameValue, uniqueFold, type ComparedColumn } from './value-equality.js';

/** Stable codes of history failures. */
export const DrHistoryErrorCode = {
  /** `--failover-at GTID` names a transaction the DR binlog given does not hold. */
  FailoverNotFound: 'DR_HISTORY_FAILOVER_NOT_FOUND',
  /**
   * `--failover-at FILE:POS` outside the DR binlog read (a file not read, past a file's end, inside
   * a transaction), or `--failover-at TIME` in the future: the history would be cut at a point the
   * DR's binlog does not have, and could say the DR wrote nothing.
   */
  FailoverOutside: 'DR_HISTORY_FAILOVER_OUTSIDE',
  /**
   * The lost transactions carry the DR's own identity (its server id, or server_uuid): the DR's
   * binlog cannot tell what it received from what it wrote, so `--failover-at` must say.
   */
  FailoverNeeded: 'DR_HISTORY_FAILOVER_NEEDED',
  /**
   * `--failover-at GTID` names a transaction the DR wrote itself (its server id, or server_uuid),
   * where the option takes the last one it received: the DR's own writes up to it would read as the
   * primary's and be left out of the history. Not raised when the DR shares the primary's identity.
   */
  FailoverOwn: 'DR_HISTORY_FAILOVER_OWN',
  /** A key was asked for whose entry is in the spill and was not prepared (a bug in the caller). */
  NotPrepared: 'DR_HISTORY_NOT_PREPARED',
  /** A transaction was fed after finish(). */
  Finished: 'DR_HISTORY_FINISHED',
} as const;
export type DrHistoryErrorCode = (typeof DrHistoryErrorCode)[keyof typeof DrHistoryErrorCode];

/** The DR's identity: `@@server_id`, and on MySQL `@@server_uuid` (null on MariaDB). */
export interface OwnIdentity {
  readonly serverId: number;
  readonly serverUuid: string | null;
}

export interface DrHistoryBuilderOptions {
  /** The DR's schema: primary keys, unique keys and their collations. */
  readonly catalog: SchemaCatalog;
  readonly own: OwnIdentity;
  /** The salvage engine's state schema: transactions touching it are the engine's, not the DR's history. Default 'salvage'. */
  readonly stateSchema?: string;
  /** `--failover-at`; default: the first transaction the DR wrote itself. */
  readonly failoverAt?: FailoverAt | null;
  /** Entries (per-key row records and unique values) held in memory before records go to `spill`. Default 1,000,000. */
  readonly maxEntries?: number;
  /** Where records go past `maxEntries`; without it, everything stays in memory. */
  readonly spill?: HistorySpill | null;
  /** Hash partitions of the spill: a `prepare` reads the partitions of the keys it asks for whole. Default 256. */
  readonly partitions?: number;
  /** Spilled keys kept folded in memory after `prepare` (the least recently prepared are dropped first, never those of the latest call). Default `maxEntries`. */
  readonly cacheEntries?: number;
  /** The time of the run (epoch seconds): `--failover-at TIME` after it is refused. Default: now. */
  readonly now?: number;
  /**
   * The lost transactions carry the DR's own identity (it kept the primary's server id or
   * server_uuid): everything it received reads as its own, so a `--failover-at` GTID of its
   * identity is the point there, and refused otherwise (FailoverOwn). Default false.
   */
  readonly sharedIdentity?: boolean;
}

const DEFAULT_MAX_ENTRIES = 1_000_000;
const DEFAULT_PARTITIONS = 256;
const MAX_HOLES_SHOWN = 10;

/** How a transaction was recognised as the DR's own. */
type OwnMatch = 'gtid-server-id' | 'gtid-uuid' | 'header-server-id';

/** A history entry while it is built; handed out read-only as a RowHistory. */
interface Entry {
  insertedByDr: boolean;
  existedAtFailover: boolean;
  deletedByDr: boolean;
  changedColumns: ReadonlySet<string>;
  first: HistoryAt;
  last: HistoryAt;
}

/** One row operation as folded (and as a spill line carries it): 'i'nsert, 'u'pdate with the changed columns, 'd'elete. */
type Op = { readonly op: 'i' | 'd'; readonly at: HistoryAt } | { readonly op: 'u'; readonly at: HistoryAt; readonly columns: readonly string[] };

/** Shared by every entry nothing updated: entries are copied on their first update. */
const NO_COLUMNS: ReadonlySet<string> = new Set<string>();

/** Folds one operation into the entry of its key (undefined: the key's first operation). */
function fold(e: Entry | undefined, o: Op): Entry {
  if (e === undefined) {
    e = { insertedByDr: false, existedAtFailover: o.op !== 'i', deletedByDr: false, changedColumns: NO_COLUMNS, first: o.at, last: o.at };
  }
  e.last = o.at;
  switch (o.op) {
    case 'i':
      e.insertedByDr = true;
      e.deletedByDr = false;
      e.changedColumns = NO_COLUMNS;
      break;
    case 'd':
      e.deletedByDr = true;
      e.insertedByDr = false;
      break;
    case 'u':
      if (o.columns.length > 0) {
        const cols = new Set(e.changedColumns);
        for (const c of o.columns) cols.add(c);
        e.changedColumns = cols;
      }
      break;
  }
  return e;
}

/** What is known of one DR table while the history is built. */
interface TableTrack {
  readonly name: string;
  readonly rows: Map<string, Entry>;
  /** `keyName \0 folded` → the transaction that last took the value. */
  readonly uniques: Map<string, HistoryAt>;
  inserted: number;
  updated: number;
  deleted: number;
  /** Why the table's history is not kept, or null while it is. */
  untracked: string | null;
}

/** How row images of one TABLE_MAP are read against the DR's schema, built once per map (STYLE.md rule 6). */
interface MapPlan {
  readonly track: TableTrack;
  /** Column name per image position (null: a column the DR's schema does not have). */
  readonly names: readonly (string | null)[];
  readonly compared: readonly ComparedColumn[];
  readonly pk: readonly number[];
  readonly uniques: readonly { readonly name: string; readonly positions: readonly number[]; readonly collations: readonly (string | null)[] }[];
}

/**
 * Spill lines are `<id as JSON> TAB <record as JSON>`: a JSON string never holds a raw tab, so a
 * reader can tell whether a line is one it wants before it parses the record. Ids: `r\0table\0pk`
 * for a row record, `u\0table\0keyName\0folded` for a unique value.
 */
const rowId = (table: string, pk: string): string => `r\u0000${table}\u0000${pk}`;
const uniqueId = (table: string, nameAndFolded: string): string => `u\u0000${table}\u0000${nameAndFolded}`;

/** Transactions counted on one side of the failover point. */
class SideStats {
  transactions = 0;
  readonly serverIds = new Map<number, number>();
  readonly uuids = new Set<string>();
  readonly domains = new Set<number>();

  add(tx: Transaction): void {
    this.transactions++;
    this.serverIds.set(tx.serverId, (this.serverIds.get(tx.serverId) ?? 0) + 1);
    if (tx.gtid?.flavor === 'mariadb') this.domains.add(tx.gtid.domainId);
    else if (tx.gtid?.flavor === 'mysql') this.uuids.add(tx.gtid.uuid.toLowerCase());
  }

  describe(): string {
    const ids = [...this.serverIds].sort((a, b) => a[0] - b[0]).map(([id, n]) => `${id} (${n})`);
    const parts = [`server ids ${ids.join(', ') || 'none'}`];
    if (this.domains.size > 0) parts.push(`GTID domains ${[...this.domains].sort((a, b) => a - b).join(', ')}`);
    if (this.uuids.size > 0) parts.push(`server uuids ${[...this.uuids].sort().join(', ')}`);
    return parts.join('; ');
  }
}

type TxPlace = { readonly file: string; readonly pos: number; readonly at: HistoryAt; readonly timestamp: number; readonly serverId: number };

/** The last path segment: transactions read from files carry paths, live ones the server's names. */
function fileName(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i < 0 ? path : path.slice(i + 1);
}

/** Where a DR transaction sits: its GTID, else `file:pos`. */
export function historyAt(tx: Transaction): HistoryAt {
  return tx.gtid === null ? `${fileName(tx.file)}:${tx.pos}` : gtidText(tx.gtid);
}

function place(tx: Transaction): TxPlace {
  return { file: fileName(tx.file), pos: tx.pos, at: historyAt(tx), timestamp: tx.timestamp, serverId: tx.serverId };
}

/**
 * Orders binlog names as servers number them (`dr-bin.000009` < `dr-bin.000010`): the same base
 * compared by its numeric extension, anything else by name.
 */
export function compareBinlogFiles(a: string, b: string): number {
  const ma = /^(.*)\.(\d+)$/.exec(a);
  const mb = /^(.*)\.(\d+)$/.exec(b);
  if (ma && mb && ma[1] === mb[1]) {
    const d = BigInt(ma[2]!) - BigInt(mb[2]!);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function utc(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** FNV-1a, 32 bits: spreads keys over the spill's partitions. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Statements that change rows without row events: the history cannot know which keys they touched. */
const ROWS_WITHOUT_EVENTS = /^(?:\s|\/\*.*?\*\/)*(INSERT|UPDATE|DELETE|REPLACE|LOAD\s+DATA|TRUNCATE|DROP\s+TABLE)\b/is;

/**
 * Builds a DrHistory from the DR's transactions, in binlog order. `add` each transaction (own or
 * not: the builder finds the failover point), then `finish` once.
 */
export class DrHistoryBuilder {
  readonly #catalog: SchemaCatalog;
  readonly #own: OwnIdentity;
  readonly #ownUuid: string | null;
  readonly #stateSchema: string;
  readonly #stateDdl: RegExp;
  readonly #failoverAt: FailoverAt | null;
  readonly #maxEntries: number;
  readonly #spill: HistorySpill | null;
  readonly #partitions: number;
  readonly #cacheEntries: number;

  readonly #tables = new Map<string, TableTrack>();
  /** Per TABLE_MAP: its table, and how its images are read (null: the table is not tracked). */
  readonly #plans = new WeakMap<TableMap, { readonly track: TableTrack; readonly plan: MapPlan | null }>();
  #entries = 0;
  #spilledEntries = 0;
  readonly #spilled = new Set<number>();

  // The failover point and the evidence behind it.
  #pointFound = false;
  #positionPassed = false;
  #lastNonOwn: TxPlace | null = null;
  #lastReceived: TxPlace | null = null;
  #firstOwn: TxPlace | null = null;
  #ownMatch: OwnMatch | null = null;
  #overrideFoundAt: TxPlace | null = null;
  /** `--failover-at GTID` found on a transaction of the DR's own: where it ends, for the refusal. */
  #overrideOwnEnd: number | null = null;
  readonly #sharedIdentity: boolean;
  /** Per file name read, how far: where `--failover-at FILE:POS` may point. */
  readonly #readTo = new Map<string, number>();
  /** The transaction `--failover-at FILE:POS` points inside, if it does. */
  #positionInside: { readonly at: HistoryAt; readonly pos: number; readonly end: number } | null = null;
  readonly #now: number;
  #firstFile: string | null = null;
  #lastFile: string | null = null;
  readonly #before = new SideStats();
  readonly #after = new SideStats();
  #ownBeforePoint = 0;
  readonly #replayed = new SideStats();
  #engineTransactions = 0;
  /** The engine's transactions under another server's GTID (`--keep-gtids` commits each lost one under the primary's). */
  #engineUnderSource = 0;
  #historyTransactions = 0;
  readonly #holes: string[] = [];
  #earlierOwn: { readonly file: string; readonly gtids: string } | null = null;
  /** Whether finish() has weighed #earlierOwn (a history finished again after more reading says it once). */
  #earlierWeighed = false;
  #leadingHole = false;
  readonly #warnings: string[] = [];
  readonly #warnedUniques = new Set<string>();
  #finished = false;

  constructor(options: DrHistoryBuilderOptions) {
    this.#catalog = options.catalog;
    this.#own = options.own;
    this.#ownUuid = options.own.serverUuid === null ? null : options.own.serverUuid.toLowerCase();
    this.#stateSchema = options.stateSchema ?? 'salvage';
    const quoted = '`' + this.#stateSchema.replaceAll('`', '``') + '`';
    const escaped = quoted.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // The engine's own DDL (db/state-schema.ts): CREATE DATABASE/TABLE IF NOT EXISTS `salvage`[.`t`].
    this.#stateDdl = new RegExp(`^\\s*(CREATE|ALTER|DROP)\\s+(DATABASE|SCHEMA|TABLE)\\s+(IF\\s+(NOT\\s+)?EXISTS\\s+)?${escaped}(\\.|\\s|$)`, 'i');
    this.#failoverAt = options.failoverAt ?? null;
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.#spill = options.spill ?? null;
    this.#partitions = options.partitions ?? DEFAULT_PARTITIONS;
    this.#cacheEntries = options.cacheEntries ?? this.#maxEntries;
    this.#now = options.now ?? Date.now() / 1000;
    this.#sharedIdentity = options.sharedIdentity ?? false;
  }

  /** How far `file` was read (the reader calls it as it goes; transactions read count too). */
  noteRead(file: string, position: number): void {
    const name = fileName(file);
    if (position > (this.#readTo.get(name) ?? 0)) this.#readTo.set(name, position);
  }

  /** Whether the DR wrote `tx` itself (its server id in a MariaDB GTID, its uuid in a MySQL GTID, else its server id in the event header). */
  isOwn(tx: Transaction): boolean {
    return this.#match(tx) !== null;
  }

  #match(tx: Transaction): OwnMatch | null {
    const g = tx.gtid;
    if (g?.flavor === 'mariadb') return g.serverId === this.#own.serverId ? 'gtid-server-id' : null;
    // Without the DR's uuid (not asked, or not MySQL) a MySQL GTID falls back to the header's server id.
    if (g?.flavor === 'mysql' && this.#ownUuid !== null) return g.uuid.toLowerCase() === this.#ownUuid ? 'gtid-uuid' : null;
    return tx.serverId === this.#own.serverId ? 'header-server-id' : null;
  }

  /**
   * Records a hole in what was read (a missing file between two given, a statement that changed
   * rows without row events): the history is then not complete.
   */
  noteGap(message: string): void {
    this.#holes.push(message);
  }

  /**
   * The first binlog read starts with a binlog state (MariaDB GTID_LIST, MySQL PREVIOUS_GTIDS) that
   * holds GTIDs of the DR's own: the DR wrote before it, in binlogs not given. A hole, unless the
   * failover point given lies inside the files read (then those writes came before it).
   */
  noteEarlierOwnWrites(file: string, gtids: string): void {
    this.#earlierOwn ??= { file, gtids };
  }

  /**
   * Takes transactions again after finish(): a followed DR keeps writing, and what it wrote since is
   * folded into the same entries; the next finish() returns the history as it then stands.
   */
  reopen(): void {
    this.#finished = false;
  }

  /** Feeds the next transaction of the DR's binlog. */
  add(tx: Transaction): void {
    if (this.#finished) throw new EngineError(DrHistoryErrorCode.Finished, 'internal: a DR transaction was fed after the history was finished', { file: tx.file, offset: tx.pos });
    const name = fileName(tx.file);
    this.#firstFile ??= name;
    this.#lastFile = name;
    this.noteRead(name, tx.end);
    const match = this.#match(tx);
    if (match === null && this.#isEngine(tx)) {
      // The engine's window committed under the source's GTID (`--keep-gtids`): neither received
      // from the primary (it would pass for the last one received) nor replayed by hand.
      this.#engineUnderSource++;
      return;
    }
    if (!this.#afterPoint(tx, match)) {
      this.#before.add(tx);
      if (match !== null) this.#ownBeforePoint++;
      else if (this.#firstOwn === null) this.#lastNonOwn = place(tx);
      return;
    }
    if (match === null) {
      // The primary's events applied after the failover (mysqlbinlog | mysql, a re-attached replica): not the DR's history.
      this.#replayed.add(tx);
      return;
    }
    this.#after.add(tx);
    if (this.#firstOwn === null) {
      this.#firstOwn = place(tx);
      this.#ownMatch = match;
      this.#lastReceived ??= this.#lastNonOwn;
    }
    if (this.#isEngine(tx)) {
      this.#engineTransactions++;
      return;
    }
    this.#historyTransactions++;
    for (const s of tx.statements) {
      if (ROWS_WITHOUT_EVENTS.test(s.sql)) {
        this.#holes.push(`${historyAt(tx)} at ${fileName(tx.file)}:${s.offset} changed rows by a logged statement, not row events (${redactSecrets(s.sql).slice(0, 80).replace(/\s+/g, ' ')}): which keys it touched is unknown`);
      }
    }
    const at = historyAt(tx);
    for (const c of tx.changes) this.#change(c.table, c.op, c.before, c.after, at, tx, c.eventOffset);
  }

  /** Whether `tx` is past the failover point (and, without an override, decides the point on the first own transaction). */
  #afterPoint(tx: Transaction, match: OwnMatch | null): boolean {
    const f = this.#failoverAt;
    if (f === null) {
      if (!this.#pointFound && match !== null) this.#pointFound = true;
      return this.#pointFound;
    }
    switch (f.kind) {
      case 'gtid':
        if (this.#pointFound) return true;
        if (tx.gtid !== null && gtidText(tx.gtid).toLowerCase() === f.gtid.toLowerCase()) {
          this.#pointFound = true;
          this.#overrideFoundAt = place(tx);
          this.#lastReceived = this.#overrideFoundAt;
          if (match !== null) this.#overrideOwnEnd = tx.end;
        }
        return false;
      case 'position': {
        if (fileName(tx.file) === f.file && tx.pos < f.pos && f.pos < tx.end) this.#positionInside ??= { at: historyAt(tx), pos: tx.pos, end: tx.end };
        if (!this.#positionPassed) {
          const c = compareBinlogFiles(fileName(tx.file), f.file);
          this.#positionPassed = c > 0 || (c === 0 && tx.pos >= f.pos);
        }
        return this.#positionPassed;
      }
      case 'time':
        return tx.timestamp >= f.seconds;
    }
  }

  #isEngine(tx: Transaction): boolean {
    for (const c of tx.changes) if (c.table.schema === this.#stateSchema) return true;
    return tx.changes.length === 0 && tx.statements.length > 0 && tx.statements.every((s) => s.schema === this.#stateSchema || this.#stateDdl.test(s.sql));
  }

  #track(name: string): TableTrack {
    let t = this.#tables.get(name);
    if (t === undefined) this.#tables.set(name, (t = { name, rows: new Map(), uniques: new Map(), inserted: 0, updated: 0, deleted: 0, untracked: null }));
    return t;
  }

  #untrack(t: TableTrack, reason: string): void {
    if (t.untracked !== null) return;
    t.untracked = reason;
    this.#warnings.push(`${t.name}: not tracked: ${reason}`);
  }

  #plan(map: TableMap, tx: Transaction, offset: number): { readonly track: TableTrack; readonly plan: MapPlan | null } {
    let known = this.#plans.get(map);
    if (known === undefined) {
      const track = this.#track(`${map.schema}.${map.table}`);
      known = { track, plan: this.#buildPlan(track, map, tx, offset) };
      this.#plans.set(map, known);
    }
    return known;
  }

  #buildPlan(track: TableTrack, map: TableMap, tx: Transaction, offset: number): MapPlan | null {
    if (track.untracked !== null) return null;
    const schema = this.#catalog.get(map.schema, map.table);
    if (schema === undefined) {
      // Only the schemas the lost range writes are read from the DR: a table of another one is not
      // missing, just not needed, and not worth a line of evidence.
      if (!this.#catalog.tables.some((t) => t.schema === map.schema)) {
        track.untracked = 'not in a schema the lost range writes (its tables are not read from the DR)';
        return null;
      }
      return this.#skip(track, "the DR's schema has no such table");
    }
    if (schema.primaryKey === null) return this.#skip(track, 'no primary key (classification matches such rows by image, not by history)');
    const where = `${fileName(tx.file)}:${offset}`;
    // Full metadata names the columns: identity by name survives a column added or dropped on the DR
    // since, anywhere. Without names, as the lost images: the DR's extra columns must come last
    // (images logged before the DBA added one by hand), the shared ones of types that fit.
    const found = columnPositions(map, schema);
    if (!matchesByName(map)) {
      const n = map.columns.length;
      const m = schema.columns.length;
      if (n > m || (n < m && typeMismatch(map, schema, found) >= 0)) {
        return this.#skip(track, `its row images at ${where} have ${n} columns and no column names, the DR's table has ${m}: columns cannot be matched by position`);
      }
    }
    const positions = found.map((p) => (p < 0 ? null : p));
    const at = (column: string): number => positions.indexOf(schema.columns.findIndex((c) => c.name === column));
    const pk = schema.primaryKey.map(at);
    if (pk.some((p) => p < 0)) return this.#skip(track, `its row images at ${where} lack primary-key column(s) of the DR's table (${schema.primaryKey.join(', ')})`);
    const uniques: MapPlan['uniques'][number][] = [];
    for (const uk of schema.uniqueKeys) {
      const ps = uk.columns.map(at);
      if (ps.some((p) => p < 0)) {
        // Once per key: a TABLE_MAP comes with every transaction.
        if (this.#warnedUniques.has(`${track.name}\u0000${uk.name}`)) continue;
        this.#warnedUniques.add(`${track.name}\u0000${uk.name}`);
        this.#warnings.push(`${track.name}: unique key ${uk.name} not tracked for the row images at ${where}: a column of it is not in them`);
        continue;
      }
      uniques.push({ name: uk.name, positions: ps, collations: uk.columns.map((c) => schema.columns.find((s) => s.name === c)?.collation ?? null) });
    }
    const names = positions.map((p, i) => (p === null ? (map.metadata === 'full' ? (map.columns[i]?.name ?? null) : null) : schema.columns[p]!.name));
    const compared = positions.map((p): ComparedColumn => (p === null ? null : schema.columns[p]!));
    return { track, names, compared, pk, uniques };
  }

  #skip(track: TableTrack, reason: string): null {
    this.#untrack(track, reason);
    return null;
  }

  #change(map: TableMap, op: 'insert' | 'update' | 'delete', before: RowImage | null, after: RowImage | null, at: HistoryAt, tx: Transaction, offset: number): void {
    const { track, plan } = this.#plan(map, tx, offset);
    if (op === 'insert') track.inserted++;
    else if (op === 'update') track.updated++;
    else track.deleted++;
    if (plan === null || track.untracked !== null) return;
    const where = `${fileName(tx.file)}:${offset}`;
    if (op === 'insert') {
      const key = this.#key(plan, after, null, where);
      if (key === null) return;
      this.#record(track, key, { op: 'i', at });
      this.#takeUniques(plan, after!, null, at);
      return;
    }
    if (op === 'delete') {
      const key = this.#key(plan, before, null, where);
      if (key !== null) this.#record(track, key, { op: 'd', at });
      return;
    }
    const oldKey = this.#key(plan, before, null, where);
    // A partial after image (MINIMAL) leaves out key columns it did not change.
    const newKey = this.#key(plan, after, before, where);
    if (oldKey === null || newKey === null) return;
    if (oldKey !== newKey) {
      this.#record(track, oldKey, { op: 'd', at });
      this.#record(track, newKey, { op: 'i', at });
    } else {
      this.#record(track, oldKey, { op: 'u', at, columns: this.#changed(plan, before!, after!) });
    }
    this.#takeUniques(plan, after!, before, at);
  }

  /** The primary key of `image` (parts it did not log taken from `fallback`), or null after untracking the table. */
  #key(plan: MapPlan, image: RowImage | null, fallback: RowImage | null, where: string): string | null {
    const values: ColumnValue[] = [];
    for (const p of plan.pk) {
      const v = image?.[p] !== undefined ? image[p] : fallback?.[p];
      if (v === undefined || v === null) {
        this.#untrack(plan.track, `a row image at ${where} does not log its primary key`);
        return null;
      }
      values.push(v);
    }
    try {
      return rowKey(values);
    } catch (e) {
      this.#untrack(plan.track, `a primary key at ${where} cannot be keyed: ${(e as Error).message}`);
      return null;
    }
  }

  /** Columns the update logged a new value for: absent from the after image = not changed; absent from the before image = changed. */
  #changed(plan: MapPlan, before: RowImage, after: RowImage): string[] {
    const out: string[] = [];
    for (let i = 0; i < after.length; i++) {
      const a = after[i];
      if (a === undefined) continue;
      if (sameValue(before[i], a, plan.compared[i] ?? null)) continue;
      const name = plan.names[i];
      out.push(name ?? `@${i + 1}`);
    }
    return out;
  }

  /** Records the unique values the row took: all of an insert's, an update's changed ones (folded as TableState.indexKeyOf folds them). */
  #takeUniques(plan: MapPlan, after: RowImage, before: RowImage | null, at: HistoryAt): void {
    for (const uk of plan.uniques) {
      const now = this.#folded(uk, after, before);
      if (now === null) continue;
      if (before !== null && this.#folded(uk, before, null) === now) continue;
      this.#recordUnique(plan.track, `${uk.name}\u0000${now}`, at);
    }
  }

  #folded(uk: MapPlan['uniques'][number], image: RowImage, fallback: RowImage | null): string | null {
    const parts: ColumnValue[] = [];
    for (let i = 0; i < uk.positions.length; i++) {
      const p = uk.positions[i]!;
      const raw = image[p] !== undefined ? image[p] : fallback?.[p];
      const v = uniqueFold(raw, uk.collations[i] ?? null);
      if (v === undefined || v === null) return null;
      parts.push(v);
    }
    try {
      return rowKey(parts);
    } catch {
      // A JSON value in a unique key (not indexable as such): it cannot collide by this engine's rules either.
      return null;
    }
  }

  #record(track: TableTrack, key: string, o: Op): void {
    const e = track.rows.get(key);
    if (e !== undefined) {
      fold(e, o);
      return;
    }
    if (this.#spill === null || this.#entries < this.#maxEntries) {
      track.rows.set(key, fold(undefined, o));
      this.#entries++;
      return;
    }
    // Memory only grows while building, so a key not in memory now never was: all its records spill, in order.
    const id = rowId(track.name, key);
    this.#append(id, JSON.stringify(o.op === 'u' ? [o.op, o.at, o.columns] : [o.op, o.at]));
  }

  #recordUnique(track: TableTrack, key: string, at: HistoryAt): void {
    if (track.uniques.has(key) || this.#spill === null || this.#entries < this.#maxEntries) {
      if (!track.uniques.has(key)) this.#entries++;
      track.uniques.set(key, at);
      return;
    }
    this.#append(uniqueId(track.name, key), JSON.stringify(at));
  }

  #append(id: string, record: string): void {
    const p = hash(id) % this.#partitions;
    this.#spill!.append(p, `${JSON.stringify(id)}\t${record}`);
    this.#spilled.add(p);
    this.#spilledEntries++;
  }

  /**
   * Ends the history. `complete`: the caller read the DR's binlog to its current end; holes noted
   * while reading (noteGap, statement-logged row changes) make it false whatever is passed.
   */
  finish(options: { readonly complete: boolean }): DrHistory {
    this.#finished = true;
    const f = this.#failoverAt;
    if (f?.kind === 'gtid' && !this.#pointFound) {
      throw new EngineError(
        DrHistoryErrorCode.FailoverNotFound,
        `--failover-at ${f.gtid}: no such transaction in the DR binlog given${this.#firstFile === null ? ' (it holds no transactions)' : ` (${this.#firstFile} … ${this.#lastFile})`}: give a GTID the DR received from the primary, or FILE:POS / a time`,
        { gtid: f.gtid, option: '--failover-at' },
      );
    }
    this.#refuseOwnGtid(f);
    this.#refuseOutside(f);
    const early = this.#earlierOwn;
    if (early !== null && !this.#earlierWeighed) {
      this.#earlierWeighed = true;
      const inside = f?.kind === 'gtid' || (f?.kind === 'position' && compareBinlogFiles(f.file, early.file) >= 0);
      if (!inside) {
        this.#leadingHole = true;
        this.#holes.push(
          `${early.file} starts with the binlog state ${early.gtids}, which holds writes of the DR's own before it: the DR's earlier binlogs are not among those read, so a key whose first change read is an update or delete is judged by values (the DR may have created its record before)`,
        );
      }
    }
    // The DR wrote nothing after the point: what it received last is still the last transaction from
    // another server. Not stored: a followed DR's first own write, read later, takes the one before it.
    const lastReceived = this.#firstOwn === null ? (this.#lastReceived ?? this.#lastNonOwn) : this.#lastReceived;
    const failover: FailoverPoint = { lastReceived, firstOwn: this.#firstOwn, rule: this.#rule(), evidence: this.#evidence(lastReceived) };
    const tables: HistoryTableSummary[] = [...this.#tables.values()]
      .filter((t) => t.inserted + t.updated + t.deleted > 0)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((t) => ({ table: t.name, inserted: t.inserted, updated: t.updated, deleted: t.deleted }));
    const untracked = new Map<string, string>();
    for (const t of this.#tables.values()) if (t.untracked !== null) untracked.set(t.name, t.untracked);
    return new BuiltHistory({
      failover,
      transactions: this.#historyTransactions,
      tables,
      complete: options.complete && this.#holes.length === 0,
      leadingHole: this.#leadingHole,
      untracked,
      tracks: this.#tables,
      spill: this.#spill,
      spilled: this.#spilled,
      partitions: this.#partitions,
      cacheEntries: this.#cacheEntries,
    });
  }

  /**
   * `--failover-at GTID` on a transaction the DR wrote itself, unless the DR shares the primary's
   * identity (then every GTID it received is of its identity). Taken as given, the DR's own writes
   * up to it would be "received", out of the history: a record the DR inserted there would read as
   * one that existed at the failover, and a lost insert at its key would be merged into it.
   */
  #refuseOwnGtid(f: FailoverAt | null): void {
    const at = this.#overrideFoundAt;
    const end = this.#overrideOwnEnd;
    if (f?.kind !== 'gtid' || at === null || end === null || this.#sharedIdentity) return;
    const identity = this.#ownUuid !== null && /^[0-9a-f-]{36}:/i.test(f.gtid) ? `server_uuid ${this.#ownUuid}` : `server id ${this.#own.serverId}`;
    const last = this.#lastNonOwn;
    throw new EngineError(
      DrHistoryErrorCode.FailoverOwn,
      `--failover-at ${f.gtid}: the DR wrote that transaction itself (it carries the DR's own ${identity}; at ${at.file}:${at.pos}), where the option names the last transaction the DR received from the primary: the DR's writes up to it would be taken for the primary's and left out of its history. Give the last GTID it received (${last === null ? 'the DR binlog given holds none from another server before it' : `${last.at} is the last from another server before it`}), the DR binlog position where its own writes start, or the time; if the DR's writes up to ${f.gtid} came before the failover, give the position after it, ${at.file}:${end}`,
      { option: '--failover-at', value: f.gtid, file: at.file, offset: at.pos },
    );
  }

  /** `--failover-at` that the DR binlog read cannot place: refused, never an empty or cut history. */
  #refuseOutside(f: FailoverAt | null): void {
    const outside = (why: string, details: Record<string, string | number>): never => {
      throw new EngineError(DrHistoryErrorCode.FailoverOutside, `--failover-at ${f?.kind === 'time' ? utc(f.seconds) : f?.kind === 'position' ? `${f.file}:${f.pos}` : ''}: ${why}`, { ...details, option: '--failover-at' });
    };
    if (f?.kind === 'time' && f.seconds > this.#now) {
      outside(`it is later than now (${utc(Math.floor(this.#now))}): give the time of the failover, in UTC`, {});
    }
    if (f?.kind !== 'position') return;
    const read = [...this.#readTo.keys()].sort(compareBinlogFiles);
    const end = this.#readTo.get(f.file);
    // A file before those read: the point lies before them, and every own write read is after it
    // (writes of the DR's in the files not read are found by the binlog state the first one opens with).
    if (end === undefined && read.length > 0 && compareBinlogFiles(f.file, read[0]!) < 0) return;
    if (end === undefined) {
      outside(`${f.file} is not among the DR binlogs read (${read.length === 0 ? 'none' : read.length === 1 ? read[0]! : `${read[0]!} … ${read[read.length - 1]!}`}): give the DR binlog that holds the failover point, or a position in one given`, { file: f.file });
    }
    if (f.pos > end!) outside(`${f.file} ends at ${end!}: give a position inside it (where the DR's own writes start, as SHOW BINLOG EVENTS or mariadb-binlog print it)`, { file: f.file });
    const inside = this.#positionInside;
    if (inside !== null) {
      outside(`${f.pos} lies inside the transaction ${inside.at} (${f.file}:${inside.pos} … ${inside.end}): give the position where a transaction starts (${inside.pos}, or ${inside.end} for the one after it)`, { file: f.file });
    }
  }

  #identity(): string {
    return this.#ownMatch === 'gtid-uuid' ? `server_uuid ${this.#ownUuid ?? ''}` : `server id ${this.#own.serverId}`;
  }

  #rule(): string {
    const f = this.#failoverAt;
    const first = this.#firstOwn;
    const firstText = first === null ? 'none' : `${first.at === `${first.file}:${first.pos}` ? first.at : `${first.at} at ${first.file}:${first.pos}`}`;
    if (f === null) {
      if (first === null) return `no transaction with the DR's own server id ${this.#own.serverId}${this.#ownUuid === null ? '' : ` or server_uuid ${this.#ownUuid}`} in the DR binlog given: it shows no writes of the DR's own`;
      const how = this.#ownMatch === 'header-server-id' ? `first transaction whose event header carries the DR's own server id ${this.#own.serverId}` : `first transaction with the DR's own ${this.#identity()}`;
      return `${how} (${firstText})`;
    }
    switch (f.kind) {
      case 'gtid':
        return `--failover-at ${f.gtid}: the last transaction received from the primary (at ${this.#overrideFoundAt!.file}:${this.#overrideFoundAt!.pos}); the DR's own transactions after it (first: ${firstText})`;
      case 'position':
        return `--failover-at ${f.file}:${f.pos}: the DR's own transactions from that position on (first: ${firstText})`;
      case 'time':
        return `--failover-at ${utc(f.seconds)}: the DR's own transactions committed at or after that time (first: ${firstText})`;
    }
  }

  #evidence(lr: TxPlace | null): string[] {
    const out: string[] = [];
    const own = `DR identity: server id ${this.#own.serverId}${this.#ownUuid === null ? '' : `, server_uuid ${this.#ownUuid}`}`;
    out.push(own);
    const total = this.#before.transactions + this.#after.transactions + this.#replayed.transactions + this.#engineUnderSource;
    out.push(total === 0 ? 'the DR binlog given holds no transactions' : `read ${total} transactions in ${this.#firstFile}${this.#firstFile === this.#lastFile ? '' : ` … ${this.#lastFile}`}`);
    out.push(`before the failover point: ${this.#before.transactions} transactions; ${this.#before.describe()}`);
    if (this.#ownBeforePoint > 0) out.push(`${this.#ownBeforePoint} of them written by the DR itself before the point: not history`);
    if (lr !== null) out.push(`last received from the primary: ${lr.at} at ${lr.file}:${lr.pos} (server id ${lr.serverId}, ${utc(lr.timestamp)})`);
    else if (this.#firstOwn !== null) out.push('no transaction from another server before the point: the DR binlog given starts after the failover');
    const fo = this.#firstOwn;
    if (fo !== null) out.push(`first written by the DR: ${fo.at} at ${fo.file}:${fo.pos} (server id ${fo.serverId}, ${utc(fo.timestamp)})`);
    else out.push('no transaction written by the DR after the failover point');
    out.push(`after the failover point: ${this.#after.transactions} transactions of the DR's own; ${this.#after.describe()}`);
    if (this.#engineTransactions > 0) out.push(`${this.#engineTransactions} of them the salvage engine's own (state schema ${this.#stateSchema}): not history`);
    if (this.#engineUnderSource > 0) out.push(`${this.#engineUnderSource} transactions of the salvage engine's own under the source's GTIDs (state schema ${this.#stateSchema}; --keep-gtids): not history`);
    if (this.#replayed.transactions > 0) {
      out.push(`replayed after the failover: ${this.#replayed.transactions} transactions from other servers (${this.#replayed.describe()}): not the DR's history`);
    }
    if (this.#spilledEntries > 0) out.push(`history too large for memory: ${this.#entries} entries held, ${this.#spilledEntries} records spilled to ${this.#spilled.size} partitions`);
    // A DR logging statements writes one per transaction: the first few name the problem.
    for (const h of this.#holes.slice(0, MAX_HOLES_SHOWN)) out.push(`incomplete: ${h}`);
    if (this.#holes.length > MAX_HOLES_SHOWN) out.push(`incomplete: … and ${this.#holes.length - MAX_HOLES_SHOWN} more`);
    for (const w of this.#warnings) out.push(w);
    return out;
  }
}

interface BuiltParts {
  readonly failover: FailoverPoint;
  readonly transactions: number;
  readonly tables: readonly HistoryTableSummary[];
  readonly complete: boolean;
  /**
   * The DR wrote after the failover in binlogs not read: a key first seen updated or deleted may be
   * a record the DR created there, so only what the history read from an insert on is known.
   */
  readonly leadingHole: boolean;
  readonly untracked: ReadonlyMap<string, string>;
  readonly tracks: ReadonlyMap<string, TableTrack>;
  readonly spill: HistorySpill | null;
  readonly spilled: ReadonlySet<number>;
  readonly partitions: number;
  readonly cacheEntries: number;
}

/** The finished history: what stayed in memory answers at once; spilled keys once prepared. */
class BuiltHistory implements DrHistory {
  readonly failover: FailoverPoint;
  readonly transactions: number;
  readonly tables: readonly HistoryTableSummary[];
  readonly complete: boolean;
  readonly untracked: ReadonlyMap<string, string>;
  readonly #p: BuiltParts;
  /** Spilled ids prepared, least recently prepared first: the folded entry, or null when the spill holds none. */
  readonly #prepared = new Map<string, Entry | HistoryAt | null>();

  constructor(p: BuiltParts) {
    this.#p = p;
    this.failover = p.failover;
    this.transactions = p.transactions;
    this.tables = p.tables;
    this.complete = p.complete;
    this.untracked = p.untracked;
  }

  #partition(id: string): number | null {
    const p = hash(id) % this.#p.partitions;
    return this.#p.spilled.has(p) ? p : null;
  }

  async prepare(keys: ReadonlyMap<string, ReadonlySet<string>>, uniques?: ReadonlyMap<string, ReadonlyMap<string, ReadonlySet<string>>>): Promise<void> {
    if (this.#p.spilled.size === 0) return;
    const asked = new Set<string>();
    for (const [table, pks] of keys) {
      const t = this.#p.tracks.get(table);
      if (t === undefined || t.untracked !== null) continue;
      for (const pk of pks) if (!t.rows.has(pk)) asked.add(rowId(table, pk));
    }
    for (const [table, byName] of uniques ?? []) {
      const t = this.#p.tracks.get(table);
      if (t === undefined || t.untracked !== null) continue;
      for (const [name, folded] of byName) {
        for (const f of folded) if (!t.uniques.has(`${name}\u0000${f}`)) asked.add(uniqueId(table, `${name}\u0000${f}`));
      }
    }
    // Partition → the ids (as they appear in spill lines) to read from it; ids prepared before are only refreshed.
    const toRead = new Map<number, Map<string, string>>();
    for (const id of asked) {
      const p = this.#partition(id);
      if (p === null) continue;
      const known = this.#prepared.get(id);
      if (known !== undefined) {
        this.#prepared.delete(id);
        this.#prepared.set(id, known);
        continue;
      }
      let ids = toRead.get(p);
      if (ids === undefined) toRead.set(p, (ids = new Map()));
      ids.set(JSON.stringify(id), id);
    }
    for (const [p, ids] of toRead) {
      const found = new Map<string, Entry | HistoryAt>();
      for (const line of await this.#p.spill!.read(p)) {
        const tab = line.indexOf('\t');
        const id = ids.get(line.slice(0, tab));
        if (id === undefined) continue;
        const record = JSON.parse(line.slice(tab + 1)) as unknown;
        if (id.startsWith('u')) {
          found.set(id, record as HistoryAt);
          continue;
        }
        const [code, at, columns] = record as ['i' | 'u' | 'd', HistoryAt, string[] | undefined];
        const op: Op = code === 'u' ? { op: 'u', at, columns: columns ?? [] } : { op: code, at };
        found.set(id, fold(found.get(id) as Entry | undefined, op));
      }
      for (const id of ids.values()) this.#prepared.set(id, found.get(id) ?? null);
    }
    // Past the bound, drop the least recently prepared; this call's ids, re-inserted last, stay whatever their number.
    for (const id of this.#prepared.keys()) {
      if (this.#prepared.size <= this.#p.cacheEntries || asked.has(id)) break;
      this.#prepared.delete(id);
    }
  }

  row(table: string, pk: string): RowHistory | undefined {
    const t = this.#p.tracks.get(table);
    if (t === undefined || t.untracked !== null) return undefined;
    const e = t.rows.get(pk) ?? (this.#spilled(rowId(table, pk), table, pk) as Entry | undefined);
    // "Existed at the failover" is only what the binlogs read show: with earlier ones missing, the
    // record may be the DR's own from before them (classify then judges the key by values).
    if (e !== undefined && this.#p.leadingHole && e.existedAtFailover && !e.insertedByDr) return undefined;
    return e;
  }

  uniqueInserted(table: string, uniqueKey: string, folded: string): HistoryAt | undefined {
    const t = this.#p.tracks.get(table);
    if (t === undefined || t.untracked !== null) return undefined;
    const at = t.uniques.get(`${uniqueKey}\u0000${folded}`);
    if (at !== undefined) return at;
    return this.#spilled(uniqueId(table, `${uniqueKey}\u0000${folded}`), table, `${uniqueKey} ${folded}`) as HistoryAt | undefined;
  }

  #spilled(id: string, table: string, key: string): Entry | HistoryAt | undefined {
    if (this.#partition(id) === null) return undefined;
    const v = this.#prepared.get(id);
    if (v === undefined) {
      throw new EngineError(DrHistoryErrorCode.NotPrepared, `internal: the DR history of ${table} key ${key} is in the spill and was not prepared before it was asked for`, { table, key });
    }
    return v ?? undefined;
  }

  async close(): Promise<void> {
    this.#prepared.clear();
    await this.#p.spill?.close();
  }
}
