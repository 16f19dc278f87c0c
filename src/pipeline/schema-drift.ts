/**
 * Schema drift: a table the lost transactions write must exist on the DR with the same columns,
 * or row images would be written into the wrong columns. Checked before anything is written; the
 * error names the table and the columns that disagree.
 */
import type { TableMap } from '../binlog/event.js';
import { EngineError } from '../errors.js';
import type { SchemaCatalog } from '../model/table-schema.js';

export const SchemaDriftErrorCode = {
  MissingTable: 'SCHEMA_DRIFT_MISSING_TABLE',
  Columns: 'SCHEMA_DRIFT_COLUMNS',
} as const;

export class SchemaDriftError extends EngineError {}

/** Throws SchemaDriftError for the first table (by name) whose DR shape disagrees with its binlog table map. */
export function checkSchemaDrift(tables: ReadonlyMap<string, TableMap>, catalog: SchemaCatalog): void {
  for (const name of [...tables.keys()].sort()) {
    const map = tables.get(name)!;
    const dr = catalog.get(map.schema, map.table);
    if (dr === undefined) {
      throw new SchemaDriftError(SchemaDriftErrorCode.MissingTable, `schema drift: the lost transactions write ${name}, which the DR does not have; create it on the DR (as on the primary) and re-run`, { table: name });
    }
    if (dr.columns.length !== map.columns.length) {
      throw new SchemaDriftError(
        SchemaDriftErrorCode.Columns,
        `schema drift: ${name} has ${map.columns.length} columns in the binlog and ${dr.columns.length} on the DR (DR: ${dr.columns.map((c) => c.name).join(', ')}); make the DR's table match the primary's and re-run`,
        { table: name },
      );
    }
    // Names are compared only where the binlog carries them (binlog_row_metadata=FULL); else they print as @n.
    const differing = map.columns.flatMap((c, i) => {
      const d = dr.columns[i]!;
      return /^@\d+$/.test(c.name) || c.name.toLowerCase() === d.name.toLowerCase() ? [] : [`column ${i + 1}: ${c.name} in the binlog, ${d.name} on the DR`];
    });
    if (differing.length > 0) {
      throw new SchemaDriftError(SchemaDriftErrorCode.Columns, `schema drift: ${name} — ${differing.join('; ')}`, { table: name, column: map.columns[0]?.name ?? '' });
    }
  }
}
