import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../cli/exit-codes.js';
import { parseUtcDateTime } from './transaction-filter.js';

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
