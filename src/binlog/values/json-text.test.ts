import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sameValue } from '../../reconcile/value-equality.js';
import { ColumnType } from '../column-types.js';
import type { ColumnDef } from '../column.js';
import { RawJson, toCanonical } from './canonical-json.js';
import { parseJsonText } from './json-text.js';
import { JsonDecimal, JsonValue, type JsonNode, type JsonObject } from './json-value.js';

const JSON_COLUMN = { type: ColumnType.JSON, isJson: true } as unknown as ColumnDef;

/** A document's compact text, as the ledger and the DR writes print it. */
function text(node: JsonNode): string {
  return (toCanonical(new JsonValue(node), JSON_COLUMN) as RawJson).json;
}

describe('parseJsonText', () => {
  it('keeps every number exactly: safe integers as numbers, larger ones as bigints, a double that prints back the same as a double, any other spelling as its text', () => {
    expect(parseJsonText('[1, -9007199254740991, 9007199254740992, -18446744073709551617, 1.5, 0.1, 1.50, 1e300, 2.5E-3, -0, -0.0, 0]')).toEqual([
      1,
      -9007199254740991,
      9007199254740992n,
      -18446744073709551617n,
      1.5,
      0.1,
      new JsonDecimal('1.50'),
      new JsonDecimal('1e300'),
      new JsonDecimal('2.5E-3'),
      new JsonDecimal('-0'),
      new JsonDecimal('-0.0'),
      0,
    ]);
  });

  it('reads objects with any spacing into prototype-less objects, __proto__ a member like another', () => {
    const o = parseJsonText(' {\n "a" : [ true , false , null ] ,"__proto__": {"x": "y\\u00e9\\"\\\\"}, "é😀": ""}\t') as JsonObject;
    expect(Object.getPrototypeOf(o)).toBeNull();
    expect(Object.keys(o)).toEqual(['a', '__proto__', 'é😀']);
    expect(o['a']).toEqual([true, false, null]);
    expect({ ...(o['__proto__'] as JsonObject) }).toEqual({ x: 'yé"\\' });
  });

  it('tells the document null from text that is no document (undefined)', () => {
    expect(parseJsonText('null')).toBeNull();
    for (const bad of ['', 'nul', '{"a":1', '[1,]', '{"a" 1}', '01', '1.', '.5', '+1', '1e', '"a\u0001"', '"\\x"', '[1] 2', 'NaN', '{"a":1,"a":2}', '[' .repeat(1002) + ']'.repeat(1002)]) {
      expect([bad.slice(0, 20), parseJsonText(bad)]).toEqual([bad.slice(0, 20), undefined]);
    }
  });

  const scalar = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).filter((v) => v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
    fc.string({ unit: 'grapheme', maxLength: 8 }),
    fc.constantFrom('1.50', '-0.001', '1e300', '12345678901234567890.123456789', '-0.0').map((t) => new JsonDecimal(t)),
  );
  const node: fc.Arbitrary<JsonNode> = fc.letrec<{ node: JsonNode }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      scalar,
      fc.array(tie('node'), { maxLength: 4 }),
      fc.uniqueArray(fc.tuple(fc.string({ maxLength: 4 }), tie('node')), { maxLength: 4, selector: ([k]) => k }).map((entries) => {
        const o = Object.create(null) as JsonObject;
        for (const [k, v] of entries) o[k] = v;
        return o;
      }),
    ),
  })).node;

  it('reads back any document the engine prints, the same value and, printed again, the same text', () => {
    fc.assert(
      fc.property(node, (doc) => {
        const printed = text(doc);
        const parsed = parseJsonText(printed);
        expect(parsed).not.toBeUndefined();
        expect(sameValue(new JsonValue(parsed!), new JsonValue(doc))).toBe(true);
        expect(text(parsed!)).toBe(printed);
      }),
      { numRuns: 2000 },
    );
  });
});
