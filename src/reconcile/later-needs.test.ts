import { describe, expect, it } from 'vitest';
import type { Transaction } from '../binlog/transaction.js';
import { LaterNeeds } from './later-needs.js';

const tx = (file: string, pos: number): Transaction => ({ gtid: null, file, pos, end: pos + 10, timestamp: 0, serverId: 1, changes: [], statements: [], annotations: [], statementMarks: [], xid: null, commit: 'xid' });

describe('LaterNeeds', () => {
  it('answers with the last change that needs a row, only when it comes after the one asking: by file as read, then position, then index', () => {
    const needs = new LaterNeeds();
    const a = tx('bin.000009', 400);
    const b = tx('bin.000010', 100);
    const c = tx('bin.000010', 200);
    for (const t of [a, b, c]) needs.seen(t);
    needs.add('t.cust', '[2]', b, 1);
    needs.add('t.cust', '[2]', c, 0);
    expect(needs.after('t.cust', '[2]', a, 5)).toBe('bin.000010:200#0');
    expect(needs.after('t.cust', '[2]', b, 3)).toBe('bin.000010:200#0');
    expect(needs.after('t.cust', '[2]', c, 0)).toBeUndefined();
    expect(needs.after('t.cust', '[3]', a, 0)).toBeUndefined();
    // A transaction the read never saw cannot be placed: nothing is claimed for it.
    expect(needs.after('t.cust', '[2]', tx('other.000001', 4), 0)).toBeUndefined();
    expect(needs.size).toBe(1);
  });

  it('answers with the first change that needs a row, only when it comes before the one asking', () => {
    const needs = new LaterNeeds();
    const a = tx('bin.000009', 400);
    const b = tx('bin.000010', 100);
    const c = tx('bin.000010', 200);
    for (const t of [a, b, c]) needs.seen(t);
    needs.add('t.cust', '[2]', b, 1);
    needs.add('t.cust', '[2]', c, 0);
    expect(needs.before('t.cust', '[2]', c, 3)).toBe('bin.000010:100#1');
    expect(needs.before('t.cust', '[2]', b, 2)).toBe('bin.000010:100#1');
    // The first need is the asking change itself, or after it: no earlier one.
    expect(needs.before('t.cust', '[2]', b, 1)).toBeUndefined();
    expect(needs.before('t.cust', '[2]', a, 0)).toBeUndefined();
    expect(needs.before('t.cust', '[3]', c, 0)).toBeUndefined();
    expect(needs.before('t.cust', '[2]', tx('other.000001', 4), 0)).toBeUndefined();
    // One change's own need is neither before nor after it.
    expect(needs.after('t.cust', '[2]', c, 0)).toBeUndefined();
  });
});
