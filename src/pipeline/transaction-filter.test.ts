import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../cli/exit-codes.js';
import { marksOfKept, parseUtcDateTime } from './transaction-filter.js';
import type { StatementMark } from '../binlog/transaction.js';

describe('parseUtcDateTime', () => {
  it('reads a UTC date and time, with or without seconds or time', () => {
    expect(parseUtcDateTime('2026-03-01 12:00:00', '--start-datetime')).toBe(Date.UTC(2026, 2, 1, 12) / 1000);
    expect(parseUtcDateTime('2024-02-29T23:59', '--since')).toBe(Date.UTC(2024, 1, 29, 23, 59) / 1000);
    expect(parseUtcDateTime('2026-12-31', '--stop-datetime')).toBe(Date.UTC(2026, 11, 31) / 1000);
  });

  it.each(['2026-02-30 10:00:00', '2026-03-01 24:30:00', '2025-02-29', '2026-13-01', '2026-00-10', '2026-04-31', '2026-01-01 10:60:00', '2026-01-01 10:00:60', '2026-01-00'])(
    'refuses the impossible "%s" naming the option (exit 2), never rolls it over',
    (text) => {
      let error: unknown;
      try {
        parseUtcDateTime(text, '--start-datetime');
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'BAD_OPTION', details: { option: '--start-datetime' } });
      expect((error as Error).message).toBe(`--start-datetime: "${text}" is not a valid date and time (UTC)`);
      expect(exitCodeFor(error)).toBe(2);
    },
  );
});

describe('marksOfKept', () => {
  const mark = (firstChange: number, endChange: number, sql: string): StatementMark => ({ firstChange, endChange, sql, textAt: -1, textLength: 0, eventTimestamp: -1, eventChecksum: -1 });

  it('counts kept changes only, makes open ends explicit and drops a statement none of whose changes is kept', () => {
    // A: changes 0–1 (open end), B: 2–3 (ends at 4), an unannotated change 4, C: 5–6 (open end).
    const marks = [mark(0, -1, 'A'), mark(2, 4, 'B'), mark(5, -1, 'C')];
    const kept = [false, true, false, false, true, true, false];
    expect(marksOfKept(marks, kept)).toEqual([mark(0, 1, 'A'), mark(2, 3, 'C')]);
    // Every change kept: the same statements, ends explicit.
    expect(marksOfKept(marks, kept.map(() => true))).toEqual([mark(0, 2, 'A'), mark(2, 4, 'B'), mark(5, 7, 'C')]);
    // The unannotated change alone: no statement.
    expect(marksOfKept(marks, [false, false, false, false, true, false, false])).toEqual([]);
  });
});
