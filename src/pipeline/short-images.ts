/**
 * Row images with fewer columns than the DR's table, which schema-drift.ts accepts when the DR's
 * extra columns come last (an ADD COLUMN of the lost range applied to the DR by hand): each is
 * padded to the DR's width with unlogged cells, the representation of a partial image
 * (binlog_row_image=MINIMAL). Everything after sees one shape per table: an insert leaves the
 * unlogged columns to their defaults, an update does not touch them, comparisons skip them.
 */
import type { RowImage } from '../binlog/column.js';
import type { RowChange, TableMap } from '../binlog/event.js';
import type { Transaction } from '../binlog/transaction.js';
import type { SchemaCatalog } from '../model/table-schema.js';

/** `window` with every short image padded to its DR table's width; the same transactions when none is short. */
export function padShortImages(window: readonly Transaction[], catalog: SchemaCatalog): readonly Transaction[] {
  // Widths by table map object: a transaction's changes mostly share one, so the catalog is asked once per map.
  const widths = new Map<TableMap, number>();
  const width = (map: TableMap): number => {
    let w = widths.get(map);
    if (w === undefined) widths.set(map, (w = catalog.get(map.schema, map.table)?.columns.length ?? map.columns.length));
    return w;
  };
  let out: Transaction[] | null = null;
  for (let t = 0; t < window.length; t++) {
    const tx = window[t]!;
    let changes: RowChange[] | null = null;
    for (let i = 0; i < tx.changes.length; i++) {
      const c = tx.changes[i]!;
      const w = width(c.table);
      if (c.table.columns.length >= w) continue;
      changes ??= tx.changes.slice();
      changes[i] = { ...c, before: pad(c.before, w), after: pad(c.after, w) };
    }
    if (changes === null) continue;
    out ??= window.slice();
    out[t] = { ...tx, changes };
  }
  return out ?? window;
}

function pad(image: RowImage | null, width: number): RowImage | null {
  if (image === null) return null;
  const out: RowImage = new Array<RowImage[number]>(width).fill(undefined);
  for (let i = 0; i < image.length; i++) out[i] = image[i];
  return out;
}
