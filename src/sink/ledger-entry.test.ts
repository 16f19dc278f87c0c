import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ColumnDef, ColumnValue, RowImage } from '../binlog/column.js';
import { ColumnType } from '../binlog/column-types.js';
import type { TableMap } from '../binlog/event.js';
import { rowToCanonical } from '../binlog/transaction-json.js';
import { stringifyCanonical } from '../binlog/values/canonical-json.js';
import { JsonDecimal, JsonValue } from '../binlog/values/json-value.js';
import { testColumn } from '../../test/harness/value-encoder.js';
import { imageJson } from './ledger-entry.js';

/** One column of each kind toCanonical treats apart: integers, FLOAT, DOUBLE, text, MariaDB JSON text, MySQL JSON, bytes, VECTOR. */
const KINDS: readonly { readonly def: Partial<ColumnDef> & { readonly type: number }; readonly value: fc.Arbitrary<ColumnValue> }[] = [
  { def: { type: ColumnType.LONGLONG }, value: fc.oneof(fc.integer(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n })) },
  { def: { type: ColumnType.FLOAT, meta: 4 }, value: fc.float().map((f) => Math.fround(f)) },
  { def: { type: ColumnType.DOUBLE, meta: 8 }, value: fc.double() },
  { def: { type: ColumnType.VARCHAR, meta: 400, collation: 45 }, value: fc.string({ unit: 'binary', maxLength: 12 }) },
  { def: { type: ColumnType.BLOB, meta: 4, collation: 46, isJson: true }, value: fc.oneof(fc.constant('{"a": [1, "x\\"y"], "b" : null}'), fc.constant('not json'), fc.json()) },
  { def: { type: ColumnType.JSON, meta: 4 }, value: fc.constantFrom(new JsonValue({ z: 1, a: [true, null, 'é"\n'], d: new JsonDecimal('3.10') }), new JsonValue('text'), new JsonValue(null)) },
  { def: { type: ColumnType.BLOB, meta: 2, collation: 63 }, value: fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)) },
  { def: { type: ColumnType.VECTOR, meta: 4 }, value: fc.array(fc.float({ noNaN: true }), { maxLength: 3 }).map((fs) => Buffer.from(new Float32Array(fs).buffer)) },
];

/** Column names, integer-like ones included (an object lists those first, and the text must too), and names an ordinary object treats apart. */
const NAMES = ['id', 'name', '10', '2', 'é 😀', '"q"', '__proto__', '4294967295', '01', 'x', 'toJSON', 'constructor'];

const tableAndRow = fc
  .uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: NAMES.length })
  .chain((names) =>
    fc.tuple(
      fc.constant(names),
      fc.array(fc.integer({ min: 0, max: KINDS.length - 1 }), { minLength: names.length, maxLength: names.length }),
    ),
  )
  .chain(([names, kinds]) => {
    const columns = names.map((name, index) => testColumn(KINDS[kinds[index]!]!.def.type, { ...KINDS[kinds[index]!]!.def, name, index }));
    const map: TableMap = { tableId: 1, schema: 's', table: 't', flags: 0, columns, primaryKey: null, metadata: 'full' };
    // Each cell: its kind's value, NULL, or not logged (undefined, a MINIMAL image).
    const cells = kinds.map((k) => fc.oneof(KINDS[k]!.value, fc.constant(null), fc.constant(undefined)));
    return fc.tuple(fc.constant(map), fc.tuple(...cells));
  });

describe('imageJson', () => {
  it('writes the text stringifyCanonical(rowToCanonical(…)) writes, key order included', () => {
    fc.assert(
      fc.property(tableAndRow, ([map, row]) => {
        expect(imageJson(row as RowImage, map)).toBe(stringifyCanonical(rowToCanonical(row as RowImage, map)));
      }),
      { numRuns: 1000 },
    );
  });

  it('is null without a row or a table map', () => {
    const map: TableMap = { tableId: 1, schema: 's', table: 't', flags: 0, columns: [testColumn(ColumnType.LONG, { name: 'a' })], primaryKey: null, metadata: 'full' };
    expect(imageJson(null, map)).toBeNull();
    expect(imageJson(undefined, map)).toBeNull();
    expect(imageJson([1], null)).toBeNull();
    expect(imageJson([undefined], map)).toBe('{}');
  });
});
