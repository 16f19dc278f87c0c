/**
 * MySQL's partial JSON updates (binlog_row_value_options=PARTIAL_JSON under binlog_row_image=MINIMAL)
 * log the server's diffs, not the document: the before image leaves the column out. A replica
 * applies the diffs to its own current document; so does the engine, to the DR row it matched (or
 * the window's own row for it), for a change it applies as the binlog has it. The diffs never
 * become a guessed document: a DR value that is no JSON document, or a diff that does not apply
 * (a member to replace that is not there), keeps the change held, saying which.
 */
import { applyJsonDiffs, JsonDiffOperation, parseJsonPath, type JsonDiff } from '../binlog/values/json-diff.js';
import { parseJsonText } from '../binlog/values/json-text.js';
import { JsonPatch, JsonValue, type JsonNode } from '../binlog/values/json-value.js';
import { BinlogError } from '../errors.js';
import { CharsetText } from '../binlog/values/charset-text.js';
import type { RowImage } from '../binlog/column.js';
import type { TableSchema } from '../model/table-schema.js';

const OPERATIONS = { replace: JsonDiffOperation.REPLACE, insert: JsonDiffOperation.INSERT, remove: JsonDiffOperation.REMOVE } as const;

/** Whether an after image carries diffs anywhere. */
export function hasJsonPatch(after: RowImage): boolean {
  for (const v of after) if (v instanceof JsonPatch) return true;
  return false;
}

/**
 * `after` with each JsonPatch replaced by the document its diffs make of `current`'s value of the
 * column (the DR row, or the window's own row), or the reason they cannot be applied.
 */
export function applyJsonPatches(table: TableSchema, after: RowImage, current: RowImage): { readonly row: RowImage } | { readonly reason: string } {
  let row: RowImage | null = null;
  for (let i = 0; i < after.length; i++) {
    const patch = after[i];
    if (!(patch instanceof JsonPatch)) continue;
    const name = table.columns[i]?.name ?? `@${i + 1}`;
    const doc = documentOf(current[i]);
    if (doc === undefined) {
      const held = current[i];
      const what = held === null ? 'NULL' : held === undefined ? 'not known' : 'not a JSON document';
      return { reason: `a JSON partial update of ${name} (diffs, not a document): the DR row's value is ${what}, so there is no document to apply them to` };
    }
    let next: JsonNode;
    try {
      next = applyJsonDiffs(doc, patch.diffs.map(toDiff));
    } catch (e) {
      if (!(e instanceof BinlogError)) throw e;
      const { operation, path, reason } = e.details;
      const why = reason === undefined ? e.message : `${String(operation)} ${String(path)}: ${String(reason)}`;
      return { reason: `a JSON partial update of ${name} does not apply to the DR row's document: ${why}` };
    }
    row ??= after.slice();
    row[i] = new JsonValue(next);
  }
  return { row: row ?? after };
}

/** The document a row holds in a JSON column: MySQL's decoded value, or the text MariaDB stores. */
function documentOf(v: RowImage[number]): JsonNode | undefined {
  if (v instanceof JsonValue) return v.node;
  const text = typeof v === 'string' ? v : v instanceof CharsetText ? v.text : null;
  if (text === null) return undefined;
  return parseJsonText(text);
}

function toDiff(op: JsonPatch['diffs'][number]): JsonDiff {
  return { operation: OPERATIONS[op.op], path: op.path, legs: parseJsonPath(op.path), value: op.op === 'remove' ? undefined : (op.value ?? null) };
}
