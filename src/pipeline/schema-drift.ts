/**
 * Schema drift: a table the lost transactions write must exist on the DR with the columns their row
 * images carry, or images would be written into the wrong columns. Checked before anything is
 * written, for every shape a table has in the lost range (an ALTER in the range gives it a second);
 * the error names the table, the columns that disagree, and the first transaction with that shape.
 *
 * Where the binlog names its columns (binlog_row_metadata=FULL) they are matched by name
 * (reconcile/column-match.ts): every image column must be a DR column, in any order; the DR's
 * others, wherever they sit (the DBA applied an `ADD COLUMN … AFTER x` of the lost range by hand),
 * are columns the image does not log. Without names, as replication allows: the DR's table may have
 * more columns than an image when the extra ones come last. Either way a column the image lacks is
 * as in a partial image (binlog_row_image=MINIMAL): an insert leaves it to its default, an update
 * leaves it as it is (short-images.ts puts images in the DR's layout with unlogged cells).
 */
import { basename } from 'node:path';
import { hintMismatch } from '../binlog/events/table-map.js';
import { columnTypeName } from '../binlog/column-types.js';
import { EngineError } from '../errors.js';
import type { SchemaCatalog, TableSchema } from '../model/table-schema.js';
import { columnPositions, isIdentity, matchesByName, typeMismatch } from '../reconcile/column-match.js';
import type { TableShape } from './lost-range-scan.js';

export const SchemaDriftErrorCode = {
  MissingTable: 'SCHEMA_DRIFT_MISSING_TABLE',
  Columns: 'SCHEMA_DRIFT_COLUMNS',
} as const;

export class SchemaDriftError extends EngineError {}

/** Throws SchemaDriftError for the first table (by name), and its first shape, whose DR table disagrees with it. */
export function checkSchemaDrift(shapes: ReadonlyMap<string, readonly TableShape[]>, catalog: SchemaCatalog): void {
  for (const name of [...shapes.keys()].sort()) {
    for (const shape of shapes.get(name)!) checkShape(name, shape, catalog);
  }
}

function checkShape(name: string, shape: TableShape, catalog: SchemaCatalog): void {
  const { map } = shape;
  const from = `${shape.at} (${basename(shape.file)}:${shape.pos})`;
  const facts = { table: name, ...(shape.gtid === null ? {} : { gtid: shape.gtid }), file: shape.file, offset: shape.pos };
  const dr = catalog.get(map.schema, map.table);
  if (dr === undefined) {
    throw new SchemaDriftError(SchemaDriftErrorCode.MissingTable, `schema drift: the lost transactions write ${name}, which the DR does not have; create it on the DR (as on the primary) and re-run`, facts);
  }
  if (matchesByName(map)) {
    checkByName(name, shape, dr, from, facts);
    return;
  }
  const n = map.columns.length;
  const m = dr.columns.length;
  const shared = Math.min(n, m);
  // Names are compared only where the binlog carries them (binlog_row_metadata=FULL); else they print as @n.
  const differing = map.columns.slice(0, shared).flatMap((c, i) => {
    const d = dr.columns[i]!;
    return /^@\d+$/.test(c.name) || c.name.toLowerCase() === d.name.toLowerCase() ? [] : [`column ${i + 1}: ${c.name} in the binlog, ${d.name} on the DR`];
  });
  if (n !== m && differing.length === 0) {
    // Without names, types are what tells a column added last from one added in the middle (positions shifted).
    const bad = hintMismatch(map.columns.slice(0, shared), dr.columns.slice(0, shared).map((c) => ({ dataType: c.dataType })));
    if (bad >= 0) differing.push(`column ${bad + 1}: ${columnTypeName(map.columns[bad]!.type)} in the binlog, ${dr.columns[bad]!.dataType} (${dr.columns[bad]!.name}) on the DR`);
  }
  if (n > m && differing.length === 0) {
    const extra = map.columns.slice(m).map((c) => (/^@\d+$/.test(c.name) ? `column ${c.index + 1}` : c.name));
    throw new SchemaDriftError(
      SchemaDriftErrorCode.Columns,
      `schema drift: ${name} has ${n} columns in the binlog from ${from} on, and ${m} on the DR (DR: ${drColumns(dr)}); the DR lacks ${extra.join(', ')}: add ${extra.length === 1 ? 'it' : 'them'} on the DR as on the primary, after its other columns, then run again (with --ddl skip when DDL of the lost range added ${extra.length === 1 ? 'it' : 'them'})`,
      { ...facts, column: extra[0]! },
    );
  }
  if (differing.length > 0) {
    const counts = n === m ? ` — in the binlog from ${from} on` : ` — the binlog has ${n} columns from ${from} on and the DR ${m} (DR: ${drColumns(dr)})`;
    const shorter =
      n < m
        ? ": a DR may have more columns only when they come after the binlog's, as replication allows; a column added in the middle shifts the others"
        : n > m
          ? ": not the DR's columns followed by new ones (a column added in the middle?), so they cannot be matched by position"
          : '';
    throw new SchemaDriftError(SchemaDriftErrorCode.Columns, `schema drift: ${name} — ${differing.join('; ')}${counts}${shorter}`, { ...facts, column: map.columns[0]?.name ?? '' });
  }
}

/** A shape whose table map names its columns: each must name a DR column, of a type it can be logged as. */
function checkByName(name: string, shape: TableShape, dr: TableSchema, from: string, facts: Record<string, string | number>): void {
  const { map } = shape;
  const positions = columnPositions(map, dr);
  const lacking = map.columns.filter((_, i) => positions[i] === -1).map((c) => c.name);
  if (lacking.length > 0) {
    const them = lacking.length === 1 ? 'it' : 'them';
    throw new SchemaDriftError(
      SchemaDriftErrorCode.Columns,
      `schema drift: ${name} has ${lacking.length === 1 ? 'column' : 'columns'} ${lacking.join(', ')} in the binlog from ${from} on, which the DR's table lacks (DR: ${drColumns(dr)}): add ${them} on the DR as on the primary (anywhere: the binlog names its columns, so they are matched by name), then run again (with --ddl skip when DDL of the lost range added ${them})`,
      { ...facts, column: lacking[0]! },
    );
  }
  // As by position: a column whose layout is the DR's own is taken as it is; one matched elsewhere must be of a type it can be.
  if (isIdentity(positions, dr)) return;
  const bad = typeMismatch(map, dr, positions);
  if (bad < 0) return;
  const c = map.columns[bad]!;
  const d = dr.columns[positions[bad]!]!;
  throw new SchemaDriftError(
    SchemaDriftErrorCode.Columns,
    `schema drift: ${name} — column ${c.name}: ${columnTypeName(c.type)} in the binlog, ${d.dataType} on the DR — in the binlog from ${from} on (columns matched by name; DR: ${drColumns(dr)})`,
    { ...facts, column: c.name },
  );
}

function drColumns(dr: TableSchema): string {
  return dr.columns.map((c) => c.name).join(', ');
}
