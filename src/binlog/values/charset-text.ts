/**
 * Text whose bytes the server cannot make again from its characters: a value of a multi-byte
 * charset (sjis, cp932, ujis, eucjpms, gbk, gb2312, big5, euckr) holding a code the server maps to
 * Unicode one way only. Measured on MariaDB 10.11 (every code each charset accepts, converted to
 * utf8mb4 and back): sjis 0x5C reads as `\` and `\` converts back to 0x815F; cp932's NEC and IBM
 * duplicates (0x8790 ≒ 0x81E0, ED40 ≒ FA5C, …) convert back to one of each pair; ujis A1C0 reads as
 * `\` too; big5 has codes that read as U+FFFD; and every code the server cannot map at all (sjis'
 * NEC row 13, gbk's user-defined areas, …) reads as `?`. Such a value keeps the bytes as logged
 * beside the text that `SELECT` shows, so it is written back exactly (`_sjis X'…'`) while reports
 * and comparisons see its text. Values of these charsets without such a code stay plain strings.
 */
export class CharsetText {
  /**
   * @param text what the server shows for the value (its conversion to utf8mb4)
   * @param bytes the value as stored, in `charset` (owned: never a view of a chunk)
   * @param charset the server's name of the column's charset, as a literal's introducer names it
   */
  constructor(
    readonly text: string,
    readonly bytes: Buffer,
    readonly charset: string,
  ) {}

  /** The text, so that `String(v)` and template strings show what the server shows. */
  toString(): string {
    return this.text;
  }

  /**
   * The value as an SQL literal of its own charset, `_sjis X'5c'`: the server stores these bytes
   * as they are, where a utf8mb4 literal of the text would be converted (sjis `\` becomes 0x815F).
   * The hex needs no escaping. mysql2 writes an object with this method as this text.
   */
  toSqlString(): string {
    return `_${this.charset} X'${this.bytes.toString('hex')}'`;
  }

  /** The text, for JSON.stringify (an application printing values its own way). */
  toJSON(): string {
    return this.text;
  }
}
