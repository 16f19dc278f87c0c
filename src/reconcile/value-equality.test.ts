import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { sameUniqueValue, sameValue } from './value-equality.js';
import { CharsetText } from '../binlog/values/charset-text.js';
import { JsonDecimal, JsonPatch, JsonValue } from '../binlog/values/json-value.js';

const float = { dataType: 'float' };
const double = { dataType: 'double' };

describe('sameValue', () => {
  it('tells undefined (not logged) from NULL and both from values', () => {
    expect(sameValue(undefined, undefined)).toBe(true);
    expect(sameValue(null, null)).toBe(true);
    expect(sameValue(undefined, null)).toBe(false);
    expect(sameValue(null, 0)).toBe(false);
    expect(sameValue(null, '')).toBe(false);
  });

  it('compares integers by value across number and bigint', () => {
    expect(sameValue(5, 5n)).toBe(true);
    expect(sameValue(5n, 5)).toBe(true);
    expect(sameValue(9007199254740993n, 9007199254740993n)).toBe(true);
    expect(sameValue(9007199254740992, 9007199254740993n)).toBe(false);
    expect(sameValue(5.5, 5n)).toBe(false);
    expect(sameValue(5, '5')).toBe(false);
  });

  it('compares FLOAT as float32 and DOUBLE exactly', () => {
    // The binlog holds float32(π) = 3.1415927410125732; mariadb-dump wrote 3.14159 (6 digits).
    expect(sameValue(3.1415927410125732, 3.14159, float)).toBe(true);
    expect(sameValue(3.1415927410125732, 3.14159, double)).toBe(false);
    expect(sameValue(9370.328532531857, 9370.328532531856, double)).toBe(false);
    expect(sameValue(1.5, 1.5, double)).toBe(true);
    expect(sameValue(1.5, 1.6, float)).toBe(false);
    expect(sameValue(Math.fround(0.1), 0.1, float)).toBe(true);
    expect(sameValue(3.14159, 3.14158, float)).toBe(false);
  });

  it('compares strings (DECIMAL, temporal, text) exactly', () => {
    expect(sameValue('1.50', '1.50')).toBe(true);
    expect(sameValue('1.50', '1.5')).toBe(false);
    expect(sameValue('Bob', 'bob')).toBe(false);
  });

  it('compares text with kept bytes (CharsetText) by its bytes with another such value, by its text with a string', () => {
    const sjis5c = new CharsetText('\\', Buffer.from('5c', 'hex'), 'sjis');
    const circled1 = new CharsetText('?', Buffer.from('8740', 'hex'), 'sjis');
    const circled2 = new CharsetText('?', Buffer.from('8741', 'hex'), 'sjis');
    // 0x815F (a plain string: it converts back as itself) and 0x5C both read as \: a DR seeded through utf8mb4 holds the same value.
    expect(sameValue(sjis5c, '\\')).toBe(true);
    expect(sameValue('\\', sjis5c)).toBe(true);
    expect(sameValue(sjis5c, new CharsetText('\\', Buffer.from('5c', 'hex'), 'sjis'))).toBe(true);
    // ① and ② both read as '?', and are different values; '?' itself is what a utf8mb4 conversion made of either.
    expect(sameValue(circled1, circled2)).toBe(false);
    expect(sameValue(circled1, '?')).toBe(true);
    expect(sameValue(circled1, 'x')).toBe(false);
    expect(sameValue(circled1, Buffer.from('8740', 'hex'))).toBe(false);
    expect(sameUniqueValue(circled1, circled2, 'sjis_japanese_ci')).toBe(false);
  });

  it('compares Buffers by bytes', () => {
    expect(sameValue(Buffer.from([1, 2]), Buffer.from([1, 2]))).toBe(true);
    expect(sameValue(Buffer.from([1, 2]), Buffer.from([1, 3]))).toBe(false);
    expect(sameValue(Buffer.from('ab'), 'ab')).toBe(false);
  });

  it('compares JSON structurally, ignoring key order', () => {
    const a = new JsonValue({ x: 1, y: [1, 'a', null, { z: true }], d: new JsonDecimal('1.10') });
    const b = new JsonValue({ d: new JsonDecimal('1.10'), y: [1, 'a', null, { z: true }], x: 1n });
    expect(sameValue(a, b)).toBe(true);
    expect(sameValue(new JsonValue([1, 2]), new JsonValue([2, 1]))).toBe(false);
    expect(sameValue(new JsonValue({ a: 1 }), new JsonValue({ a: 1, b: 2 }))).toBe(false);
    expect(sameValue(new JsonValue({ a: null }), new JsonValue({ b: null }))).toBe(false);
    expect(sameValue(new JsonValue('1'), new JsonValue(1))).toBe(false);
    expect(sameValue(new JsonValue({}), new JsonValue([]))).toBe(false);
  });

  it('compares numbers inside JSON by value, as MySQL does: a DECIMAL, a DOUBLE and an integer of the same value are equal', () => {
    // A DR's document read back as text cannot tell a DECIMAL 1.5 from a DOUBLE 1.5.
    const same: [unknown, unknown][] = [
      [new JsonDecimal('1.1'), new JsonDecimal('1.10')],
      [new JsonDecimal('1.5'), 1.5],
      [new JsonDecimal('0.1'), 0.1],
      [new JsonDecimal('25.0'), 25],
      [new JsonDecimal('2.5e1'), 25],
      [new JsonDecimal('-0.0'), 0],
      [new JsonDecimal('18446744073709551616.000'), 18446744073709551616n],
      [new JsonDecimal('1e20'), 100000000000000000000n],
      // Found by json-text.test.ts: a double past 2^53 prints as its shortest spelling, which reads
      // back as an integer that is not the double's exact value, only nearest to it.
      [-32075380129193350, -32075380129193350n],
    ];
    for (const [a, b] of same) expect([a, b, sameValue(new JsonValue({ n: a as never }), new JsonValue({ n: b as never }))]).toEqual([a, b, true]);
    const different: [unknown, unknown][] = [
      [new JsonDecimal('1.1'), new JsonDecimal('1.01')],
      [new JsonDecimal('0.1000000000000000000001'), new JsonDecimal('0.1')],
      [new JsonDecimal('18446744073709551616.5'), 18446744073709551616n],
      [new JsonDecimal('-1'), 1],
      [new JsonDecimal('2'), '2'],
      [-32075380129193350, -32075380129193340n],
    ];
    for (const [a, b] of different) expect([a, b, sameValue(new JsonValue({ n: a as never }), new JsonValue({ n: b as never }))]).toEqual([a, b, false]);
  });

  it("compares a MySQL JSON value with the text a MariaDB DR keeps for it: the same document in any spelling", () => {
    const doc = new JsonValue({ age: 24, data: 'x', tags: [1, 2.5, 18446744073709551616n] });
    expect(sameValue(doc, '{ "tags": [1, 2.50, 18446744073709551616], "data": "x", "age": 24.0 }')).toBe(true);
    expect(sameValue('{"age":24,"data":"x","tags":[1,2.5,18446744073709551616]}', doc)).toBe(true);
    expect(sameValue(doc, '{"age":24,"data":"y","tags":[1,2.5,18446744073709551616]}')).toBe(false);
    expect(sameValue(doc, 'not json')).toBe(false);
    expect(sameValue(new JsonValue('x'), '"x"')).toBe(true);
    expect(sameValue(new JsonValue(null), 'null')).toBe(true);
  });

  it('never calls a JsonPatch equal, not even to itself', () => {
    const p = new JsonPatch([{ op: 'remove', path: '$.a' }]);
    expect(sameValue(p, p)).toBe(false);
  });

  it('is symmetric and reflexive on plain values', () => {
    const value = fc.oneof(fc.constant(null), fc.integer(), fc.bigInt(), fc.double({ noNaN: true }), fc.string(), fc.uint8Array().map((u) => Buffer.from(u)));
    fc.assert(fc.property(value, value, (a, b) => {
      expect(sameValue(a, b, float)).toBe(sameValue(b, a, float));
      expect(sameValue(a, a)).toBe(true);
    }));
  });
});

describe('sameUniqueValue', () => {
  it('folds case and trailing spaces under a PAD SPACE _ci collation', () => {
    expect(sameUniqueValue('Bob@x', 'bob@x', 'utf8mb4_general_ci')).toBe(true);
    expect(sameUniqueValue('bob ', 'BOB', 'utf8mb4_unicode_ci')).toBe(true);
    expect(sameUniqueValue('bob', 'bobby', 'utf8mb4_general_ci')).toBe(false);
  });

  it('keeps trailing spaces under NO PAD collations', () => {
    expect(sameUniqueValue('bob ', 'Bob', 'utf8mb4_0900_ai_ci')).toBe(false);
    expect(sameUniqueValue('bob', 'Bob', 'utf8mb4_0900_ai_ci')).toBe(true);
    expect(sameUniqueValue('bob ', 'bob', 'utf8mb4_nopad_bin')).toBe(false);
  });

  it('ignores accents only where the name says _ai_', () => {
    expect(sameUniqueValue('José', 'jose', 'utf8mb4_0900_ai_ci')).toBe(true);
    expect(sameUniqueValue('José', 'jose', 'utf8mb4_0900_as_ci')).toBe(false);
    expect(sameUniqueValue('åsa', 'asa', 'latin1_swedish_ci')).toBe(false);
  });

  it('folds the measured collations as the server compares (RELIABILITY 7.12: jose = josé under general_ci)', () => {
    expect(sameUniqueValue('jose', 'josé', 'utf8mb4_general_ci')).toBe(true);
    expect(sameUniqueValue('JOSÉ ', 'jose', 'utf8mb3_general_ci')).toBe(true);
    expect(sameUniqueValue('straße', 'strase', 'utf8mb4_general_ci')).toBe(true);
    expect(sameUniqueValue('straße', 'strasse', 'utf8mb4_general_ci')).toBe(false);
    // general_ci weighs every 4-byte character alike.
    expect(sameUniqueValue('a😀', 'a🙂', 'utf8mb4_general_ci')).toBe(true);
    expect(sameUniqueValue('a😀', 'a🙂', 'utf8mb4_unicode_520_ci')).toBe(false);
    // UCA expansions and ignorables; a no-break space weighs as a space (cut at the end under PAD SPACE).
    expect(sameUniqueValue('straße', 'strasse', 'utf8mb4_unicode_ci')).toBe(true);
    expect(sameUniqueValue('Æsir', 'aesir', 'utf8mb4_unicode_520_ci')).toBe(true);
    expect(sameUniqueValue('a\u200db', 'ab', 'utf8mb4_unicode_ci')).toBe(true);
    expect(sameUniqueValue('a\u00a0', 'a', 'utf8mb4_unicode_ci')).toBe(true);
    expect(sameUniqueValue('a\u00a0', 'a', 'utf8mb4_general_ci')).toBe(false);
    expect(sameUniqueValue('a ', 'a', 'utf8mb4_unicode_nopad_ci')).toBe(false);
    // latin1_swedish_ci: ü is y, æ is ä, but å is not a.
    expect(sameUniqueValue('Müller', 'myller', 'latin1_swedish_ci')).toBe(true);
    expect(sameUniqueValue('æ', 'Ä', 'latin1_swedish_ci')).toBe(true);
    expect(sameUniqueValue('å', 'a', 'latin1_swedish_ci')).toBe(false);
  });

  it('compares case-sensitively under _bin and binary', () => {
    expect(sameUniqueValue('Bob', 'bob', 'utf8mb4_bin')).toBe(false);
    expect(sameUniqueValue('bob ', 'bob', 'utf8mb4_bin')).toBe(true);
    expect(sameUniqueValue('bob ', 'bob', 'binary')).toBe(false);
    expect(sameUniqueValue(Buffer.from('a'), Buffer.from('a'), null)).toBe(true);
  });

  it('never lets NULL or an unlogged value collide', () => {
    expect(sameUniqueValue(null, null, 'utf8mb4_general_ci')).toBe(false);
    expect(sameUniqueValue(null, null, null)).toBe(false);
    expect(sameUniqueValue(undefined, undefined, null)).toBe(false);
  });

  it('compares numbers by value', () => {
    expect(sameUniqueValue(7, 7n, null)).toBe(true);
    expect(sameUniqueValue(7, 8, null)).toBe(false);
  });
});
