import { describe, expect, it } from 'vitest';
import { CharsetText } from '../binlog/values/charset-text.js';
import { rowKey, rowKeyPart, rowKeyParts } from './row-key.js';

describe('rowKeyParts', () => {
  it('splits a rowKey into the parts rowKeyPart made, a comma or quote inside a string kept in its part', () => {
    const values = ['a,b', 'say "hi",\\', 7, 2n ** 64n, null, Buffer.from('0a2c', 'hex'), '', 'É'];
    expect(rowKeyParts(rowKey(values))).toEqual(values.map((v) => rowKeyPart(v)));
    expect(rowKeyParts(rowKey(['abc']))).toEqual(['S"abc"']);
    const sjis = new CharsetText('\\', Buffer.from([0x5c]), 'sjis');
    expect(rowKeyParts(rowKey([sjis, 1]))).toEqual([rowKeyPart(sjis), 'I1']);
  });

  it('is null for what is no rowKey: a string without its closing quote, or with text after it', () => {
    expect([rowKeyParts('S"abc'), rowKeyParts('S"a\\"'), rowKeyParts('S"a"x,I1')]).toEqual([null, null, null]);
  });
});
