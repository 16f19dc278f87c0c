import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { threeWayMerge } from './merge.js';
import type { RowImage } from '../binlog/column.js';
import { JsonPatch } from '../binlog/values/json-value.js';
import { sameValue } from './value-equality.js';

const columns = ['id', 'street', 'city', 'balance', 'note'].map((name) => ({ name, dataType: name === 'balance' ? 'float' : 'varchar' }));
const B: RowImage = [1, 'Main St', 'Oslo', 10, 'n'];

describe('threeWayMerge', () => {
  it('takes A’s changes, keeps D’s, and keeps D on a column changed differently on both sides', () => {
    const A: RowImage = [1, 'Main St', 'Bergen', 20, 'a'];
    const D: RowImage = [1, 'High St', 'Oslo', 30, 'a'];
    expect(threeWayMerge(B, A, D, { columns })).toEqual({
      row: [1, 'High St', 'Bergen', 30, 'a'],
      taken: ['city'],
      kept: ['street', 'note'],
      conflicts: ['balance'],
      groups: [],
    });
  });

  it('a column the DR logged a change to counts as changed on the DR even when it changed back (history)', () => {
    const A: RowImage = [1, 'Main St', 'Bergen', 20, 'n'];
    const D: RowImage = [1, 'Main St', 'Oslo', 10, 'n'];
    // Without history: the DR looks untouched and A wins everywhere.
    expect(threeWayMerge(B, A, D, { columns }).row).toEqual([1, 'Main St', 'Bergen', 20, 'n']);
    // The DR's binlog says it changed balance (10 → 11 → 10): both changed balance, the DR keeps its value.
    expect(threeWayMerge(B, A, D, { columns, oursChanged: new Set(['balance']) })).toEqual({ row: [1, 'Main St', 'Bergen', 10, 'n'], taken: ['city'], kept: [], conflicts: ['balance'], groups: [] });
  });

  it('a column absent from a partial after image is unchanged, not NULL', () => {
    const A: RowImage = [undefined, undefined, 'Bergen', undefined, undefined];
    const D: RowImage = [1, 'Main St', 'Oslo', 10, null];
    expect(threeWayMerge(B, A, D, { columns })).toEqual({ row: [1, 'Main St', 'Bergen', 10, null], taken: ['city'], kept: ['note'], conflicts: [], groups: [] });
  });

  it('without a base (insert-pk-same-record) the DR wins on every differing column', () => {
    const A: RowImage = [1, 'Main St', 'Bergen', 10, 'x'];
    const D: RowImage = [1, 'Main St', 'Oslo', 10, 'y'];
    expect(threeWayMerge(null, A, D, { columns })).toEqual({ row: [...D], taken: [], kept: [], conflicts: ['city', 'note'], groups: [] });
  });

  it('a column the before image did not log is a conflict when A and D differ', () => {
    const b: RowImage = [1, 'Main St', 'Oslo', 10, undefined];
    expect(threeWayMerge(b, [1, 'Main St', 'Oslo', 10, 'blob2'], [1, 'Main St', 'Oslo', 10, 'blob1'], { columns }).conflicts).toEqual(['note']);
  });

  it('a policy of `theirs` resolves a conflict to A and records it', () => {
    const A: RowImage = [1, 'Main St', 'Oslo', 20, 'n'];
    const D: RowImage = [1, 'Main St', 'Oslo', 30, 'n'];
    expect(threeWayMerge(B, A, D, { columns, policy: { balance: 'theirs' } })).toEqual({ row: [1, 'Main St', 'Oslo', 20, 'n'], taken: ['balance'], kept: [], conflicts: ['balance'], groups: [] });
  });

  it('a group with a conflict keeps D as a whole and records A’s dropped changes', () => {
    const A: RowImage = [1, 'Side St', 'Bergen', 10, 'n'];
    const D: RowImage = [1, 'Main St', 'Trondheim', 10, 'n'];
    expect(threeWayMerge(B, A, D, { columns, groups: [['street', 'city']] })).toEqual({ row: [...D], taken: [], kept: [], conflicts: ['street', 'city'], groups: [{ columns: ['street', 'city'], side: 'ours' }] });
  });

  it('a group resolved to `theirs` comes wholly from A (unchanged columns from the base), D’s dropped change recorded', () => {
    const A: RowImage = [1, undefined, 'Bergen', undefined, undefined];
    const D: RowImage = [1, 'High St', 'Trondheim', 10, 'n'];
    expect(threeWayMerge(B, A, D, { columns, groups: [['street', 'city']], policy: { city: 'theirs' } })).toEqual({ row: [1, 'Main St', 'Bergen', 10, 'n'], taken: ['street', 'city'], kept: [], conflicts: ['street', 'city'], groups: [{ columns: ['street', 'city'], side: 'theirs' }] });
  });

  it('a group only one side changed merges column by column', () => {
    const A: RowImage = [1, 'Side St', 'Bergen', 10, 'n'];
    const D: RowImage = [1, 'Main St', 'Oslo', 30, 'n'];
    expect(threeWayMerge(B, A, D, { columns, groups: [['street', 'city']] })).toEqual({ row: [1, 'Side St', 'Bergen', 30, 'n'], taken: ['street', 'city'], kept: ['balance'], conflicts: [], groups: [] });
  });

  it('a group whose columns A and D changed apart (A the city, D the street) is one conflict: D’s whole group stays, A’s change recorded', () => {
    const A: RowImage = [1, 'Main St', 'Bergen', 10, 'n'];
    const D: RowImage = [1, 'High St', 'Oslo', 10, 'n'];
    expect(threeWayMerge(B, A, D, { columns, groups: [['street', 'city']] })).toEqual({
      row: [1, 'High St', 'Oslo', 10, 'n'],
      taken: [],
      kept: ['street'],
      conflicts: ['city'],
      groups: [{ columns: ['street', 'city'], side: 'ours' }],
    });
  });

  it('a group whose columns A and D changed apart, resolved to `theirs`: A’s whole group, D’s change recorded', () => {
    const A: RowImage = [1, 'Main St', 'Bergen', 10, 'n'];
    const D: RowImage = [1, 'High St', 'Oslo', 10, 'n'];
    expect(threeWayMerge(B, A, D, { columns, groups: [['street', 'city']], policy: { street: 'theirs', city: 'theirs' } })).toEqual({
      row: [1, 'Main St', 'Bergen', 10, 'n'],
      taken: ['street', 'city'],
      kept: [],
      conflicts: ['street'],
      groups: [{ columns: ['street', 'city'], side: 'theirs' }],
    });
  });

  it('a group both sides changed to the same values is no conflict', () => {
    const A: RowImage = [1, 'High St', 'Bergen', 10, 'n'];
    expect(threeWayMerge(B, A, [...A], { columns, groups: [['street', 'city']] })).toEqual({ row: [...A], taken: [], kept: ['street', 'city'], conflicts: [], groups: [] });
  });

  it('compares FLOAT as float32: a dump-rounded D is unchanged', () => {
    const b: RowImage = [1, 'a', 'b', Math.fround(3.1415927), 'n'];
    const r = threeWayMerge(b, [1, 'a', 'b', 2.5, 'n'], [1, 'a', 'b', 3.14159, 'n'], { columns });
    expect(r).toEqual({ row: [1, 'a', 'b', 2.5, 'n'], taken: ['balance'], kept: [], conflicts: [], groups: [] });
  });

  it('a partial JSON patch in A is a conflict, never applied', () => {
    const patch = new JsonPatch([{ op: 'remove', path: '$.a' }]);
    const r = threeWayMerge([1, undefined, undefined, undefined, undefined], [undefined, undefined, undefined, undefined, patch], [1, 'a', 'b', 1, 'doc'], { columns });
    expect(r).toEqual({ row: [1, 'a', 'b', 1, 'doc'], taken: [], kept: [], conflicts: ['note'], groups: [] });
  });
});

describe('threeWayMerge laws', () => {
  const cell = fc.constantFrom<RowImage[number]>(null, 0, 1, 2n, 'x', 'y');
  const row = fc.array(cell, { minLength: 5, maxLength: 5 });
  const partial = fc.array(fc.option(cell, { nil: undefined }), { minLength: 5, maxLength: 5 });
  const groups = fc.subarray(['street', 'city', 'balance', 'note']).map((g) => (g.length > 0 ? [g] : []));
  const eq = (x: RowImage, y: RowImage): boolean => x.length === y.length && x.every((v, i) => sameValue(v, y[i], columns[i] ?? null));

  it('merge(b, a, b) = a: nothing changed on the DR, A applies (absent columns stay b)', () => {
    fc.assert(fc.property(row, partial, groups, (b, a, g) => {
      const r = threeWayMerge(b, a, b, { columns, groups: g });
      expect(eq(r.row, a.map((v, i) => (v === undefined ? b[i] : v)))).toBe(true);
      expect(r.conflicts).toEqual([]);
    }));
  });

  it('merge(b, b, d) = d: nothing changed in the lost change, the DR stays', () => {
    fc.assert(fc.property(row, row, groups, (b, d, g) => {
      const r = threeWayMerge(b, b, d, { columns, groups: g });
      expect(eq(r.row, d)).toBe(true);
      expect(r.taken).toEqual([]);
      expect(r.conflicts).toEqual([]);
    }));
  });

  it('merge(b, x, x) = x: the same change on both sides is no conflict', () => {
    fc.assert(fc.property(fc.option(row, { nil: null }), row, groups, (b, x, g) => {
      const r = threeWayMerge(b, x, x, { columns, groups: g });
      expect(eq(r.row, x)).toBe(true);
      expect(r.conflicts).toEqual([]);
    }));
  });

  it('conflicts are exactly the columns changed on both sides to different values', () => {
    fc.assert(fc.property(row, row, row, (b, a, d) => {
      const r = threeWayMerge(b, a, d, { columns });
      const expected = columns.filter((c, i) => !sameValue(a[i], b[i], c) && !sameValue(d[i], b[i], c) && !sameValue(a[i], d[i], c)).map((c) => c.name);
      expect(r.conflicts).toEqual(expected);
      r.row.forEach((v, i) => expect(sameValue(v, expected.includes(columns[i]?.name ?? '') ? d[i] : !sameValue(a[i], b[i], columns[i] ?? null) ? a[i] : d[i])).toBe(true));
      const all = [...r.taken, ...r.kept, ...r.conflicts];
      expect(new Set(all).size).toBe(all.length);
    }));
  });

  it('groups are never split: a conflicting group equals D, or A’s view under `theirs`', () => {
    fc.assert(fc.property(row, partial, row, groups, fc.boolean(), (b, a, d, g, theirs) => {
      const policy = theirs ? Object.fromEntries(columns.map((c) => [c.name, 'theirs' as const])) : undefined;
      const r = threeWayMerge(b, a, d, { columns, groups: g, policy });
      for (const group of g) {
        const idx = group.map((n) => columns.findIndex((c) => c.name === n));
        if (!idx.some((i) => r.conflicts.includes(columns[i]?.name ?? ''))) continue;
        for (const i of idx) expect(sameValue(r.row[i], theirs ? (a[i] === undefined ? b[i] : a[i]) : d[i])).toBe(true);
      }
    }));
  });

  it('never mutates its inputs', () => {
    fc.assert(fc.property(fc.option(row, { nil: null }), partial, row, groups, (b, a, d, g) => {
      const copies = [b === null ? null : [...b], [...a], [...d], JSON.stringify(g)];
      const r = threeWayMerge(b, a, d, { columns, groups: g });
      expect([b, a, d, JSON.stringify(g)]).toEqual(copies);
      expect(r.row).not.toBe(d);
    }));
  });
});
