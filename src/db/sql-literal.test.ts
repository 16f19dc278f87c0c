import fc from 'fast-check';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { CharsetText } from '../binlog/values/charset-text.js';
import { formatSql, quoteString, sqlLiteral } from './sql-literal.js';

/** Every character mysql2 escapes, a quote-like neighbour of each, and 4-byte UTF-8 (a surrogate pair in JS). */
const SPECIALS = ['\0', '\b', '\t', '\n', '\r', '\x1a', '"', "'", '\\', '`', '?', '%', '_', '😀', '𝄞', 'é', '\u2028', '\ud800'];

const textWithSpecials = fc.array(fc.oneof(fc.constantFrom(...SPECIALS), fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'grapheme-ascii', maxLength: 8 })), { maxLength: 24 }).map((parts) => parts.join(''));

/** mysql2's own text for one value, as `format` writes a bound parameter. */
function mysql2Literal(value: unknown): string {
  return mysql.format('?', [value] as Parameters<typeof mysql.format>[1]);
}

describe('quoteString', () => {
  it('writes what mysql2 writes, for strings with every special character and 4-byte UTF-8', () => {
    fc.assert(
      fc.property(textWithSpecials, (s) => {
        expect(quoteString(s)).toBe(mysql.escape(s));
      }),
      { numRuns: 2000 },
    );
  });

  it('quotes a string without specials as it is', () => {
    expect(quoteString('plain ascii 123 😀')).toBe("'plain ascii 123 😀'");
    expect(quoteString('')).toBe("''");
  });

  it('escapes each special character', () => {
    expect(quoteString('\0\b\t\n\r\x1a"\'\\')).toBe(`'\\0\\b\\t\\n\\r\\Z\\"\\'\\\\'`);
  });
});

describe('sqlLiteral', () => {
  const values = fc.oneof(
    textWithSpecials,
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
    fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)),
    fc.uint8Array({ maxLength: 16 }),
  );

  it('writes every bound type as mysql2 writes it', () => {
    fc.assert(
      fc.property(values, (v) => {
        expect(sqlLiteral(v)).toBe(mysql2Literal(v));
      }),
      { numRuns: 2000 },
    );
  });

  it("writes every bound type as the session's formatter wrote it (stringifyObjects off, time zone 'Z')", () => {
    // The row writer's values once went through that formatter (sql-session.ts); it now writes them with sqlLiteral.
    const sessionFormat = mysql.format as unknown as (sql: string, values: unknown, stringifyObjects: boolean, timezone: string) => string;
    const rowValues = fc.oneof(values, fc.float().map((f) => Math.fround(f)), fc.constantFrom(-0, 2 ** 53 + 2, 1e21, 5e-324, NaN, Infinity));
    fc.assert(
      fc.property(rowValues, (v) => {
        expect(sqlLiteral(v)).toBe(sessionFormat('?', [v], false, 'Z'));
      }),
      { numRuns: 2000 },
    );
  });

  it('writes text the server maps one way only as its bytes under its charset introducer, as mysql2 does through toSqlString', () => {
    const backslash = new CharsetText('\\', Buffer.from('5c', 'hex'), 'sjis');
    expect(sqlLiteral(backslash)).toBe("_sjis X'5c'");
    expect(sqlLiteral(new CharsetText('纊?', Buffer.from('ed40879f', 'hex'), 'cp932'))).toBe("_cp932 X'ed40879f'");
    expect(sqlLiteral(new CharsetText('', Buffer.alloc(0), 'ujis'))).toBe("_ujis X''");
    // The row reader's key lookups bind values through mysql2, which writes the same text.
    expect(mysql.format('SELECT ? AS k', [backslash])).toBe("SELECT _sjis X'5c' AS k");
    expect(formatSql('k = ?', [backslash])).toBe("k = _sjis X'5c'");
  });

  it('writes a view into a larger buffer as its own bytes only', () => {
    const backing = Buffer.from([1, 2, 3, 4, 5]);
    expect(sqlLiteral(new Uint8Array(backing.buffer, backing.byteOffset + 1, 2))).toBe("X'0203'");
  });
});

describe('formatSql', () => {
  it('fills placeholders as mysql2.format does, outside quoted identifiers and strings', () => {
    const template = "INSERT INTO `s`.`a?b` (`c``?`, d) VALUES (?, CONVERT_TZ(?, '+00:00', @@session.time_zone), 'it''s ? \\' ?', ?)";
    fc.assert(
      fc.property(fc.tuple(textWithSpecials, fc.oneof(fc.integer(), fc.constant(null)), fc.bigInt()), (params) => {
        expect(formatSql(template, params)).toBe(mysql.format(template, params as unknown as Parameters<typeof mysql.format>[1]));
      }),
    );
  });

  it('leaves a template without params, and placeholders beyond them, as they are', () => {
    expect(formatSql('SELECT ? , ?', [])).toBe('SELECT ? , ?');
    expect(formatSql('SELECT ?, ?', [1])).toBe(mysql.format('SELECT ?, ?', [1]));
  });
});
