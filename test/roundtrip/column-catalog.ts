/**
 * Column types of MariaDB 10.11 that reach the binlog, as fast-check arbitraries: each family
 * yields a column definition (its DDL type and how to compare it) and the SQL literals of values
 * for it, extremes included. Literals are exact: strings travel as `_charset X'…'` hex, doubles
 * as `…e0` double literals, bits as `b'…'`, so no client conversion can alter what the server
 * stores. The round-trip suite and the differential test share these.
 */
import fc from 'fast-check';

/** How a column is read back exactly from the server and compared with a decoded value. */
export type CompareKind =
  | 'int'
  | 'decimal'
  | 'float'
  | 'double'
  | 'bit'
  | 'year'
  | 'temporal'
  | 'text'
  | 'binary'
  | 'fixed-binary'
  | 'enum'
  | 'set'
  | 'json'
  | 'geometry';

/** One generated column: its type, how to compare it, and how to make values for it. */
export interface ColumnSpec {
  /** What the suite counts rows by, e.g. `BIGINT UNSIGNED`, `VARCHAR latin1`. */
  readonly family: string;
  /** The type clause of the column definition (without NULL / NOT NULL). */
  readonly ddl: string;
  readonly kind: CompareKind;
  /** BLOB, TEXT and JSON columns, which binlog_row_image=NOBLOB leaves out unless needed (GEOMETRY it keeps). */
  readonly blob: boolean;
  readonly nullable: boolean;
  /** Non-NULL SQL literals for the column. */
  readonly value: fc.Arbitrary<string>;
  /** Fixed byte length (BINARY(n), UUID 16, INET6 16, INET4 4), else 0. */
  readonly byteLength: number;
  /** The column's character set for text kinds ('binary' for byte strings), else null. */
  readonly charset: string | null;
  readonly enumLabels: readonly string[] | null;
  readonly setLabels: readonly string[] | null;
}

type SpecFields = Pick<ColumnSpec, 'family' | 'ddl' | 'kind' | 'value'> & Partial<Omit<ColumnSpec, 'family' | 'ddl' | 'kind' | 'value'>>;

/** A column spec with defaults (nullable, not a blob, no labels) for the fields not given. */
export function spec(f: SpecFields): ColumnSpec {
  return {
    blob: false,
    nullable: true,
    byteLength: 0,
    charset: null,
    enumLabels: null,
    setLabels: null,
    ...f,
  };
}

/** A column spec that is sometimes NOT NULL (1 in 5), so both NULL-bitmap cases occur. */
function maybeNotNull(a: fc.Arbitrary<ColumnSpec>): fc.Arbitrary<ColumnSpec> {
  return fc.tuple(a, fc.nat(4)).map(([s, n]) => (n === 0 ? { ...s, nullable: false } : s));
}

/** Picks edge values often (weight 1 in 3) and arbitrary ones otherwise. */
function withEdges<T>(edges: readonly T[], arb: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: fc.constantFrom(...edges), weight: 1 }, { arbitrary: arb, weight: 2 });
}

// ---- integers -------------------------------------------------------------------------------

const INT_TYPES = [
  ['TINYINT', 8],
  ['SMALLINT', 16],
  ['MEDIUMINT', 24],
  ['INT', 32],
  ['BIGINT', 64],
] as const;

function intEdges(min: bigint, max: bigint): bigint[] {
  const candidates = [
    0n, 1n, -1n, min, max, min + 1n, max - 1n, 127n, 128n, -128n, 255n, 256n, 32767n, 32768n, 65535n, 8388607n, 8388608n,
    16777215n, 2147483647n, 2147483648n, 4294967295n, 4294967296n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) + 1n,
    -(2n ** 53n), -(2n ** 53n) - 1n, 2n ** 63n - 1n, 2n ** 63n, -(2n ** 63n), 2n ** 64n - 1n, 2n ** 21n * 2n ** 32n - 1n,
  ];
  return [...new Set(candidates.filter((v) => v >= min && v <= max))];
}

/** One arbitrary per integer type and signedness. */
export function integerFamilies(): fc.Arbitrary<ColumnSpec>[] {
  const out: fc.Arbitrary<ColumnSpec>[] = [];
  for (const [name, bits] of INT_TYPES) {
    for (const unsigned of [false, true]) {
      const min = unsigned ? 0n : -(2n ** BigInt(bits - 1));
      const max = unsigned ? 2n ** BigInt(bits) - 1n : 2n ** BigInt(bits - 1) - 1n;
      const value = withEdges(intEdges(min, max), fc.bigInt({ min, max })).map(String);
      const family = unsigned ? `${name} UNSIGNED` : name;
      out.push(maybeNotNull(fc.constant(spec({ family, ddl: family, kind: 'int', value }))));
    }
  }
  return out;
}

// ---- DECIMAL, FLOAT, DOUBLE -----------------------------------------------------------------

function digits(min: number, max: number): fc.Arbitrary<string> {
  return fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((d) => d.join(''));
}

/** DECIMAL(p,s) for p in 1..65 and s in 0..min(p,30); values with up to p−s integer and s fraction digits. */
export function decimalFamily(): fc.Arbitrary<ColumnSpec> {
  const ps = fc
    .oneof(
      fc.constantFrom<[number, number]>([1, 0], [1, 1], [65, 0], [65, 30], [38, 10], [10, 2], [9, 9], [18, 9], [19, 0], [30, 30], [35, 5], [10, 0]),
      fc.integer({ min: 1, max: 65 }).chain((p) => fc.integer({ min: 0, max: Math.min(p, 30) }).map((s): [number, number] => [p, s])),
    );
  return maybeNotNull(
    ps.map(([p, s]) => {
      const intg = p - s;
      const nines = (intg > 0 ? '9'.repeat(intg) : '0') + (s > 0 ? '.' + '9'.repeat(s) : '');
      const edges = ['0', nines, '-' + nines, s > 0 ? '0.' + '0'.repeat(s - 1) + '1' : '1', s > 0 ? '-0.' + '0'.repeat(s - 1) + '1' : '-1', intg > 0 ? '1' + '0'.repeat(intg - 1) : '0'];
      const random = fc.tuple(fc.boolean(), digits(0, intg), digits(0, s)).map(([neg, i, f]) => `${neg ? '-' : ''}${i === '' ? '0' : i}${f === '' ? '' : '.' + f}`);
      return spec({ family: 'DECIMAL', ddl: `DECIMAL(${p},${s})`, kind: 'decimal', value: withEdges(edges, random) });
    }),
  );
}

/** A JS number as an SQL double literal (`e` notation, so it is parsed as DOUBLE, not DECIMAL). */
export function doubleLiteral(v: number): string {
  if (Object.is(v, -0)) return '-0e0';
  const s = String(v);
  return s.includes('e') ? s : s + 'e0';
}

const FLOAT_EDGES = [0, -0, 1, -1, 0.1, 3.4028234663852886e38, -3.4028234663852886e38, 1.1754943508222875e-38, 1.401298464324817e-45, -1.401298464324817e-45, 16777216, 16777217, 0.3333333432674408];

/** FLOAT: every finite float32, extremes and subnormals included. */
export function floatFamily(): fc.Arbitrary<ColumnSpec> {
  const value = withEdges(FLOAT_EDGES.map((v) => Math.fround(v)), fc.float({ noNaN: true, noDefaultInfinity: true })).map(doubleLiteral);
  return maybeNotNull(fc.constant(spec({ family: 'FLOAT', ddl: 'FLOAT', kind: 'float', value })));
}

const DOUBLE_EDGES = [0, -0, 1, -1, 0.1, 0.30000000000000004, 9370.328532531857, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, 2.2250738585072014e-308, 2 ** 53 + 2, 1e21, 123456789012345680000, 1e-7];

/** DOUBLE: every finite double, subnormals included. */
export function doubleFamily(): fc.Arbitrary<ColumnSpec> {
  const value = withEdges(DOUBLE_EDGES, fc.double({ noNaN: true, noDefaultInfinity: true })).map(doubleLiteral);
  return maybeNotNull(fc.constant(spec({ family: 'DOUBLE', ddl: 'DOUBLE', kind: 'double', value })));
}

// ---- BIT, YEAR ------------------------------------------------------------------------------

/** BIT(1..64), values as b'…' literals. */
export function bitFamily(): fc.Arbitrary<ColumnSpec> {
  const width = fc.oneof(fc.constantFrom(1, 7, 8, 9, 16, 31, 32, 33, 48, 53, 54, 63, 64), fc.integer({ min: 1, max: 64 }));
  return maybeNotNull(
    width.map((n) => {
      const max = 2n ** BigInt(n) - 1n;
      const edges = [...new Set([0n, 1n, max, max >> 1n, 1n << BigInt(n - 1)])];
      const value = withEdges(edges, fc.bigInt({ min: 0n, max })).map((v) => `b'${v.toString(2)}'`);
      return spec({ family: 'BIT', ddl: `BIT(${n})`, kind: 'bit', value });
    }),
  );
}

/** YEAR: 0000 and 1901..2155. */
export function yearFamily(): fc.Arbitrary<ColumnSpec> {
  const value = withEdges([0, 1901, 2155, 1970, 2000, 1999], fc.integer({ min: 1901, max: 2155 })).map(String);
  return maybeNotNull(fc.constant(spec({ family: 'YEAR', ddl: 'YEAR', kind: 'year', value })));
}

// ---- temporal -------------------------------------------------------------------------------

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate() || 31;
}

const dateParts = fc.integer({ min: 1, max: 9999 }).chain((y) =>
  fc.integer({ min: 1, max: 12 }).chain((m) => fc.integer({ min: 1, max: daysIn(y, m) }).map((d) => `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`)),
);
const timeOfDay = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 })).map(([h, m, s]) => `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}`);
const micros = fc.oneof(fc.constant(''), fc.integer({ min: 0, max: 999999 }).map((u) => '.' + pad(u, 6)), fc.constantFrom('.000001', '.999999', '.5', '.05'));
const fsp = fc.integer({ min: 0, max: 6 });

/** DATE: 0001-01-01..9999-12-31, the zero date and zero-in-date values (allowed by the default sql_mode). */
export function dateFamily(): fc.Arbitrary<ColumnSpec> {
  const value = withEdges(['0000-00-00', '1000-01-01', '9999-12-31', '0001-01-01', '2021-00-15', '2021-05-00', '1970-01-01', '2024-02-29'], dateParts).map((d) => `'${d}'`);
  return maybeNotNull(fc.constant(spec({ family: 'DATE', ddl: 'DATE', kind: 'temporal', value })));
}

/** TIME(0..6): ±838:59:59.999999, negatives below one second included. */
export function timeFamily(): fc.Arbitrary<ColumnSpec> {
  const random = fc
    .tuple(fc.boolean(), fc.integer({ min: 0, max: 838 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), micros)
    .map(([neg, h, m, s, f]) => `${neg ? '-' : ''}${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}${f}`);
  const edges = ['838:59:59', '-838:59:59', '838:59:59.999999', '-838:59:59.999999', '00:00:00', '-00:00:00.5', '-00:00:00.000001', '-00:00:01.5', '00:00:00.000001', '-01:00:00', '23:59:59.999999', '100:00:00'];
  return maybeNotNull(fsp.map((n) => spec({ family: 'TIME', ddl: `TIME(${n})`, kind: 'temporal', value: withEdges(edges, random).map((t) => `'${t}'`) })));
}

/** DATETIME(0..6): 0001..9999 and the zero datetime. */
export function datetimeFamily(): fc.Arbitrary<ColumnSpec> {
  const random = fc.tuple(dateParts, timeOfDay, micros).map(([d, t, f]) => `${d} ${t}${f}`);
  const edges = ['0000-00-00 00:00:00', '1000-01-01 00:00:00', '9999-12-31 23:59:59.999999', '0001-01-01 00:00:00.000001', '1970-01-01 00:00:00', '2038-01-19 03:14:08'];
  return maybeNotNull(fsp.map((n) => spec({ family: 'DATETIME', ddl: `DATETIME(${n})`, kind: 'temporal', value: withEdges(edges, random).map((t) => `'${t}'`) })));
}

/** A UTC datetime text from seconds since the epoch. */
function utcText(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/** TIMESTAMP(0..6): 1970-01-01 00:00:01..2038-01-19 03:14:07.999999 UTC and the zero timestamp. */
export function timestampFamily(): fc.Arbitrary<ColumnSpec> {
  const random = fc.tuple(fc.integer({ min: 1, max: 2147483647 }), micros).map(([s, f]) => utcText(s) + f);
  const edges = ['0000-00-00 00:00:00', '1970-01-01 00:00:01', '2038-01-19 03:14:07.999999', '2038-01-19 03:14:07', '2000-02-29 12:00:00.5', '1970-01-01 00:00:01.000001'];
  // NULL DEFAULT NULL: no implicit DEFAULT CURRENT_TIMESTAMP / ON UPDATE on any TIMESTAMP column.
  return maybeNotNull(fsp.map((n) => spec({ family: 'TIMESTAMP', ddl: `TIMESTAMP(${n})`, kind: 'temporal', value: withEdges(edges, random).map((t) => `'${t}'`) })));
}

// ---- text -----------------------------------------------------------------------------------

/** Bytes per character at most, per charset (the server's mbmaxlen). */
const MBMAXLEN: Readonly<Record<string, number>> = {
  utf8mb4: 4, utf8mb3: 3, latin1: 1, ascii: 1, binary: 1, ucs2: 2, utf16: 4, utf16le: 4, utf32: 4, cp1251: 1, cp1250: 1, latin2: 1,
  greek: 1, koi8r: 1, koi8u: 1, cp866: 1, hebrew: 1, sjis: 2, cp932: 2, ujis: 3, eucjpms: 3, gbk: 2, gb2312: 2, big5: 2, euckr: 2, tis620: 1,
};

/** Characters each legacy charset can hold (plus ASCII), including the ones whose Unicode mapping differs between similar charsets. */
const ALPHABETS: Readonly<Record<string, string>> = {
  cp1251: 'АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюяЂЃѓ€‰Љ‹ЊЌЋЏђ‘’“”•–—™љ›њќћџЎўЈ¤Ґ¦§©Є«¬®Ї°±Ііґµ¶·є»јЅѕї',
  cp1250: 'ĄąĆćĘęŁłŃńÓóŚśŹźŻżŠšŤťŽžČčĎďĚěŇňŘřŮů€‚„…†‡‰‹‘’“”•–—™›ˇ˘',
  latin2: 'ĄąĆćĘęŁłŃńÓóŚśŹźŻżŠšŤťŽžČčĎďĚěŇňŘřŮů˘˛ˇ´˝¤§¨°',
  greek: 'ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩαβγδεζηθικλμνξοπρστυφχψωάέήίόύώΆΈΉΊΌΎΏʽʼ',
  koi8r: 'АБВГДабвгдЁё─│┌┐└┘├┤┬┴┼▀▄█▌▐░▒▓■√≈≤≥°²·÷',
  hebrew: 'אבגדהוזחטיכלמנסעפצקרשת‾',
  koi8u: 'АБВГДабвгдЄєІіЇїҐґ•─│',
  cp866: 'АБВГДабвгдЁёЎў░▒▓│ⁿ²■',
  sjis: 'あいうえおアイウエオ漢字日本語ｱｲｳｴｵ、。「」ー〜‖',
  cp932: 'あいうえお漢字ｱｲｳ～－∥￢①②ⅰⅱ㈱',
  ujis: 'あいうえおアイウエオ漢字日本語ｱｲｳ、。〜',
  eucjpms: 'あいうえお漢字日本語ｱｲｳ～①②',
  gbk: '中文汉字简体繁體你好世界',
  gb2312: '中文汉字简体你好世界',
  big5: '中文繁體字你好世界',
  euckr: '한국어가나다라마바사',
  tis620: 'กขฃคฅฆงจฉชซฌญฎฏ\x80\x85\x91\x97',
};

const ASCII = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
const SPECIAL = fc.constantFrom("'", '\\', '\0', '\n', '\r', '\t', '"', '%', '_', ' ', '\x1a', '\x7f');

function unicodeChar(astral: boolean): fc.Arbitrary<string> {
  const ranges: fc.Arbitrary<number>[] = [
    fc.integer({ min: 0xa0, max: 0x24f }),
    fc.integer({ min: 0x370, max: 0x4ff }),
    fc.integer({ min: 0x4e00, max: 0x9fff }),
    fc.integer({ min: 0xe000, max: 0xfffd }),
    fc.integer({ min: 0x80, max: 0x9f }),
  ];
  if (astral) ranges.push(fc.integer({ min: 0x1f300, max: 0x1faff }), fc.integer({ min: 0x10000, max: 0x10ffff }));
  return fc.oneof({ arbitrary: ASCII, weight: 4 }, { arbitrary: SPECIAL, weight: 1 }, { arbitrary: fc.oneof(...ranges).map((c) => String.fromCodePoint(c)), weight: 3 });
}

function charArb(charset: string): fc.Arbitrary<string> {
  switch (charset) {
    case 'utf8mb4':
    case 'utf16':
    case 'utf16le':
    case 'utf32':
      return unicodeChar(true);
    case 'utf8mb3':
    case 'ucs2':
      return unicodeChar(false);
    case 'ascii':
      return fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c));
    default: {
      const alphabet = [...(ALPHABETS[charset] ?? '')];
      return fc.oneof({ arbitrary: ASCII, weight: 2 }, { arbitrary: SPECIAL, weight: 1 }, { arbitrary: fc.constantFrom(...alphabet), weight: 3 });
    }
  }
}

/** A hex literal of bytes with a charset introducer: exact, whatever the connection's charset. */
export function hexLiteral(bytes: Uint8Array, charset: string): string {
  return `_${charset} X'${Buffer.from(bytes).toString('hex')}'`;
}

/**
 * SQL literals of strings of at most `maxChars` characters (and `maxBytes` bytes in the column's
 * charset, estimated by mbmaxlen), with a rare long one up to `longChars`.
 */
export function textValue(charset: string, maxChars: number, maxBytes: number, longChars = 0): fc.Arbitrary<string> {
  const limit = Math.max(0, Math.min(maxChars, Math.floor(maxBytes / (MBMAXLEN[charset] ?? 4))));
  const short = Math.min(limit, 40);
  const arbs: fc.WeightedArbitrary<string>[] = [{ arbitrary: textOf(charset, 0, short), weight: 20 }];
  if (limit > short) arbs.push({ arbitrary: textOf(charset, short, limit), weight: 2 });
  if (longChars > limit) arbs.push({ arbitrary: textOf(charset, longChars - 100, longChars), weight: 1 });
  return fc.oneof(...arbs);
}

function textOf(charset: string, min: number, max: number): fc.Arbitrary<string> {
  if (charset === 'latin1' || charset === 'binary') {
    // Every byte is a valid latin1 character (0x81, 0x8d, 0x8f, 0x90, 0x9d map to C1 controls).
    return fc.uint8Array({ minLength: min, maxLength: max }).map((b) => hexLiteral(b, charset));
  }
  if (max > 2000) {
    // A long value: a short random string repeated, so generation stays cheap.
    return fc.tuple(fc.array(charArb(charset), { minLength: 1, maxLength: 50 }), fc.integer({ min, max })).map(([chars, n]) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(chars[i % chars.length]!);
      return utf8Literal(out.join(''), charset);
    });
  }
  return fc.array(charArb(charset), { minLength: min, maxLength: max }).map((chars) => utf8Literal(chars.join(''), charset));
}

function utf8Literal(s: string, charset: string): string {
  // ascii is hex-encoded in its own charset; the rest as utf8mb4, which the server converts on assignment.
  return charset === 'ascii' ? hexLiteral(Buffer.from(s, 'latin1'), 'ascii') : hexLiteral(Buffer.from(s, 'utf8'), 'utf8mb4');
}

const OTHER_CHARSETS = ['ascii', 'ucs2', 'utf16', 'utf16le', 'utf32', 'cp1251', 'cp1250', 'latin2', 'greek', 'koi8r', 'koi8u', 'cp866', 'hebrew', 'sjis', 'cp932', 'ujis', 'eucjpms', 'gbk', 'gb2312', 'big5', 'euckr', 'tis620'] as const;

/** A charset for a text family: utf8mb4, utf8mb3, latin1, or any of the others. */
function charsetFor(group: CharGroup): fc.Arbitrary<string> {
  return group === 'other' ? fc.constantFrom(...OTHER_CHARSETS) : fc.constant(group);
}

/** Charset groups of the text families: 'other' is any of OTHER_CHARSETS. */
export const CHAR_GROUPS = ['utf8mb4', 'utf8mb3', 'latin1', 'other'] as const;
export type CharGroup = (typeof CHAR_GROUPS)[number];

/** CHAR(0..255) per charset group. */
export function charFamilies(groups: readonly CharGroup[] = CHAR_GROUPS): fc.Arbitrary<ColumnSpec>[] {
  return groups.map((group) =>
    maybeNotNull(
      fc.tuple(charsetFor(group), fc.oneof(fc.constantFrom(0, 1, 63, 64, 85, 86, 255), fc.integer({ min: 0, max: 40 }))).map(([cs, n]) =>
        spec({ family: `CHAR ${group}`, ddl: `CHAR(${n}) CHARACTER SET ${cs}`, kind: 'text', charset: cs, value: textValue(cs, n, 255 * 4) }),
      ),
    ),
  );
}

/** VARCHAR(n) per charset group, both sides of the 255-byte length-prefix boundary. */
export function varcharFamilies(groups: readonly CharGroup[] = CHAR_GROUPS): fc.Arbitrary<ColumnSpec>[] {
  return groups.map((group) =>
    maybeNotNull(
      fc.tuple(charsetFor(group), fc.oneof(fc.constantFrom(1, 63, 64, 85, 86, 255, 256, 1000), fc.integer({ min: 1, max: 100 }))).map(([cs, n]) =>
        spec({ family: `VARCHAR ${group}`, ddl: `VARCHAR(${n}) CHARACTER SET ${cs}`, kind: 'text', charset: cs, value: textValue(cs, n, 65535) }),
      ),
    ),
  );
}

const TEXT_TYPES = [
  ['TINYTEXT', 255],
  ['TEXT', 65535],
  ['MEDIUMTEXT', 16777215],
  ['LONGTEXT', 4294967295],
] as const;

/** TINYTEXT/TEXT/MEDIUMTEXT/LONGTEXT per charset group; MEDIUM/LONG sometimes above 64 KiB. */
export function textFamilies(groups: readonly CharGroup[] = CHAR_GROUPS): fc.Arbitrary<ColumnSpec>[] {
  return groups.map((group) =>
    maybeNotNull(
      fc.tuple(charsetFor(group), fc.constantFrom(...TEXT_TYPES)).map(([cs, [type, bytes]]) =>
        spec({
          family: `TEXT ${group}`,
          ddl: `${type} CHARACTER SET ${cs}`,
          kind: 'text',
          blob: true,
          charset: cs,
          value: textValue(cs, 300, bytes, bytes > 65535 ? 17000 : bytes === 65535 ? 8000 : 0),
        }),
      ),
    ),
  );
}

// ---- binary ---------------------------------------------------------------------------------

function bytesValue(max: number): fc.Arbitrary<string> {
  // Values ending in 0x00 bytes matter: BINARY pads with them and the binlog strips them.
  const trailingZeros = fc
    .tuple(fc.uint8Array({ minLength: 0, maxLength: max }), fc.integer({ min: 1, max: 4 }))
    .map(([b, z]) => Buffer.concat([b, Buffer.alloc(z)]).subarray(0, max));
  return fc.oneof(fc.uint8Array({ minLength: 0, maxLength: max }), trailingZeros).map((b) => `X'${Buffer.from(b).toString('hex')}'`);
}

/** BINARY(0..255): the server pads with 0x00, and its binlog strips trailing 0x00. */
export function binaryFamily(): fc.Arbitrary<ColumnSpec> {
  return maybeNotNull(
    fc.oneof(fc.constantFrom(1, 4, 16, 255), fc.integer({ min: 0, max: 40 })).map((n) =>
      spec({ family: 'BINARY', ddl: `BINARY(${n})`, kind: 'fixed-binary', byteLength: n, charset: 'binary', value: bytesValue(n) }),
    ),
  );
}

/** VARBINARY(n) both sides of the 255-byte length-prefix boundary. */
export function varbinaryFamily(): fc.Arbitrary<ColumnSpec> {
  return maybeNotNull(
    fc.oneof(fc.constantFrom(1, 255, 256, 3000), fc.integer({ min: 1, max: 60 })).map((n) =>
      spec({ family: 'VARBINARY', ddl: `VARBINARY(${n})`, kind: 'binary', charset: 'binary', value: bytesValue(Math.min(n, 300)) }),
    ),
  );
}

/** TINYBLOB/BLOB/MEDIUMBLOB/LONGBLOB; MEDIUM/LONG sometimes above 64 KiB. */
export function blobFamily(): fc.Arbitrary<ColumnSpec> {
  return maybeNotNull(
    fc.constantFrom('TINYBLOB', 'BLOB', 'MEDIUMBLOB', 'LONGBLOB').map((type) => {
      const max = type === 'TINYBLOB' ? 255 : 400;
      const arbs: fc.WeightedArbitrary<string>[] = [{ arbitrary: bytesValue(max), weight: 30 }];
      if (type === 'MEDIUMBLOB' || type === 'LONGBLOB') arbs.push({ arbitrary: fc.integer({ min: 65536, max: 70000 }).map((n) => `REPEAT(X'00ff7f', ${Math.ceil(n / 3)})`), weight: 1 });
      return spec({ family: 'BLOB', ddl: type, kind: 'binary', blob: true, charset: 'binary', value: fc.oneof(...arbs) });
    }),
  );
}

// ---- ENUM, SET ------------------------------------------------------------------------------

/** An SQL string literal of a label in the DDL: quotes doubled, backslashes escaped. */
export function quoteLabel(label: string): string {
  return `'${label.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

const SPECIAL_LABELS = ["it's", 'back\\slash', 'ünïcödé', '😀 emoji', 'a,b', ' lead', 'UPPER', '"dq"', 'x'.repeat(64)];
const LATIN1_LABELS = ['café', 'naïve', 'Größe', '€uro', 'ÿ'];

function labelsOf(count: number, special: readonly string[]): string[] {
  const labels = special.slice(0, Math.min(special.length, count));
  for (let i = labels.length; i < count; i++) labels.push(`l${i}`);
  return labels;
}

function enumSpec(family: string, labels: readonly string[], charset: string): ColumnSpec {
  // The error value '' (index 0) is what the server stores for an invalid label in non-strict mode; strict mode forbids it, so labels only.
  const value = fc.constantFrom(...labels).map((l) => hexLiteral(Buffer.from(l, 'utf8'), 'utf8mb4'));
  return spec({ family, ddl: `ENUM(${labels.map(quoteLabel).join(',')}) CHARACTER SET ${charset}`, kind: 'enum', enumLabels: labels, charset, value });
}

/** ENUM with up to 40 labels (1 byte), in utf8mb4 or latin1 (non-ASCII labels in both). */
export function enumFamily(): fc.Arbitrary<ColumnSpec> {
  return maybeNotNull(
    fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constantFrom('utf8mb4', 'latin1')).map(([n, cs]) =>
      enumSpec('ENUM', labelsOf(n, cs === 'latin1' ? LATIN1_LABELS : SPECIAL_LABELS.filter((l) => !l.startsWith(' '))), cs),
    ),
  );
}

/** ENUM with more than 255 labels, stored in 2 bytes. */
export function bigEnumFamily(): fc.Arbitrary<ColumnSpec> {
  return maybeNotNull(fc.integer({ min: 256, max: 400 }).map((n) => enumSpec('ENUM >255', labelsOf(n, ['first', 'ünï']), 'utf8mb4')));
}

function setSpec(family: string, labels: readonly string[], charset: string): ColumnSpec {
  const value = fc.subarray([...labels]).map((members) => hexLiteral(Buffer.from(members.join(','), 'utf8'), 'utf8mb4'));
  return spec({ family, ddl: `SET(${labels.map(quoteLabel).join(',')}) CHARACTER SET ${charset}`, kind: 'set', setLabels: labels, charset, value });
}

/** SET with 1..40 members (1–5 bytes), in utf8mb4 or latin1. */
export function setFamily(): fc.Arbitrary<ColumnSpec> {
  const specials = SPECIAL_LABELS.filter((l) => !l.includes(',') && !l.startsWith(' '));
  return maybeNotNull(
    fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constantFrom('utf8mb4', 'latin1')).map(([n, cs]) => setSpec('SET', labelsOf(n, cs === 'latin1' ? LATIN1_LABELS : specials), cs)),
  );
}

/** SET with 57..64 members (8 bytes), 64 included. */
export function bigSetFamily(): fc.Arbitrary<ColumnSpec> {
  return maybeNotNull(fc.oneof(fc.constant(64), fc.integer({ min: 57, max: 64 })).map((n) => setSpec('SET 64', labelsOf(n, ['m0', 'ünï']), 'utf8mb4')));
}

// ---- JSON, GEOMETRY, UUID, INET ---------------------------------------------------------------

const jsonDoc = fc.oneof(
  { arbitrary: fc.json({ maxDepth: 4 }), weight: 6 },
  // Nested documents, long numbers and whitespace as a client might write them: MariaDB keeps the text.
  { arbitrary: fc.constantFrom('{"a": {"b": [1, 2, {"c": null}]}, "d": "\\u00e9\\ud83d\\ude00"}', '[12345678901234567890, 1.5e300, -0.0, 1E2]', '  {"dup": 1, "dup": 2}  ', '"just a string"', '{"deep":[[[[[[[[[[[[1]]]]]]]]]]]]}', '{"emoji":"😀","nul":"\\u0000"}'), weight: 1 },
);

/** JSON (MariaDB: LONGTEXT utf8mb4_bin with a json_valid CHECK). */
export function jsonFamily(): fc.Arbitrary<ColumnSpec> {
  const value = jsonDoc.map((doc) => hexLiteral(Buffer.from(doc, 'utf8'), 'utf8mb4'));
  return maybeNotNull(fc.constant(spec({ family: 'JSON', ddl: 'JSON', kind: 'json', blob: true, charset: 'utf8mb4', value })));
}

const coord = fc.tuple(fc.integer({ min: -1000000, max: 1000000 }), fc.option(fc.integer({ min: 0, max: 999999 }))).map(([i, f]) => (f === null ? String(i) : `${i}.${f}`));
const pointText = fc.tuple(coord, coord).map(([x, y]) => `${x} ${y}`);
const lineText = fc.array(pointText, { minLength: 2, maxLength: 6 }).map((ps) => `(${ps.join(',')})`);
const ringText = fc.array(pointText, { minLength: 3, maxLength: 6 }).map((ps) => `(${[...ps, ps[0]].join(',')})`);
const polygonText = fc.array(ringText, { minLength: 1, maxLength: 2 }).map((rs) => `(${rs.join(',')})`);

const wktBy: Record<string, fc.Arbitrary<string>> = {
  POINT: pointText.map((p) => `POINT(${p})`),
  LINESTRING: lineText.map((l) => `LINESTRING${l}`),
  POLYGON: polygonText.map((p) => `POLYGON${p}`),
  MULTIPOINT: fc.array(pointText, { minLength: 1, maxLength: 4 }).map((ps) => `MULTIPOINT(${ps.join(',')})`),
  MULTILINESTRING: fc.array(lineText, { minLength: 1, maxLength: 3 }).map((ls) => `MULTILINESTRING(${ls.join(',')})`),
  MULTIPOLYGON: fc.array(polygonText, { minLength: 1, maxLength: 2 }).map((ps) => `MULTIPOLYGON(${ps.join(',')})`),
};
const anyWkt = fc.oneof(...Object.values(wktBy));
wktBy['GEOMETRYCOLLECTION'] = fc.array(anyWkt, { minLength: 0, maxLength: 3 }).map((gs) => (gs.length === 0 ? 'GEOMETRYCOLLECTION EMPTY' : `GEOMETRYCOLLECTION(${gs.join(',')})`));
wktBy['GEOMETRY'] = fc.oneof(anyWkt, wktBy['GEOMETRYCOLLECTION']);

function geometryLiteral(wkt: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(wkt, fc.constantFrom(0, 0, 4326, 3857)).map(([w, srid]) => `ST_GeomFromText('${w}', ${srid})`);
}

/** GEOMETRY and its subtypes (the column stores SRID + WKB). */
export function geometryFamily(): fc.Arbitrary<ColumnSpec> {
  return maybeNotNull(
    fc.constantFrom('GEOMETRY', 'LINESTRING', 'POLYGON', 'MULTIPOINT', 'MULTILINESTRING', 'MULTIPOLYGON', 'GEOMETRYCOLLECTION').map((type) =>
      spec({ family: 'GEOMETRY', ddl: type, kind: 'geometry', charset: 'binary', value: geometryLiteral(wktBy[type]!) }),
    ),
  );
}

/** POINT columns. */
export function pointFamily(): fc.Arbitrary<ColumnSpec> {
  return maybeNotNull(fc.constant(spec({ family: 'POINT', ddl: 'POINT', kind: 'geometry', charset: 'binary', value: geometryLiteral(wktBy['POINT']!) })));
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** UUID: random 16 bytes as text, plus the nil UUID and ones ending in zero bytes. */
export function uuidFamily(): fc.Arbitrary<ColumnSpec> {
  const bytes = withEdges([new Uint8Array(16), Uint8Array.from([...new Uint8Array(15).fill(0x11), 0]), new Uint8Array(16).fill(0xff)], fc.uint8Array({ minLength: 16, maxLength: 16 }));
  const value = bytes.map((raw) => {
    // The server rejects a version >= 8 with byte 8 in 0x01..0x80 (sql_type_uuid.h ascii_to_fbt, signed chars).
    const b = Uint8Array.from(raw);
    if (b[6]! & 0x80 && b[8]! > 0 && b[8]! <= 0x80) b[6] = b[6]! & 0x7f;
    const h = hexOf(b);
    return `'${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}'`;
  });
  return maybeNotNull(fc.constant(spec({ family: 'UUID', ddl: 'UUID', kind: 'fixed-binary', byteLength: 16, charset: 'binary', value })));
}

/** INET6: random addresses in full form, `::`, IPv4-mapped and trailing-zero addresses. */
export function inet6Family(): fc.Arbitrary<ColumnSpec> {
  const random = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => hexOf(b).match(/.{4}/g)!.join(':'));
  const value = withEdges(['::', '::1', '2001:db8::', '::ffff:1.2.3.4', 'fe80::1:0:0:0', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], random).map((a) => `'${a}'`);
  return maybeNotNull(fc.constant(spec({ family: 'INET6', ddl: 'INET6', kind: 'fixed-binary', byteLength: 16, charset: 'binary', value })));
}

/** INET4: random addresses, 0.0.0.0 and ones ending in zero bytes. */
export function inet4Family(): fc.Arbitrary<ColumnSpec> {
  const random = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => [...b].join('.'));
  const value = withEdges(['0.0.0.0', '10.0.0.0', '255.255.255.255', '1.0.0.0'], random).map((a) => `'${a}'`);
  return maybeNotNull(fc.constant(spec({ family: 'INET4', ddl: 'INET4', kind: 'fixed-binary', byteLength: 4, charset: 'binary', value })));
}

// ---- all of them ----------------------------------------------------------------------------

/** One arbitrary per family; a generated table has one column of each, plus extras. */
export function allFamilies(groups: readonly CharGroup[] = CHAR_GROUPS): fc.Arbitrary<ColumnSpec>[] {
  return [
    ...integerFamilies(),
    decimalFamily(),
    floatFamily(),
    doubleFamily(),
    bitFamily(),
    yearFamily(),
    dateFamily(),
    timeFamily(),
    datetimeFamily(),
    timestampFamily(),
    ...charFamilies(groups),
    ...varcharFamilies(groups),
    ...textFamilies(groups),
    binaryFamily(),
    varbinaryFamily(),
    blobFamily(),
    enumFamily(),
    bigEnumFamily(),
    setFamily(),
    bigSetFamily(),
    jsonFamily(),
    geometryFamily(),
    pointFamily(),
    uuidFamily(),
    inet6Family(),
    inet4Family(),
  ];
}

/** The DDL of one column. */
export function columnDdl(name: string, s: ColumnSpec): string {
  const base = `\`${name}\` ${s.ddl}`;
  if (s.kind === 'temporal' && s.ddl.startsWith('TIMESTAMP')) return `${base} ${s.nullable ? 'NULL DEFAULT NULL' : "NOT NULL DEFAULT '1970-01-01 00:00:01'"}`;
  return `${base} ${s.nullable ? 'NULL' : 'NOT NULL'}`;
}
