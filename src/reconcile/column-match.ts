/**
 * Which DR column each column of a row image is. Where the binlog logs column names
 * (binlog_row_metadata=FULL, MariaDB and MySQL 8 alike) by name, case-insensitively as the servers
 * compare them: a column the DBA added anywhere on the DR (`ADD COLUMN … AFTER x`, `FIRST`) is one
 * the image does not log, and an image in another order is put in the DR's. Without names by
 * position, as replication matches them: the image's columns are the DR's first ones.
 * pipeline/schema-drift.ts refuses the images this cannot place before anything is written.
 */
import { typeFits } from '../binlog/events/table-map.js';
import type { TableMap } from '../binlog/event.js';
import type { TableSchema } from '../model/table-schema.js';

/** True when the table map names its columns (binlog_row_metadata=FULL): images are matched by name. */
export function matchesByName(map: TableMap): boolean {
  return map.metadata === 'full';
}

/**
 * The DR column position of each image column, -1 for one the DR lacks (by name: no DR column of
 * that name; by position: beyond the DR's last column).
 */
export function columnPositions(map: TableMap, dr: TableSchema): number[] {
  const m = dr.columns.length;
  if (!matchesByName(map)) return map.columns.map((_, i) => (i < m ? i : -1));
  const byName = new Map<string, number>();
  for (let j = 0; j < m; j++) byName.set(dr.columns[j]!.name.toLowerCase(), j);
  return map.columns.map((c) => byName.get(c.name.toLowerCase()) ?? -1);
}

/** True when image column i is DR column i for every i and the widths agree: the image needs no rearranging. */
export function isIdentity(positions: readonly number[], dr: TableSchema): boolean {
  return positions.length === dr.columns.length && positions.every((p, i) => p === i);
}

/**
 * The first image column (0-based) whose binlog type the DR's column it is matched to cannot be
 * logged as (the rule schema hints are checked by: table-map.ts typeFits), or -1. Columns the DR
 * lacks are not looked at.
 */
export function typeMismatch(map: TableMap, dr: TableSchema, positions: readonly number[]): number {
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i]!;
    if (p >= 0 && !typeFits(map.columns[i]!.type, dr.columns[p]!.dataType)) return i;
  }
  return -1;
}
