/**
 * Table patterns as users write them, in the configuration's `tables` keys and in
 * `inspect --tables`: `db.table` in the syntax of qualified-name.ts, each part matched on its own
 * against the database and the table name. In a bare part `*` and `?` are globs (so they never
 * reach across the dot between the parts); a quoted part is literal. Matching is case-sensitive:
 * on Linux (lower_case_table_names=0) `shop.Tup` and `shop.tup` are two tables, and a server that
 * folds case logs the folded names.
 */
import { parseQualified, type NamePart } from './qualified-name.js';

/** A compiled `db.table` pattern. */
export interface TablePattern {
  /** Whether the table `schema`.`table` matches. */
  matches(schema: string, table: string): boolean;
  /** Whether some table of database `schema` could match (the database part matches). */
  matchesSchema(schema: string): boolean;
}

/** One part of a pattern: a bare part's `*` and `?` are globs, a quoted part is literal. */
function partRegex(part: NamePart): RegExp {
  const escaped = part.text.replace(/[.*?+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${part.quoted ? escaped : escaped.replace(/\\\*/g, '.*').replace(/\\\?/g, '.')}$`, 's');
}

/** The pattern `written` stands for, or null when it is not exactly two parts (`db.table`). */
export function parseTablePattern(written: string): TablePattern | null {
  const [db, table] = parseQualified(written, 2) ?? [];
  if (db === undefined || table === undefined) return null;
  const [dbRe, tableRe] = [partRegex(db), partRegex(table)];
  return {
    matches: (s, t) => dbRe.test(s) && tableRe.test(t),
    matchesSchema: (s) => dbRe.test(s),
  };
}

/** A comma-separated list of patterns, split at the commas outside backticks (a quoted name may hold one). */
export function splitTablePatterns(list: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    // A doubled backtick inside a quoted part closes and reopens it: the state comes out right.
    if (list[i] === '`') quoted = !quoted;
    else if (list[i] === ',' && !quoted) {
      out.push(list.slice(start, i));
      start = i + 1;
    }
  }
  out.push(list.slice(start));
  return out.map((p) => p.trim()).filter((p) => p.length > 0);
}
