import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeJsonBinary, encodeJsonDiffs, type EncodableDiff } from '../../../test/harness/json-binary-encoder.js';
import { ByteReader, ShortReadError } from '../byte-reader.js';
import { applyJsonDiffs, formatJsonPath, JsonDiffOperation, parseJsonPath, readJsonDiffs, type JsonDiff, type JsonPathLeg } from './json-diff.js';
import { decodeJsonBinary } from './json-binary.js';
import { JsonDecimal, type JsonNode, type JsonObject } from './json-value.js';
import { errorOf } from '../../../test/harness/error-of.js';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');
}

/** Reads a whole Json_diff_vector (u32 length first) the way the rows decoder does. */
function readVector(bytes: Buffer): { diffs: JsonDiff[]; reader: ByteReader } {
  const reader = new ByteReader(bytes);
  const length = reader.u32le();
  return { diffs: readJsonDiffs(reader, length), reader };
}


function obj(entries: Record<string, JsonNode>): JsonObject {
  return Object.assign(Object.create(null) as JsonObject, entries);
}

function diff(operation: JsonDiffOperation, path: string, value?: JsonNode): JsonDiff {
  return { operation, path, legs: parseJsonPath(path), value: operation === JsonDiffOperation.REMOVE ? undefined : (value ?? null) };
}

describe('readJsonDiffs: known answers (sql/json_diff.cc write_binary)', () => {
  it('reads REPLACE, INSERT and REMOVE', () => {
    const bytes = hex(`
      18 00 00 00          # 24 bytes of diffs
      00 03 24 2e 61       # REPLACE "$.a"
      03 05 05 00          #   value: int16 5
      01 03 24 2e 62       # INSERT "$.b"
      03 0c 01 78          #   value: "x"
      02 04 24 5b 30 5d    # REMOVE "$[0]"
      ff                   # the next column's byte`);
    const { diffs, reader } = readVector(bytes);
    expect(diffs).toEqual([
      { operation: 0, path: '$.a', legs: [{ kind: 'member', name: 'a' }], value: 5 },
      { operation: 1, path: '$.b', legs: [{ kind: 'member', name: 'b' }], value: 'x' },
      { operation: 2, path: '$[0]', legs: [{ kind: 'cell', index: 0, fromEnd: false }], value: undefined },
    ]);
    expect(reader.pos).toBe(bytes.length - 1);
  });

  it('reads an empty diff vector', () => {
    const { diffs, reader } = readVector(hex('00 00 00 00'));
    expect(diffs).toEqual([]);
    expect(reader.pos).toBe(4);
  });

  it('reads a value length in the 0xfc form and an empty value as null', () => {
    const value = encodeJsonBinary('y'.repeat(300));
    const body = Buffer.concat([hex('00 03 24 2e 61 fc'), Buffer.from([value.length & 0xff, value.length >> 8]), value, hex('01 03 24 2e 62 00')]);
    const { diffs } = readVector(Buffer.concat([Buffer.from([body.length & 0xff, body.length >> 8, 0, 0]), body]));
    expect(diffs.map((d) => d.value)).toEqual(['y'.repeat(300), null]);
  });

  const bad: Array<[string, string]> = [
    ['03 03 24 2e 61', 'corrupt JSON diff: expected operation 0, 1 or 2, found 3 at byte 0'],
    ['00', 'corrupt JSON diff: expected path length, 0 bytes left at byte 1'],
    ['00 09 24 2e 61', 'corrupt JSON diff: expected path of 9 bytes, 3 left at byte 1'],
    ['02 fb', 'corrupt JSON diff: expected path length, found the byte 0xfb at byte 1'],
    ['02 fc 01', 'corrupt JSON diff: expected path length of 3 bytes, 2 left at byte 1'],
    ['00 03 24 2e 61', 'corrupt JSON diff: expected value length, 0 bytes left at byte 5'],
    ['00 03 24 2e 61 05 05 00', 'corrupt JSON diff: expected value of 5 bytes, 2 left at byte 5'],
    ['02 01 61', 'corrupt JSON diff: expected a JSON path at byte 2 (corrupt JSON path "a": expected \'$\' at character 0)'],
    ['00 03 24 2e 61 01 04', 'corrupt JSON document: expected literal of 1 bytes, 0 left at byte 1'],
  ];
  it.each(bad)('refuses %s', (body, message) => {
    const b = hex(body);
    const err = errorOf(() => readVector(Buffer.concat([Buffer.from([b.length, 0, 0, 0]), b])));
    expect(err.code).toBe('BINLOG_CORRUPT_EVENT');
    expect(err.message).toBe(message);
  });

  it('a length beyond the event is a short read for the event decoder to place', () => {
    const reader = new ByteReader(hex('02 01 24'));
    expect(() => readJsonDiffs(reader, 9)).toThrow(ShortReadError);
  });
});

describe('parseJsonPath', () => {
  const cases: Array<[string, JsonPathLeg[]]> = [
    ['$', []],
    ['$.a', [{ kind: 'member', name: 'a' }]],
    ['$.a.b_1.$c', [{ kind: 'member', name: 'a' }, { kind: 'member', name: 'b_1' }, { kind: 'member', name: '$c' }]],
    ['$."a b"', [{ kind: 'member', name: 'a b' }]],
    ['$."q\\"uote\\\\"', [{ kind: 'member', name: 'q"uote\\' }]],
    ['$."\\u00e9"', [{ kind: 'member', name: 'é' }]],
    ['$.caf\\u00e9', [{ kind: 'member', name: 'café' }]],
    ['$.ключ', [{ kind: 'member', name: 'ключ' }]],
    ['$[0]', [{ kind: 'cell', index: 0, fromEnd: false }]],
    ['$[12][3]', [{ kind: 'cell', index: 12, fromEnd: false }, { kind: 'cell', index: 3, fromEnd: false }]],
    ['$[last]', [{ kind: 'cell', index: 0, fromEnd: true }]],
    ['$[last-2]', [{ kind: 'cell', index: 2, fromEnd: true }]],
    [' $ . a [ last - 1 ] ', [{ kind: 'member', name: 'a' }, { kind: 'cell', index: 1, fromEnd: true }]],
    ['$.a[1]."b.c"', [{ kind: 'member', name: 'a' }, { kind: 'cell', index: 1, fromEnd: false }, { kind: 'member', name: 'b.c' }]],
  ];
  it.each(cases)('%s', (text, legs) => {
    expect(parseJsonPath(text)).toEqual(legs);
  });

  const bad: Array<[string, string]> = [
    ['', 'corrupt JSON path "": expected \'$\' at character 0'],
    ['a', 'corrupt JSON path "a": expected \'$\' at character 0'],
    ['$a', 'corrupt JSON path "$a": expected \'.\' or \'[\' at character 1'],
    ['$.', 'corrupt JSON path "$.": expected a member name at character 2'],
    ['$.*', 'corrupt JSON path "$.*": expected a member name (wildcards cannot occur in a diff) at character 2'],
    ['$[*]', 'corrupt JSON path "$[*]": expected an array index (wildcards cannot occur in a diff) at character 2'],
    ['$**.a', 'corrupt JSON path "$**.a": expected \'.\' or \'[\' at character 1'],
    ['$[1 to 2]', 'corrupt JSON path "$[1 to 2]": expected \']\' (ranges cannot occur in a diff) at character 4'],
    ['$[1', 'corrupt JSON path "$[1": expected \']\' at character 3'],
    ['$[-1]', 'corrupt JSON path "$[-1]": expected an array index at character 2'],
    ['$."abc', 'corrupt JSON path "$.\\"abc": expected a closing \'"\' at character 2'],
    ['$."\\x"', 'corrupt JSON path "$.\\"\\\\x\\"": expected a valid JSON string as member name at character 2'],
  ];
  it.each(bad)('refuses %j', (text, message) => {
    const err = errorOf(() => parseJsonPath(text));
    expect(err.code).toBe('BINLOG_CORRUPT_EVENT');
    expect(err.message).toBe(message);
  });

  it('formats as Json_path::to_string and parses back', () => {
    expect(formatJsonPath([])).toBe('$');
    expect(
      formatJsonPath([
        { kind: 'member', name: 'a' },
        { kind: 'member', name: 'b c' },
        { kind: 'cell', index: 3, fromEnd: false },
        { kind: 'cell', index: 0, fromEnd: true },
        { kind: 'cell', index: 2, fromEnd: true },
        { kind: 'member', name: '' },
      ]),
    ).toBe('$.a."b c"[3][last][last-2].""');
    const legArb: fc.Arbitrary<JsonPathLeg> = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 10 }).map((name): JsonPathLeg => ({ kind: 'member', name })),
      fc.record({ kind: fc.constant('cell' as const), index: fc.nat(), fromEnd: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(legArb, { maxLength: 6 }), (legs) => {
        expect(parseJsonPath(formatJsonPath(legs))).toEqual(legs);
      }),
    );
  });
});

describe('applyJsonDiffs: the server semantics (apply_json_diffs)', () => {
  const base = (): JsonNode => obj({ a: 1, d: obj({ e: 'x' }), ccc: [10, 20, 30] });

  it('REPLACE replaces an existing member or cell in place', () => {
    expect(applyJsonDiffs(base(), [diff(0, '$.a', 2)])).toEqual({ a: 2, ccc: [10, 20, 30], d: { e: 'x' } });
    expect(applyJsonDiffs(base(), [diff(0, '$.ccc[1]', 'y')])).toEqual({ a: 1, ccc: [10, 'y', 30], d: { e: 'x' } });
    expect(applyJsonDiffs(base(), [diff(0, '$.ccc[last]', null)])).toEqual({ a: 1, ccc: [10, 20, null], d: { e: 'x' } });
    expect(applyJsonDiffs(base(), [diff(0, '$.ccc[last-2]', 0)])).toEqual({ a: 1, ccc: [0, 20, 30], d: { e: 'x' } });
    expect(Object.keys(applyJsonDiffs(base(), [diff(0, '$.a', 2)]) as JsonObject)).toEqual(['a', 'd', 'ccc']);
  });

  it('INSERT adds a member where the server orders it (length, then bytes)', () => {
    const out = applyJsonDiffs(base(), [diff(1, '$.bb', true), diff(1, '$.z', false), diff(1, '$.dddd', 0)]) as JsonObject;
    expect(Object.keys(out)).toEqual(['a', 'd', 'z', 'bb', 'ccc', 'dddd']);
    expect(out).toEqual({ a: 1, z: false, bb: true, ccc: [10, 20, 30], d: { e: 'x' }, dddd: 0 });
  });

  it('INSERT into an array at an index, clamped to the end; [last] inserts before the last', () => {
    expect(applyJsonDiffs([1, 2, 3], [diff(1, '$[1]', 9)])).toEqual([1, 9, 2, 3]);
    expect(applyJsonDiffs([1, 2, 3], [diff(1, '$[99]', 9)])).toEqual([1, 2, 3, 9]);
    expect(applyJsonDiffs([1, 2, 3], [diff(1, '$[last]', 9)])).toEqual([1, 2, 9, 3]);
    expect(applyJsonDiffs([1, 2, 3], [diff(1, '$[last-7]', 9)])).toEqual([9, 1, 2, 3]);
    expect(applyJsonDiffs([], [diff(1, '$[0]', 9)])).toEqual([9]);
  });

  it('REMOVE deletes a member or a cell', () => {
    expect(applyJsonDiffs(base(), [diff(2, '$.d.e')])).toEqual({ a: 1, ccc: [10, 20, 30], d: {} });
    expect(applyJsonDiffs(base(), [diff(2, '$.ccc[0]'), diff(2, '$.ccc[last]')])).toEqual({ a: 1, ccc: [20], d: { e: 'x' } });
  });

  it('applies diffs in order, each seeing the previous one', () => {
    const out = applyJsonDiffs(base(), [diff(1, '$.n', [1]), diff(1, '$.n[0]', 0), diff(0, '$.n[1]', 2), diff(2, '$.a')]);
    expect(out).toEqual({ ccc: [10, 20, 30], d: { e: 'x' }, n: [0, 2] });
  });

  const rejected: Array<[string, JsonNode, JsonDiff, string]> = [
    ['an empty path', base(), diff(0, '$', 1), 'REPLACE $: the path has no legs'],
    ['REPLACE of a missing member', base(), diff(0, '$.zz', 1), 'REPLACE $.zz: nothing to replace'],
    ['REPLACE past the end', base(), diff(0, '$.ccc[3]', 1), 'REPLACE $.ccc[3]: nothing to replace'],
    ['REPLACE with no auto-wrapping of a scalar', base(), diff(0, '$.a[0]', 1), 'REPLACE $.a[0]: nothing to replace'],
    ['a member leg on an array', base(), diff(0, '$.ccc.x', 1), 'REPLACE $.ccc.x: nothing to replace'],
    ['a missing parent', base(), diff(1, '$.q.r', 1), 'INSERT $.q.r: nothing at $.q'],
    ['INSERT over an existing member', base(), diff(1, '$.a', 1), 'INSERT $.a: the member already exists'],
    ['INSERT of a cell into an object', base(), diff(1, '$.d[0]', 1), 'INSERT $.d[0]: the parent is not an object or array matching the last leg'],
    ['INSERT under a scalar', base(), diff(1, '$.a.b', 1), 'INSERT $.a.b: the parent is not an object or array matching the last leg'],
    ['REMOVE of a missing member', base(), diff(2, '$.zz'), 'REMOVE $.zz: nothing to remove'],
    ['REMOVE past the end', base(), diff(2, '$.ccc[5]'), 'REMOVE $.ccc[5]: nothing to remove'],
    ['REMOVE of [last-9] before the start', base(), diff(2, '$.ccc[last-9]'), 'REMOVE $.ccc[last-9]: nothing to remove'],
    ['a diff on a scalar document', 7, diff(0, '$[0]', 1), 'REPLACE $[0]: nothing to replace'],
  ];
  it.each(rejected)('rejects %s', (_name, doc, d, why) => {
    const err = errorOf(() => applyJsonDiffs(doc, [d]));
    expect(err.code).toBe('BINLOG_CORRUPT_EVENT');
    expect(err.message).toBe(`JSON diff does not apply to the before image: ${why}`);
  });
});

// ---------------------------------------------------------------------------------------------
// Laws.

const INT64_MIN = -(2n ** 63n);
const keyArb = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.constantFrom('__proto__', 'a', 'bb', '😀'));
const scalarArb: fc.Arbitrary<JsonNode> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.bigInt({ min: INT64_MIN, max: 2n ** 64n - 1n }).filter((v) => v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.constantFrom(new JsonDecimal('1.50'), new JsonDecimal('-0.001')),
);
const nodeArb: fc.Arbitrary<JsonNode> = fc.letrec<{ node: JsonNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarArb,
    fc.array(tie('node'), { maxLength: 5 }),
    fc.uniqueArray(fc.tuple(keyArb, tie('node')), { maxLength: 5, selector: ([k]) => k }).map((entries) => {
      const o = Object.create(null) as JsonObject;
      for (const [k, v] of entries) o[k] = v;
      return o;
    }),
  ),
})).node;

/** Every path (as legs) that exists in a document, the root excluded. */
function existingPaths(node: JsonNode, prefix: JsonPathLeg[] = [], out: JsonPathLeg[][] = []): JsonPathLeg[][] {
  if (Array.isArray(node)) {
    node.forEach((v, i) => {
      const legs: JsonPathLeg[] = [...prefix, { kind: 'cell', index: i, fromEnd: false }];
      out.push(legs);
      existingPaths(v, legs, out);
    });
  } else if (typeof node === 'object' && node !== null && !(node instanceof JsonDecimal)) {
    for (const [k, v] of Object.entries(node)) {
      const legs: JsonPathLeg[] = [...prefix, { kind: 'member', name: k }];
      out.push(legs);
      existingPaths(v, legs, out);
    }
  }
  return out;
}

function read(node: JsonNode, legs: readonly JsonPathLeg[]): JsonNode | undefined {
  let cur: JsonNode | undefined = node;
  for (const leg of legs) {
    if (leg.kind === 'cell') cur = Array.isArray(cur) ? cur[leg.index] : undefined;
    else cur = typeof cur === 'object' && cur !== null && !Array.isArray(cur) && !(cur instanceof JsonDecimal) ? cur[leg.name] : undefined;
  }
  return cur;
}

/** A text snapshot that sees everything toEqual sees plus key order, bigint and -0. */
function snapshot(node: JsonNode): string {
  if (typeof node === 'bigint') return `${node}n`;
  if (Object.is(node, -0)) return '-0';
  if (node instanceof JsonDecimal) return `dec(${node.text})`;
  if (Array.isArray(node)) return `[${node.map(snapshot).join(',')}]`;
  if (typeof node === 'object' && node !== null) return `{${Object.keys(node).map((k) => `${JSON.stringify(k)}:${snapshot(node[k]!)}`).join(',')}}`;
  return JSON.stringify(node);
}

const docWithPath = nodeArb
  .map((doc) => ({ doc, paths: existingPaths(doc) }))
  .filter(({ paths }) => paths.length > 0)
  .chain(({ doc, paths }) => fc.record({ doc: fc.constant(doc), legs: fc.constantFrom(...paths) }));

describe('applyJsonDiffs: laws', () => {
  it('an empty diff list is the identity', () => {
    fc.assert(
      fc.property(nodeArb, (doc) => {
        expect(snapshot(applyJsonDiffs(doc, []))).toBe(snapshot(doc));
      }),
    );
  });

  it('after REPLACE at p, reading p gives the value, and the input is unchanged', () => {
    fc.assert(
      fc.property(docWithPath, nodeArb, ({ doc, legs }, value) => {
        const before = snapshot(doc);
        const out = applyJsonDiffs(doc, [{ operation: 0, path: formatJsonPath(legs), legs, value }]);
        expect(snapshot(read(out, legs) ?? null)).toBe(snapshot(value));
        expect(snapshot(doc)).toBe(before);
      }),
    );
  });

  it('REMOVE at p then INSERT of the old value at p restores the document', () => {
    fc.assert(
      fc.property(docWithPath, ({ doc, legs }) => {
        const before = snapshot(doc);
        const old = read(doc, legs)!;
        const path = formatJsonPath(legs);
        const out = applyJsonDiffs(doc, [
          { operation: 2, path, legs, value: undefined },
          { operation: 1, path, legs, value: old },
        ]);
        // Objects come back in the server's key order; compare content, then the input.
        expect(out).toEqual(doc);
        expect(snapshot(doc)).toBe(before);
      }),
    );
  });

  it('diffs survive encode → readJsonDiffs unchanged', () => {
    const opArb = fc.constantFrom(0 as const, 1 as const, 2 as const);
    const legArb: fc.Arbitrary<JsonPathLeg> = fc.oneof(
      keyArb.map((name): JsonPathLeg => ({ kind: 'member', name })),
      fc.record({ kind: fc.constant('cell' as const), index: fc.nat(1000), fromEnd: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(opArb, fc.array(legArb, { maxLength: 4 }), nodeArb), { maxLength: 5 }), (raw) => {
        const encodable: EncodableDiff[] = raw.map(([operation, legs, value]) => ({ operation, path: formatJsonPath(legs), value }));
        const { diffs } = readVector(encodeJsonDiffs(encodable));
        expect(diffs).toEqual(
          raw.map(([operation, legs, value]) => ({ operation, path: formatJsonPath(legs), legs, value: operation === 2 ? undefined : value })),
        );
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Real MySQL 8.0.22 output (rust_mysql_common test-data/binlogs/json.binlog.000001, table
// mysql.t(id, json_col JSON, name and age generated from it)): the after image of row id=1 in
// the UPDATE_ROWS event at 2612, then the PARTIAL_UPDATE_ROWS event at 3750 whose JSON column
// holds this diff vector; the same row's generated column age reads 26. Embedded as vectors
// because src/binlog may not do I/O.

describe('real MySQL 8.0.22 partial JSON update', () => {
  it('reads the diff vector and applies it to the previous image', () => {
    const doc = decodeJsonBinary(
      Buffer.from('0003003300190003001c000400200004000519000c24000c2f00616765646174616e616d650a78787878787878787878034a6f65', 'hex'),
    ).node;
    expect(doc).toEqual({ age: 25, data: 'xxxxxxxxxx', name: 'Joe' });
    const { diffs, reader } = readVector(Buffer.from('0b0000000005242e61676503051a00', 'hex'));
    expect(reader.remaining).toBe(0);
    expect(diffs).toEqual([{ operation: 0, path: '$.age', legs: [{ kind: 'member', name: 'age' }], value: 26 }]);
    const after = applyJsonDiffs(doc, diffs) as JsonObject;
    expect(after).toEqual({ age: 26, data: 'xxxxxxxxxx', name: 'Joe' });
    expect(Object.keys(after)).toEqual(['age', 'data', 'name']);
    expect(doc).toEqual({ age: 25, data: 'xxxxxxxxxx', name: 'Joe' });
  });
});
