import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ColumnDef } from '../column.js';
import { ColumnType } from '../column-types.js';
import { RawJson, shortestFloat32, stringifyCanonical, toCanonical } from './canonical-json.js';
import { JsonDecimal, JsonValue } from './json-value.js';
import { testColumn } from '../../../test/harness/value-encoder.js';

const col = (type: number, overrides: Partial<ColumnDef> = {}): ColumnDef => testColumn(type, overrides);
const json = (value: Parameters<typeof toCanonical>[0], c: ColumnDef): string => stringifyCanonical(toCanonical(value, c));

describe('toCanonical', () => {
  it('integers, YEAR and BIT: numbers within ±(2^53−1), else strings of digits', () => {
    const big = col(ColumnType.LONGLONG);
    expect(toCanonical(42, big)).toBe(42);
    expect(toCanonical(-9007199254740991, big)).toBe(-9007199254740991);
    expect(toCanonical(9007199254740992n, big)).toBe('9007199254740992');
    expect(toCanonical(-9223372036854775808n, big)).toBe('-9223372036854775808');
    expect(toCanonical(18446744073709551615n, col(ColumnType.BIT, { meta: 64 }))).toBe('18446744073709551615');
    expect(toCanonical(12n, big)).toBe(12);
    expect(toCanonical(2155, col(ColumnType.YEAR))).toBe(2155);
  });

  it('DECIMAL, temporal, text, ENUM and SET as they are; ENUM/SET numbers without labels', () => {
    expect(toCanonical('-1234.56', col(ColumnType.NEWDECIMAL, { meta: 0x0602 }))).toBe('-1234.56');
    expect(toCanonical('-838:59:59.000000', col(ColumnType.TIME2, { meta: 6 }))).toBe('-838:59:59.000000');
    expect(toCanonical('m1,m3', col(ColumnType.SET, { meta: 1 }))).toBe('m1,m3');
    expect(toCanonical(3, col(ColumnType.ENUM, { meta: 1 }))).toBe(3);
    expect(toCanonical(18446744073709551615n, col(ColumnType.SET, { meta: 8 }))).toBe('18446744073709551615');
  });

  it('NULL is null; a column not logged stays undefined and drops out of objects', () => {
    expect(toCanonical(null, col(ColumnType.LONG))).toBeNull();
    expect(toCanonical(undefined, col(ColumnType.LONG))).toBeUndefined();
    expect(stringifyCanonical({ a: toCanonical(undefined, col(ColumnType.LONG)), b: toCanonical(null, col(ColumnType.LONG)) })).toBe('{"b":null}');
  });

  it('FLOAT as the shortest decimal that round-trips to float32; DOUBLE as is', () => {
    const f = col(ColumnType.FLOAT, { meta: 4 });
    expect(json(Math.fround(0.1), f)).toBe('0.1');
    expect(json(Math.fround(16777217), f)).toBe('16777216');
    expect(json(Math.fround(3.4028234663852886e38), f)).toBe('3.4028235e+38');
    expect(json(Math.fround(1.17549435e-38), f)).toBe('1.1754944e-38');
    expect(json(Math.fround(-0), f)).toBe('0');
    expect(json(9370.328532531857, col(ColumnType.DOUBLE, { meta: 8 }))).toBe('9370.328532531857');
    expect(toCanonical(Number.NaN, f)).toBe('NaN');
  });

  it('binary data as base64, VECTOR as float32 numbers', () => {
    expect(toCanonical(Buffer.from('deadbeef', 'hex'), col(ColumnType.BLOB, { meta: 2, collation: 63 }))).toBe('3q2+7w==');
    expect(toCanonical(Buffer.from([0x61]), col(ColumnType.VARCHAR, { meta: 10, collation: null }))).toBe('YQ==');
    expect(toCanonical(Buffer.from('0101000000', 'hex'), col(ColumnType.GEOMETRY, { meta: 4 }))).toBe('AQEAAAA=');
    const v = Buffer.from('cdcc8c3fcdcc0c4033335340', 'hex');
    expect(json(v, col(ColumnType.VECTOR, { meta: 4 }))).toBe('[1.1,2.2,3.3]');
  });

  it('MySQL JSON as the document, big integers and DECIMALs as raw number literals, keys in order', () => {
    const doc = new JsonValue({ z: 1, a: [true, null, 'é"\n'], big: 18446744073709551615n, neg: -9223372036854775808n, d: new JsonDecimal('3.1400'), f: 0.5, o: {} });
    const c = col(ColumnType.JSON, { meta: 4 });
    expect(toCanonical(doc, c)).toBeInstanceOf(RawJson);
    expect(json(doc, c)).toBe('{"z":1,"a":[true,null,"é\\"\\n"],"big":18446744073709551615,"neg":-9223372036854775808,"d":3.1400,"f":0.5,"o":{}}');
    expect(json(new JsonValue('text'), c)).toBe('"text"');
    expect(json(new JsonValue(null), c)).toBe('null');
  });

  describe('MariaDB JSON (text with isJson)', () => {
    const c = col(ColumnType.BLOB, { meta: 4, collation: 46, isJson: true });

    it('is the parsed value written back compactly, long numbers verbatim, keys and duplicates in document order', () => {
      const text = '{ "b" : [1.0, 12345678901234567890, 0.1234567890123456789, 1e400, -0, 1E2, 2.5e-3, 0.0, "x\\u00e9\\/"],\n "10": 2, "a": 1, "a": 3 }';
      expect(json(text, c)).toBe('{"b":[1,12345678901234567890,0.1234567890123456789,1e400,-0,100,0.0025,0,"xé/"],"10":2,"a":1,"a":3}');
      expect(json(' 123 ', c)).toBe('123');
      expect(json('"s"', c)).toBe('"s"');
      expect(json('[]', c)).toBe('[]');
      expect(json('1e-320', c)).toBe('1e-320');
    });

    it('stays a string when the text is not JSON', () => {
      for (const bad of ['', '{', '{"a":}', '[1,]', '01', '1.', '.5', '"\\x"', 'tru', '{"a":1}x', '"\u0001"', '-', '1e']) {
        expect(toCanonical(bad, c)).toBe(bad);
      }
    });

    it('rewrites any JSON text to exactly what JSON.stringify makes of the same value', () => {
      fc.assert(
        fc.property(fc.jsonValue(), fc.constantFrom(0, 2), (v, indent) => {
          const text = JSON.stringify(v, null, indent);
          expect(json(text, c)).toBe(JSON.stringify(v));
        }),
        { numRuns: 1000 },
      );
    });
  });
});

describe('shortestFloat32', () => {
  it('finds the shortest decimal that maps back to the same float32', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (f) => {
        const d = shortestFloat32(f);
        expect(Math.fround(d)).toBe(Math.fround(f));
        const digits = d === 0 ? 1 : d.toExponential().replace(/e.*$/, '').replace(/[-.]/g, '').length;
        expect(digits).toBeLessThanOrEqual(9);
        if (digits > 1) expect(Math.fround(Number(f.toPrecision(digits - 1)))).not.toBe(f);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('stringifyCanonical', () => {
  it('is JSON.stringify wherever JSON.stringify is exact', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(stringifyCanonical(v as never)).toBe(JSON.stringify(v));
      }),
      { numRuns: 1000 },
    );
    const withExtras = { a: undefined, b: [undefined, () => 1, Number.NaN, -0], d: new Date(0), buf: Buffer.from('hi'), nested: { toJSON: () => 'x' } };
    expect(stringifyCanonical(withExtras)).toBe(JSON.stringify(withExtras));
    // Row objects are made with a null prototype so a column may be called __proto__.
    const row = Object.create(null) as Record<string, unknown>;
    row['__proto__'] = 1;
    row['k'] = 'v';
    expect(stringifyCanonical(row)).toBe('{"__proto__":1,"k":"v"}');
  });

  it('prints raw literals verbatim and bigints as digits', () => {
    expect(stringifyCanonical({ r: new RawJson('12345678901234567890.5'), b: 123456789012345678901234567890n, d: new JsonDecimal('0.10') })).toBe(
      '{"r":12345678901234567890.5,"b":123456789012345678901234567890,"d":0.10}',
    );
    expect(stringifyCanonical(undefined)).toBe('null');
  });

  it('JSON.stringify (an application printing a ledger line its own way) gives a RawJson as its value, or its exact text when no JS value holds it', () => {
    const line = { doc: new RawJson('{"a":[1,2.5,null],"s":"x"}'), big: new RawJson('123456789012345678901234'), dec: new RawJson('0.10'), dup: new RawJson('{"x":1,"x":2}') };
    expect(JSON.stringify(line)).toBe('{"doc":{"a":[1,2.5,null],"s":"x"},"big":"123456789012345678901234","dec":"0.10","dup":"{\\"x\\":1,\\"x\\":2}"}');
    // The engine's own printer is unchanged: verbatim.
    expect(stringifyCanonical(line)).toBe('{"doc":{"a":[1,2.5,null],"s":"x"},"big":123456789012345678901234,"dec":0.10,"dup":{"x":1,"x":2}}');
  });
});
