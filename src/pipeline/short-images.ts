/**
 * Row images put in the layout of their DR table, which schema-drift.ts has checked: an image that
 * lacks some of the DR's columns gets unlogged cells there, the representation of a partial image
 * (binlog_row_image=MINIMAL), and one whose columns the binlog names in another order than the DR's
 * is put in the DR's order (reconcile/column-match.ts). Without names the DR's extra columns come
 * last, so that is padding. Everything after sees one shape per table: an insert leaves the
 * unlogged columns to their defaults, an update does not touch them, comparisons skip them.
 */
import type { ColumnDef, RowImage } from '../binlog/column.js';
import type { RowChange, TableMap } from '../binlog/event.js';
import type { Transaction } from '../binlog/transaction.js';
import { tableMapOf } from '../model/canonical-row.js';
import type { SchemaCatalog } from '../model/table-schema.js';
import { columnPositions, isIdentity } from '../reconcile/column-match.js';

/** How one table map's images become the DR's: the DR position of each image column, and the table map of the result. */
interface Layout {
  readonly positions: readonly number[];
  readonly width: number;
  /** The DR's columns in its order, each described as the binlog describes it where the image has it (ledger and reports name and print cells through it). */
  readonly map: TableMap;
}

// Per catalog (one per run), per table map: a map serves many windows, and its layout is asked once.
const layouts = new WeakMap<SchemaCatalog, WeakMap<TableMap, Layout | null>>();

/** `window` with every image in its DR table's layout; the same transactions when all already are. */
export function padShortImages(window: readonly Transaction[], catalog: SchemaCatalog): readonly Transaction[] {
  let known = layouts.get(catalog);
  if (known === undefined) layouts.set(catalog, (known = new WeakMap()));
  let out: Transaction[] | null = null;
  for (let t = 0; t < window.length; t++) {
    const tx = window[t]!;
    let changes: RowChange[] | null = null;
    for (let i = 0; i < tx.changes.length; i++) {
      const c = tx.changes[i]!;
      let layout = known.get(c.table);
      if (layout === undefined) known.set(c.table, (layout = layoutOf(c.table, catalog)));
      if (layout === null) continue;
      changes ??= tx.changes.slice();
      changes[i] = { ...c, table: layout.map, before: place(c.before, layout), after: place(c.after, layout) };
    }
    if (changes === null) continue;
    out ??= window.slice();
    out[t] = { ...tx, changes };
  }
  return out ?? window;
}

/** Null when the images already are in the DR's layout, or cannot be (schema-drift.ts refused them; the reconciler names a change that still comes). */
function layoutOf(map: TableMap, catalog: SchemaCatalog): Layout | null {
  const dr = catalog.get(map.schema, map.table);
  if (dr === undefined) return null;
  const positions = columnPositions(map, dr);
  if (isIdentity(positions, dr) || positions.includes(-1)) return null;
  const drMap = tableMapOf(dr);
  const columns: ColumnDef[] = drMap.columns.slice();
  for (let i = 0; i < positions.length; i++) columns[positions[i]!] = { ...map.columns[i]!, index: positions[i]! };
  const primaryKey = map.primaryKey === null ? null : map.primaryKey.map((i) => positions[i]!);
  return { positions, width: dr.columns.length, map: { ...map, columns, primaryKey } };
}

function place(image: RowImage | null, layout: Layout): RowImage | null {
  if (image === null) return null;
  const out: RowImage = new Array<RowImage[number]>(layout.width).fill(undefined);
  const { positions } = layout;
  for (let i = 0; i < image.length; i++) out[positions[i]!] = image[i];
  return out;
}
