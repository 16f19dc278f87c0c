import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { KeyMap, canonicalKey } from './key-map.js';
import { JsonValue } from '../binlog/values/json-value.js';

describe('canonicalKey', () => {
  it('number and bigint integers coincide; strings, binary and NULL do not collide with them', () => {
    expect(canonicalKey([42])).toBe('I42');
    expect(canonicalKey([42n])).toBe('I42');
    expect(canonicalKey([9007199254740993n, 'a,b'])).toBe('I9007199254740993,S"a,b"');
    expect(canonicalKey(['42'])).toBe('S"42"');
    expect(canonicalKey([Buffer.from([0x34, 0x32])])).toBe('B3432');
    expect(canonicalKey([null, 1.5])).toBe('N,F1.5');
  });

  it('refuses values that cannot be keys', () => {
    expect(() => canonicalKey([undefined])).toThrow(expect.objectContaining({ code: 'RECONCILE_KEY_BAD_VALUE' }));
    expect(() => canonicalKey([new JsonValue(1)])).toThrow(expect.objectContaining({ code: 'RECONCILE_KEY_BAD_VALUE' }));
  });

  it('is injective on integer tuples (property)', () => {
    const int = fc.oneof(fc.integer(), fc.bigInt());
    fc.assert(fc.property(fc.array(int, { maxLength: 3 }), fc.array(int, { maxLength: 3 }), (a, b) => {
      const same = a.length === b.length && a.every((x, i) => BigInt(x) === BigInt(b[i] as number | bigint));
      expect(canonicalKey(a) === canonicalKey(b)).toBe(same);
    }));
  });
});

describe('KeyMap', () => {
  it('maps old to new, across number and bigint, and lists entries with integers as numbers', () => {
    const m = new KeyMap();
    m.set('shop', 'orders', [5], [101n]);
    expect(m.get('shop', 'orders', [5n])).toEqual([101]);
    expect(m.get('shop', 'orders', [6])).toBeUndefined();
    expect(m.get('shop', 'other', [5])).toBeUndefined();
    expect(m.hasTable('shop', 'orders')).toBe(true);
    expect(m.size).toBe(1);
    expect(m.entries()).toEqual([{ schema: 'shop', table: 'orders', oldKey: [5], newKey: [101] }]);
  });

  it('setting the same mapping twice is a no-op; a different one for the same old key is refused', () => {
    const m = new KeyMap();
    m.set('s', 't', [1], [10]);
    m.set('s', 't', [1n], [10n]);
    expect(m.size).toBe(1);
    expect(() => m.set('s', 't', [1], [11])).toThrow(expect.objectContaining({ code: 'RECONCILE_KEY_ALREADY_MAPPED', details: { table: 's.t', key: 'I1' } }));
  });

  it('refuses two old keys to one new key', () => {
    const m = new KeyMap();
    m.set('s', 't', [1], [10]);
    expect(() => m.set('s', 't', [2], [10n])).toThrow(expect.objectContaining({ code: 'RECONCILE_KEY_DUPLICATE_TARGET' }));
    // Another table may use the same new key.
    m.set('s', 'u', [2], [10]);
    expect(m.size).toBe(2);
  });

  it('refuses a new key that is an old key still pending, and an identity mapping', () => {
    const m = new KeyMap();
    m.set('s', 't', [1], [10]);
    expect(() => m.set('s', 't', [2], [1])).toThrow(expect.objectContaining({ code: 'RECONCILE_KEY_NOT_FRESH' }));
    expect(() => m.set('s', 't', [3], [3n])).toThrow(expect.objectContaining({ code: 'RECONCILE_KEY_NOT_FRESH' }));
    expect(() => m.set('s', 't', [3], [4, 5])).toThrow(expect.objectContaining({ code: 'RECONCILE_KEY_BAD_VALUE' }));
  });

  it('links onto a key that is an old key re-keyed away (a DR row with that id), keeping every other rule', () => {
    const m = new KeyMap();
    m.set('s', 't', [2], [4]); // lost row 2 re-keyed: the DR gave 2 to another record
    m.link('s', 't', [3], [2]); // lost row 3 is that DR record
    expect([m.get('s', 't', [2]), m.get('s', 't', [3])]).toEqual([[4], [2]]);
    expect([m.isTarget('s', 't', [2]), m.isTarget('s', 't', [4])]).toEqual([true, true]);
    expect(() => m.link('s', 't', [5], [2])).toThrow(expect.objectContaining({ code: 'RECONCILE_KEY_DUPLICATE_TARGET' }));
    expect(() => m.link('s', 't', [3], [7])).toThrow(expect.objectContaining({ code: 'RECONCILE_KEY_ALREADY_MAPPED' }));
    // A re-keyed row still needs a fresh key, and persisted links restore in their order.
    expect(() => m.set('s', 't', [8], [3])).toThrow(expect.objectContaining({ code: 'RECONCILE_KEY_NOT_FRESH' }));
    expect(new KeyMap(m.entries()).entries()).toEqual(m.entries());
  });

  it('links in place: the lost row is the DR record at its own key; nothing is rewritten, the key is taken, and the link is kept', () => {
    const m = new KeyMap();
    m.set('s', 't', [2], [4]);
    m.link('s', 't', [6], [6n]);
    expect([m.get('s', 't', [6]), m.isLinkedInPlace('s', 't', [6]), m.isTarget('s', 't', [6]), m.isLinkedInPlace('s', 't', [2]), m.size]).toEqual([undefined, true, true, false, 2]);
    m.link('s', 't', [6], [6]); // the same link again: a no-op
    expect(() => m.link('s', 't', [7], [6])).toThrow(expect.objectContaining({ code: 'RECONCILE_KEY_DUPLICATE_TARGET' }));
    expect(() => m.link('s', 't', [6], [9])).toThrow(expect.objectContaining({ code: 'RECONCILE_KEY_ALREADY_MAPPED' }));
    // The source row 2 was re-keyed away: the DR record at 2 is another one, not row 2.
    expect(() => m.link('s', 't', [2], [2])).toThrow(expect.objectContaining({ code: 'RECONCILE_KEY_ALREADY_MAPPED' }));
    expect(() => m.set('s', 't', [8], [6])).toThrow(expect.objectContaining({ code: 'RECONCILE_KEY_DUPLICATE_TARGET' }));
    const mark = m.mark();
    m.link('s', 'u', [1], [1]);
    expect(m.since(mark)).toEqual([{ schema: 's', table: 'u', oldKey: [1], newKey: [1], linked: true }]);
    m.rollbackTo(mark);
    expect([m.isLinkedInPlace('s', 'u', [1]), m.hasTable('s', 'u'), m.size]).toEqual([false, false, 2]);
    expect(m.entries()).toEqual([
      { schema: 's', table: 't', oldKey: [2], newKey: [4] },
      { schema: 's', table: 't', oldKey: [6], newKey: [6] },
    ]);
    const restored = new KeyMap(m.entries());
    expect([restored.entries(), restored.isLinkedInPlace('s', 't', [6])]).toEqual([m.entries(), true]);
  });

  it('oldKeys: the re-keyed rows\' old keys of one table, not the links in place, none after a rollback', () => {
    const m = new KeyMap();
    m.set('s', 't', ['d'], ['u1']);
    m.link('s', 't', ['e'], ['e']);
    m.set('s', 'u', [1], [9]);
    const mark = m.mark();
    m.set('s', 't', ['f'], ['u2']);
    expect([...m.oldKeys('s', 't')]).toEqual([['d'], ['f']]);
    m.rollbackTo(mark);
    expect([[...m.oldKeys('s', 't')], [...m.oldKeys('s', 'v')]]).toEqual([[['d']], []]);
  });

  it('does not keep the caller’s arrays and restores from its entries', () => {
    const oldKey = [1];
    const m = new KeyMap();
    m.set('s', 't', oldKey, [10]);
    oldKey[0] = 2;
    expect(m.get('s', 't', [1])).toEqual([10]);
    const restored = new KeyMap(m.entries());
    expect(restored.entries()).toEqual(m.entries());
  });
});
