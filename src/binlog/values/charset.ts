/**
 * Collation id → character set, and how a charset's bytes become a string. Ids cover MySQL 8.0–8.4
 * (INFORMATION_SCHEMA.COLLATIONS, 1–323) and MariaDB 10.11 (COLLATION_CHARACTER_SET_APPLICABILITY,
 * including the NO PAD ids 1024+ and the UCA-14.0.0 ids 2048+). Where both servers use an id they
 * agree on its charset. An id not listed here is unknown: its bytes stay a Buffer (never guessed).
 */
import { endianness } from 'node:os';
import { TextDecoder } from 'node:util';
import { latin1Text, utf8Text } from '../fast-text.js';
import { CharsetText } from './charset-text.js';

/** How a charset's bytes are turned into a string. */
export const TextCodec = {
  /** The binary charset (63): the value stays a Buffer. */
  Binary: 0,
  /** utf8mb3/utf8mb4: Node's own UTF-8 slice (the server has validated the bytes). */
  Utf8: 1,
  /**
   * A TextDecoder (Node 20 ships full ICU), with an ASCII fast path when `asciiSafe`; for the CJK
   * charsets (`multibyte` set) our own tables built over it on first use (see MultibyteSpec).
   */
  Decoder: 3,
  /** utf16le: Node's own UTF-16LE slice. */
  Utf16le: 4,
  /** utf32 (big-endian, 4 bytes per code point): no WHATWG decoder exists, so decoded by hand. */
  Utf32: 5,
  /** A charset with no decoder in Node (armscii8, cp850, …): the value stays a Buffer. */
  NoDecoder: 6,
  /** A single-byte charset decoded through our own 256-entry table (latin1With, tableCharset). */
  Table: 7,
} as const;
export type TextCodec = (typeof TextCodec)[keyof typeof TextCodec];

/** One server character set and the way its bytes decode. */
export interface Charset {
  /** The server's name: utf8mb4, latin1, … */
  readonly name: string;
  readonly codec: TextCodec;
  /** The WHATWG label for TextDecoder (codec Decoder only). */
  readonly label: string | null;
  /** Bytes 0x00–0x7f are ASCII, so an all-ASCII value can skip the decoder. */
  readonly asciiSafe: boolean;
  /** Byte → UTF-16 code unit (codec Table only); built on first use from `label` and `fixes` when null. */
  table: Uint16Array | null;
  /** Codec Table built over a TextDecoder: bytes whose server mapping differs from it (byte → code point). */
  readonly fixes: Readonly<Record<number, number>> | null;
  /** The byte structure and the corrections of a CJK charset (codec Decoder only). */
  readonly multibyte: MultibyteSpec | null;
  /** Created on first use: most processes see one or two charsets. */
  decoder: TextDecoder | null;
  /** Created on first use (`multibyte` charsets only). */
  tables: MultibyteTables | null;
}

function charset(name: string, codec: TextCodec, label: string | null = null, asciiSafe = false, table: Uint16Array | null = null, multibyte: MultibyteSpec | null = null): Charset {
  return { name, codec, label, asciiSafe, table, fixes: null, multibyte, decoder: null, tables: null };
}

/**
 * A single-byte charset decoded by a table: Node's TextDecoder for `label` (ISO-8859-1 for null)
 * corrected by `fixes`. Built on first use. The fixes were measured against MariaDB 10.11 as the
 * multi-byte ones were (MultibyteSpec): each of the 256 bytes stored in a column of the charset,
 * read back with CONVERT(… USING utf8mb4), compared with the decoder's. A byte the server cannot
 * map reads back as '?' (tis620: U+FFFD), and decodes so here.
 */
function tableCharset(name: string, label: string | null, fixes: Readonly<Record<number, number>>): Charset {
  return { ...charset(name, TextCodec.Table, label, true), fixes };
}

function buildByteTable(cs: Charset): Uint16Array {
  const t = new Uint16Array(256);
  const base = cs.label === null ? null : new TextDecoder(cs.label, { ignoreBOM: true }).decode(Uint8Array.from({ length: 256 }, (_, b) => b));
  // Bytes below 0x80 are ASCII in every such charset; ICU's ibm866 swaps 0x1a, 0x1c and 0x7f (IBM's convention).
  for (let b = 0; b < 256; b++) t[b] = cs.fixes?.[b] ?? (base === null || b < 0x80 ? b : base.charCodeAt(b));
  return t;
}

/** Bytes from..to (inclusive) that the server cannot map: '?'. */
function unmapped(from: number, to: number): Record<number, number> {
  const out: Record<number, number> = {};
  for (let b = from; b <= to; b++) out[b] = 0x3f;
  return out;
}

/** Inclusive byte ranges. */
type ByteRanges = ReadonlyArray<readonly [number, number]>;

/**
 * A MariaDB multi-byte charset: which bytes start a character of 2 (or, after 0x8f, 3) bytes, the
 * trail bytes after them, and how its mapping differs from Node's decoder of the same family.
 * Node's TextDecoder is ICU's, not WHATWG's: its shift_jis swaps the control bytes 0x1a/0x1c/0x7f
 * (IBM's convention) and is Microsoft's cp932 table; its euc-jp, gbk, big5 and euc-kr differ from
 * MariaDB's ujis/eucjpms, gbk/gb2312, big5 and euckr (strings/ctype-*.c) in a few hundred codes,
 * and its euc-kr lacks the cp949 Hangul extension that MariaDB's euckr accepts. So each code is
 * decoded once with TextDecoder into a table, then corrected by `fixes`, which were measured
 * against MariaDB 10.11: every code it accepts (INSERT into a column of the charset) converted
 * with CONVERT(… USING utf8mb4), compared code by code. A code the server accepts but cannot map
 * (user-defined areas, vendor extensions it lacks) converts to '?', and decodes to '?' here too.
 */
interface MultibyteSpec {
  /** The TextDecoder label whose output the fixes correct. */
  readonly label: string;
  /** Bytes ≥ 0x80 that are a character on their own (sjis half-width katakana). */
  readonly singles: ByteRanges;
  /** Lead bytes of 2-byte characters. */
  readonly leads: ByteRanges;
  readonly trails: ByteRanges;
  /** EUC-JP: 0x8e is followed by a half-width katakana byte only. */
  readonly kanaTrails: ByteRanges | null;
  /** EUC-JP: 0x8f starts a 3-byte JIS X 0212 character, two bytes of `trails` after it. */
  readonly threeByte: boolean;
  /** euckr: the cp949 extension (8,822 Hangul syllables in code order) is computed, not listed. */
  readonly uhc: boolean;
  /**
   * Space-separated runs over the charset's codes in ascending order (invalid trails skipped):
   * `code` or `code*count`, then `=hex` (the first code point; each further code adds one) or
   * nothing ('?' for every code of the run).
   */
  readonly fixes: string;
  /**
   * The codes the server maps to a character that converts back to another code (runs as in
   * `fixes`, without `=`), measured as the fixes were: each accepted code through
   * CONVERT(CONVERT(c USING utf8mb4) USING cs). Codes that read as '?' are one-way too, and found
   * from the tables rather than listed (see CharsetText).
   */
  readonly oneWay: string;
}

/** The decode tables of a multi-byte charset: 0 marks an ill-formed code (decoded as U+FFFD). */
interface MultibyteTables {
  /** Byte → character length: 0 ill-formed, 1, 2 or 3. */
  readonly lengths: Uint8Array;
  readonly single: Uint16Array;
  /** (lead << 8 | trail) → code unit. */
  readonly double: Uint16Array;
  /** After 0x8f: (second << 8 | third) → code unit; empty without 3-byte characters. */
  readonly triple: Uint16Array;
  /** 1 for the codes the server maps one way only (MultibyteSpec.oneWay), by the same indexes as the three above. */
  readonly oneWaySingle: Uint8Array;
  readonly oneWayDouble: Uint8Array;
  readonly oneWayTriple: Uint8Array;
}

/** ISO-8859-1 with `overrides` (byte → code point): every byte maps to exactly one BMP character. */
function latin1With(overrides: Readonly<Record<number, number>>): Uint16Array {
  const t = new Uint16Array(256);
  for (let b = 0; b < 256; b++) t[b] = overrides[b] ?? b;
  return t;
}

// MySQL's latin1 is Windows-1252 with the five unassigned bytes mapped to the C1 controls of the
// same value (strings/ctype-latin1.cc cs_to_uni). Node 20's TextDecoder('windows-1252') decodes
// ISO-8859-1 instead (its latin1 fast path), so the table is ours.
const CP1252 = latin1With({
  0x80: 0x20ac, 0x82: 0x201a, 0x83: 0x0192, 0x84: 0x201e, 0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021,
  0x88: 0x02c6, 0x89: 0x2030, 0x8a: 0x0160, 0x8b: 0x2039, 0x8c: 0x0152, 0x8e: 0x017d, 0x91: 0x2018,
  0x92: 0x2019, 0x93: 0x201c, 0x94: 0x201d, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02dc,
  0x99: 0x2122, 0x9a: 0x0161, 0x9b: 0x203a, 0x9c: 0x0153, 0x9e: 0x017e, 0x9f: 0x0178,
});
// MySQL's latin5 is ISO-8859-9 (C1 controls at 0x80–0x9f), which WHATWG folds into windows-1254.
const ISO_8859_9 = latin1With({ 0xd0: 0x011e, 0xdd: 0x0130, 0xde: 0x015e, 0xf0: 0x011f, 0xfd: 0x0131, 0xfe: 0x015f });

type Structure = Pick<MultibyteSpec, 'singles' | 'leads' | 'trails' | 'kanaTrails' | 'threeByte' | 'uhc'>;

const SJIS: Structure = { singles: [[0xa1, 0xdf]], leads: [[0x81, 0x9f], [0xe0, 0xfc]], trails: [[0x40, 0x7e], [0x80, 0xfc]], kanaTrails: null, threeByte: false, uhc: false };
const EUC_JP: Structure = { singles: [], leads: [[0x8e, 0x8e], [0xa1, 0xfe]], trails: [[0xa1, 0xfe]], kanaTrails: [[0xa1, 0xdf]], threeByte: true, uhc: false };
const GBK: Structure = { singles: [], leads: [[0x81, 0xfe]], trails: [[0x40, 0x7e], [0x80, 0xfe]], kanaTrails: null, threeByte: false, uhc: false };
const GB2312: Structure = { singles: [], leads: [[0xa1, 0xf7]], trails: [[0xa1, 0xfe]], kanaTrails: null, threeByte: false, uhc: false };
const BIG5: Structure = { singles: [], leads: [[0xa1, 0xf9]], trails: [[0x40, 0x7e], [0xa1, 0xfe]], kanaTrails: null, threeByte: false, uhc: false };
const EUC_KR: Structure = { singles: [], leads: [[0x81, 0xfe]], trails: [[0x41, 0x5a], [0x61, 0x7a], [0x81, 0xfe]], kanaTrails: null, threeByte: false, uhc: true };

function multibyte(name: string, label: string, structure: Structure, fixes: string, oneWay = ''): Charset {
  // Bytes 0x00–0x7f are always ASCII here: a value without a byte ≥ 0x80 holds no lead byte.
  return charset(name, TextCodec.Decoder, label, true, null, { label, ...structure, fixes, oneWay });
}

// The fixes below were measured on a throwaway MariaDB 10.11.19 (see MultibyteSpec; 3 s for all eight). sjis is JIS X 0208 as
// MariaDB maps it (0x815f is U+005C, 0x8160 U+301C …), without cp932's NEC and IBM extensions;
// ujis maps the user-defined rows to the private use area; big5 has its own punctuation and maps
// a few codes to U+FFFD itself.
const FIXES = {
  sjis: '815f=5c 8160=301c 8161=2016 817c=2212 8191*2=a2 81ca=ac 8740*282 ed40*3008',
  cp932: '',
  ujis: 'a1c0=5c a1c1=301c a1c2=2016 a1dd=2212 a1f1*2=a2 a2cc=ac ada1*282 f5a1*940=e000 8fa2b7=7e 8ff3a1*188 8ff5a1*940=e3ac',
  eucjpms:
    'f5a1*940=e000 8fa2c3=ffe4 8ff3a1*82 8ff3f3*10=2170 8ff3fd*10=2160 8ff4a9=ff07 8ff4aa=ff02 8ff4ab=3231 8ff4ac=2116 ' +
    '8ff4ad=2121 8ff4ae=70bb 8ff4af=4efc 8ff4b0=50f4 8ff4b1=51ec 8ff4b2=5307 8ff4b3=5324 8ff4b4=fa0e 8ff4b5=548a 8ff4b6=5759 ' +
    '8ff4b7*2=fa0f 8ff4b9=589e 8ff4ba=5bec 8ff4bb=5cf5 8ff4bc=5d53 8ff4bd=fa11 8ff4be=5fb7 8ff4bf=6085 8ff4c0=6120 8ff4c1=654e ' +
    '8ff4c2=663b 8ff4c3=6665 8ff4c4=fa12 8ff4c5=f929 8ff4c6=6801 8ff4c7*2=fa13 8ff4c9=6a6b 8ff4ca=6ae2 8ff4cb=6df8 8ff4cc=6df2 ' +
    '8ff4cd=7028 8ff4ce*2=fa15 8ff4d0=7501 8ff4d1=7682 8ff4d2=769e 8ff4d3=fa17 8ff4d4=7930 8ff4d5*4=fa18 8ff4d9=7ae7 ' +
    '8ff4da*2=fa1c 8ff4dc=7da0 8ff4dd=7dd6 8ff4de=fa1e 8ff4df=8362 8ff4e0=fa1f 8ff4e1=85b0 8ff4e2*2=fa20 8ff4e4=8807 ' +
    '8ff4e5=fa22 8ff4e6=8b7f 8ff4e7=8cf4 8ff4e8=8d76 8ff4e9*3=fa23 8ff4ec=90de 8ff4ed=fa26 8ff4ee=9115 8ff4ef*2=fa27 ' +
    '8ff4f1=9592 8ff4f2=f9dc 8ff4f3=fa29 8ff4f4=973b 8ff4f5=974d 8ff4f6=9751 8ff4f7*3=fa2a 8ff4fa=999e 8ff4fb=9ad9 ' +
    '8ff4fc=9b72 8ff4fd=fa2d 8ff4fe=9ed1 8ff5a1*940=e3ac',
  gbk:
    'a140*96 a240*96 a2ab*6 a2e3*2 a2ef*2 a2fd*98 a440*96 a4f4*107 a5f7*104 a6b9*8 a6d9*7 a6ec*2 a6f3 a6f6*105 a7c2*15 ' +
    'a7f2*13 a896*11 a8bc a8bf a8c1*4 a8ea*21 a958 a95b a95d*3 a989*13 a997*13 a9f0*15 aaa1*94 aba1*94 aca1*94 ada1*94 ' +
    'aea1*94 afa1*94 d7fa*5 f8a1*94 f9a1*94 faa1*94 fba1*94 fca1*94 fda1*94 fe50*174',
  gb2312: 'a1a4=30fb a1aa=2015 a2a1*16 a2e3*2 a2ef*2 a2fd*2 a4f4*11 a5f7*8 a6b9*8 a6d9*38 a7c2*15 a7f2*13 a8bb*10 a8ea*24 a9f0*579 d7fa*5',
  big5:
    'a145=2022 a14e=ff64 a15a=fffd a1c2=203e a1c3=fffd a1c5=fffd a1e3=223c a1f2=2641 a1f3=2609 a1fe=fffd a240=fffd ' +
    'a241=ff0f a242=ff3c a244=a5 a246*2=a2 a2cc=fffd a2ce=fffd a3e1*30 c6a1=30fe c6a2*2=309d c6a4=3005 c6a5*83=3041 ' +
    'c6f8*86=30a1 c7b1*2=414 c7b3=401 c7b4*7=416 c7bb*19=423 c7ce=451 c7cf*26=436 c7e9*10=2460 c7f3*10=2474 c7fd*159 f9dd*34',
  euckr: 'a2e6=20ac a2e7=ae c9a1*178 fea1*94',
} as const;

// The one-way codes that do not read as '?' (MultibyteSpec.oneWay), measured on MariaDB 10.11.19:
// sjis 0x5C converts back as 0x815F; cp932's NEC row 13 and NEC-selected IBM codes as their JIS
// or IBM twins (0x8790 → 0x81E0, ED40 → FA5C, FA4A → 0x8754 …); ujis A1C0 as 0x5C and 8FA2B7 as
// 0x7E; eucjpms' duplicates as cp932's; big5's codes that read as U+FFFD as A2CE. gbk, gb2312 and
// euckr have none besides their '?' codes.
const ONE_WAY = {
  sjis: '5c',
  cp932: '8790*3 8795*3 879a*3 ed40*63 ed80*125 ee40*63 ee80*109 eeef*14 fa4a*11 fa58*4',
  ujis: 'a1c0 8fa2b7',
  eucjpms: 'adf0*3 adf5*3 adfa*3 8fa2b7 8fa2f1 8ff3fd*2 8ff4a1*8 8ff4ab*3',
  big5: 'a15a a1c3 a1c5 a1fe a240 a2cc',
} as const;

// ucs2 and utf16 are big-endian in the server. The CJK charsets are our own tables over ICU's
// decoders (see MultibyteSpec); gb18030 (MySQL 8 only: MariaDB 10.11 has no such charset, so
// nothing could be measured) decodes with WHATWG gb18030. The single-byte charsets whose server
// mapping differs from Node's decoder in some bytes are tables (tableCharset); latin2, latin7,
// koi8r and macroman match it on all 256 bytes.
const CHARSETS: Record<string, Charset> = {
  binary: charset('binary', TextCodec.Binary),
  utf8mb4: charset('utf8mb4', TextCodec.Utf8),
  utf8mb3: charset('utf8mb3', TextCodec.Utf8),
  ascii: tableCharset('ascii', null, unmapped(0x80, 0xff)),
  latin1: charset('latin1', TextCodec.Table, null, true, CP1252),
  latin2: charset('latin2', TextCodec.Decoder, 'iso-8859-2', true),
  latin5: charset('latin5', TextCodec.Table, null, true, ISO_8859_9),
  latin7: charset('latin7', TextCodec.Decoder, 'iso-8859-13', true),
  cp1250: tableCharset('cp1250', 'windows-1250', { 0x81: 0x3f, 0x83: 0x3f, 0x88: 0x3f, 0x90: 0x3f, 0x98: 0x3f }),
  cp1251: tableCharset('cp1251', 'windows-1251', { 0x98: 0x3f }),
  cp1256: tableCharset('cp1256', 'windows-1256', { 0x8a: 0x3f, 0x8f: 0x3f, 0x98: 0x3f, 0x9a: 0x3f, 0x9f: 0x3f, 0xaa: 0x3f, 0xc0: 0x3f, 0xff: 0x3f }),
  cp1257: tableCharset('cp1257', 'windows-1257', { 0x81: 0x3f, 0x83: 0x3f, 0x88: 0x3f, 0x8a: 0x3f, 0x8c: 0x3f, 0x90: 0x3f, 0x98: 0x3f, 0x9a: 0x3f, 0x9c: 0x3f, 0x9f: 0x3f, 0xa1: 0x3f, 0xa5: 0x3f }),
  cp866: tableCharset('cp866', 'ibm866', { 0xfc: 0x207f, 0xfd: 0x00b2 }),
  koi8r: charset('koi8r', TextCodec.Decoder, 'koi8-r', true),
  koi8u: tableCharset('koi8u', 'koi8-u', { 0x95: 0x2022 }),
  greek: tableCharset('greek', 'iso-8859-7', { 0xa1: 0x02bd, 0xa2: 0x02bc, 0xa4: 0x3f, 0xa5: 0x3f, 0xaa: 0x3f, 0xae: 0x3f, 0xd2: 0x3f, 0xff: 0x3f }),
  hebrew: tableCharset('hebrew', 'iso-8859-8', { 0xa1: 0x3f, 0xaf: 0x203e, ...unmapped(0xbf, 0xde), 0xfb: 0x3f, 0xfc: 0x3f, 0xff: 0x3f }),
  // windows-874 with MariaDB's C1 controls at its nine punctuation bytes, and U+FFFD where it has no character.
  tis620: tableCharset('tis620', 'windows-874', {
    0x80: 0x80, 0x85: 0x85, 0x91: 0x91, 0x92: 0x92, 0x93: 0x93, 0x94: 0x94, 0x95: 0x95, 0x96: 0x96, 0x97: 0x97,
    0xa0: 0xfffd, 0xdb: 0xfffd, 0xdc: 0xfffd, 0xdd: 0xfffd, 0xde: 0xfffd, 0xfc: 0xfffd, 0xfd: 0xfffd, 0xfe: 0xfffd, 0xff: 0xfffd,
  }),
  macroman: charset('macroman', TextCodec.Decoder, 'macintosh', true),
  gbk: multibyte('gbk', 'gbk', GBK, FIXES.gbk),
  gb2312: multibyte('gb2312', 'gbk', GB2312, FIXES.gb2312),
  gb18030: charset('gb18030', TextCodec.Decoder, 'gb18030', true),
  big5: multibyte('big5', 'big5', BIG5, FIXES.big5, ONE_WAY.big5),
  euckr: multibyte('euckr', 'euc-kr', EUC_KR, FIXES.euckr),
  ujis: multibyte('ujis', 'euc-jp', EUC_JP, FIXES.ujis, ONE_WAY.ujis),
  eucjpms: multibyte('eucjpms', 'euc-jp', EUC_JP, FIXES.eucjpms, ONE_WAY.eucjpms),
  sjis: multibyte('sjis', 'shift_jis', SJIS, FIXES.sjis, ONE_WAY.sjis),
  cp932: multibyte('cp932', 'shift_jis', SJIS, FIXES.cp932, ONE_WAY.cp932),
  ucs2: charset('ucs2', TextCodec.Decoder, 'utf-16be', false),
  utf16: charset('utf16', TextCodec.Decoder, 'utf-16be', false),
  utf16le: charset('utf16le', TextCodec.Utf16le),
  utf32: charset('utf32', TextCodec.Utf32),
  armscii8: charset('armscii8', TextCodec.NoDecoder),
  cp850: charset('cp850', TextCodec.NoDecoder),
  cp852: charset('cp852', TextCodec.NoDecoder),
  dec8: charset('dec8', TextCodec.NoDecoder),
  geostd8: charset('geostd8', TextCodec.NoDecoder),
  hp8: charset('hp8', TextCodec.NoDecoder),
  keybcs2: charset('keybcs2', TextCodec.NoDecoder),
  macce: charset('macce', TextCodec.NoDecoder),
  swe7: charset('swe7', TextCodec.NoDecoder),
};

// [first id, last id, charset]: ranges of ids that all belong to one charset.
const RANGES: ReadonlyArray<readonly [number, number, string]> = [
  [1, 1, 'big5'], [2, 2, 'latin2'], [3, 3, 'dec8'], [4, 4, 'cp850'], [5, 5, 'latin1'], [6, 6, 'hp8'],
  [7, 7, 'koi8r'], [8, 8, 'latin1'], [9, 9, 'latin2'], [10, 10, 'swe7'], [11, 11, 'ascii'], [12, 12, 'ujis'],
  [13, 13, 'sjis'], [14, 14, 'cp1251'], [15, 15, 'latin1'], [16, 16, 'hebrew'], [18, 18, 'tis620'],
  [19, 19, 'euckr'], [20, 20, 'latin7'], [21, 21, 'latin2'], [22, 22, 'koi8u'], [23, 23, 'cp1251'],
  [24, 24, 'gb2312'], [25, 25, 'greek'], [26, 26, 'cp1250'], [27, 27, 'latin2'], [28, 28, 'gbk'],
  [29, 29, 'cp1257'], [30, 30, 'latin5'], [31, 31, 'latin1'], [32, 32, 'armscii8'], [33, 33, 'utf8mb3'],
  [34, 34, 'cp1250'], [35, 35, 'ucs2'], [36, 36, 'cp866'], [37, 37, 'keybcs2'], [38, 38, 'macce'],
  [39, 39, 'macroman'], [40, 40, 'cp852'], [41, 42, 'latin7'], [43, 43, 'macce'], [44, 44, 'cp1250'],
  [45, 46, 'utf8mb4'], [47, 49, 'latin1'], [50, 52, 'cp1251'], [53, 53, 'macroman'], [54, 55, 'utf16'],
  [56, 56, 'utf16le'], [57, 57, 'cp1256'], [58, 59, 'cp1257'], [60, 61, 'utf32'], [62, 62, 'utf16le'],
  [63, 63, 'binary'], [64, 64, 'armscii8'], [65, 65, 'ascii'], [66, 66, 'cp1250'], [67, 67, 'cp1256'],
  [68, 68, 'cp866'], [69, 69, 'dec8'], [70, 70, 'greek'], [71, 71, 'hebrew'], [72, 72, 'hp8'],
  [73, 73, 'keybcs2'], [74, 74, 'koi8r'], [75, 75, 'koi8u'], [76, 76, 'utf8mb3'] /* MySQL utf8mb3_tolower_ci */,
  [77, 77, 'latin2'], [78, 78, 'latin5'], [79, 79, 'latin7'], [80, 80, 'cp850'], [81, 81, 'cp852'],
  [82, 82, 'swe7'], [83, 83, 'utf8mb3'], [84, 84, 'big5'], [85, 85, 'euckr'], [86, 86, 'gb2312'],
  [87, 87, 'gbk'], [88, 88, 'sjis'], [89, 89, 'tis620'], [90, 90, 'ucs2'], [91, 91, 'ujis'],
  [92, 93, 'geostd8'], [94, 94, 'latin1'], [95, 96, 'cp932'], [97, 98, 'eucjpms'], [99, 99, 'cp1250'],
  [101, 124, 'utf16'], [128, 151, 'ucs2'], [159, 159, 'ucs2'], [160, 183, 'utf32'], [192, 215, 'utf8mb3'],
  [223, 223, 'utf8mb3'], [224, 247, 'utf8mb4'],
  // MySQL 8.0 only: gb18030 and the utf8mb4 UCA 9.0.0 collations (the gaps are unassigned ids).
  [248, 250, 'gb18030'],
  [255, 271, 'utf8mb4'], [273, 275, 'utf8mb4'], [277, 294, 'utf8mb4'], [296, 298, 'utf8mb4'], [300, 300, 'utf8mb4'],
  [303, 323, 'utf8mb4'],
  // MariaDB only: UCA 5.2.0 extras, NO PAD variants (base id + 1024), UCA 14.0.0 (2048 + 256 × charset).
  [576, 578, 'utf8mb3'], [608, 610, 'utf8mb4'], [640, 642, 'ucs2'], [672, 674, 'utf16'], [736, 738, 'utf32'],
  [1025, 1025, 'big5'], [1027, 1027, 'dec8'], [1028, 1028, 'cp850'], [1030, 1030, 'hp8'], [1031, 1031, 'koi8r'],
  [1032, 1032, 'latin1'], [1033, 1033, 'latin2'], [1034, 1034, 'swe7'], [1035, 1035, 'ascii'], [1036, 1036, 'ujis'],
  [1037, 1037, 'sjis'], [1040, 1040, 'hebrew'], [1042, 1042, 'tis620'], [1043, 1043, 'euckr'], [1046, 1046, 'koi8u'],
  [1048, 1048, 'gb2312'], [1049, 1049, 'greek'], [1050, 1050, 'cp1250'], [1052, 1052, 'gbk'], [1054, 1054, 'latin5'],
  [1056, 1056, 'armscii8'], [1057, 1057, 'utf8mb3'], [1059, 1059, 'ucs2'], [1060, 1060, 'cp866'],
  [1061, 1061, 'keybcs2'], [1062, 1062, 'macce'], [1063, 1063, 'macroman'], [1064, 1064, 'cp852'],
  [1065, 1065, 'latin7'], [1067, 1067, 'macce'], [1069, 1070, 'utf8mb4'], [1071, 1071, 'latin1'],
  [1074, 1075, 'cp1251'], [1077, 1077, 'macroman'], [1078, 1079, 'utf16'], [1080, 1080, 'utf16le'],
  [1081, 1081, 'cp1256'], [1082, 1083, 'cp1257'], [1084, 1085, 'utf32'], [1086, 1086, 'utf16le'],
  [1088, 1088, 'armscii8'], [1089, 1089, 'ascii'], [1090, 1090, 'cp1250'], [1091, 1091, 'cp1256'],
  [1092, 1092, 'cp866'], [1093, 1093, 'dec8'], [1094, 1094, 'greek'], [1095, 1095, 'hebrew'], [1096, 1096, 'hp8'],
  [1097, 1097, 'keybcs2'], [1098, 1098, 'koi8r'], [1099, 1099, 'koi8u'], [1101, 1101, 'latin2'],
  [1102, 1102, 'latin5'], [1103, 1103, 'latin7'], [1104, 1104, 'cp850'], [1105, 1105, 'cp852'], [1106, 1106, 'swe7'],
  [1107, 1107, 'utf8mb3'], [1108, 1108, 'big5'], [1109, 1109, 'euckr'], [1110, 1110, 'gb2312'], [1111, 1111, 'gbk'],
  [1112, 1112, 'sjis'], [1113, 1113, 'tis620'], [1114, 1114, 'ucs2'], [1115, 1115, 'ujis'], [1116, 1117, 'geostd8'],
  [1119, 1120, 'cp932'], [1121, 1122, 'eucjpms'], [1125, 1125, 'utf16'], [1147, 1147, 'utf16'],
  [1152, 1152, 'ucs2'], [1174, 1174, 'ucs2'], [1184, 1184, 'utf32'], [1206, 1206, 'utf32'],
  [1216, 1216, 'utf8mb3'], [1238, 1238, 'utf8mb3'], [1248, 1248, 'utf8mb4'], [1270, 1270, 'utf8mb4'],
  [2048, 2215, 'utf8mb3'], [2232, 2247, 'utf8mb3'], [2304, 2471, 'utf8mb4'], [2488, 2503, 'utf8mb4'],
  [2560, 2727, 'ucs2'], [2744, 2759, 'ucs2'], [2816, 2983, 'utf16'], [3000, 3015, 'utf16'],
  [3072, 3239, 'utf32'], [3256, 3271, 'utf32'],
];

/** The binary pseudo-collation: bytes, not text. */
export const BINARY_COLLATION = 63;

// A dense table indexed by id: one array load per cell on the hot path instead of a Map lookup.
const BY_ID: Array<Charset | undefined> = buildTable();

function buildTable(): Array<Charset | undefined> {
  let max = 0;
  for (const [, last] of RANGES) if (last > max) max = last;
  const table = new Array<Charset | undefined>(max + 1).fill(undefined);
  for (const [first, last, name] of RANGES) {
    const cs = CHARSETS[name];
    if (cs === undefined) throw new Error(`charset table names unknown charset ${name}`);
    for (let id = first; id <= last; id++) table[id] = cs;
  }
  return table;
}

/** The character set of a collation id, or undefined when the id is not one we know. */
export function charsetOfCollation(id: number): Charset | undefined {
  return BY_ID[id];
}

/** Whether bytes of this collation become a string (false: binary, unknown, or no decoder in Node). */
export function isTextCollation(id: number | null): boolean {
  if (id === null) return false;
  const cs = BY_ID[id];
  return cs !== undefined && cs.codec !== TextCodec.Binary && cs.codec !== TextCodec.NoDecoder;
}

/**
 * Decodes buf[start, end) in a text charset (isTextCollation was true). The result is a fresh
 * string: nothing of the chunk is retained.
 */
export function decodeText(buf: Buffer, start: number, end: number, cs: Charset): string {
  switch (cs.codec) {
    case TextCodec.Utf8:
      return utf8Text(buf, start, end);
    case TextCodec.Utf16le:
      return buf.toString('utf16le', start, end);
    case TextCodec.Utf32:
      return decodeUtf32(buf, start, end);
    case TextCodec.Table:
      return isAscii(buf, start, end) ? latin1Text(buf, start, end) : decodeTable(buf, start, end, cs.table ?? (cs.table = buildByteTable(cs)));
    default: {
      if (cs.asciiSafe && isAscii(buf, start, end)) return latin1Text(buf, start, end);
      if (cs.multibyte !== null) return decodeMultibyte(buf, start, end, cs.tables ?? (cs.tables = buildMultibyteTables(cs.multibyte)));
      // ignoreBOM: a leading U+FEFF is the value's first character (WHATWG decoders drop it otherwise).
      const d = cs.decoder ?? (cs.decoder = new TextDecoder(cs.label ?? 'utf-8', { ignoreBOM: true }));
      return d.decode(buf.subarray(start, end));
    }
  }
}

/**
 * decodeText, but a value of a multi-byte charset holding a code the server maps one way only is a
 * CharsetText: its text and a copy of its bytes, so it can be written back as logged. Other
 * charsets, and values without such a code, give decodeText's string. The decoder and the DR's
 * row reader both decode through here, so the same bytes always give the same representation.
 */
export function decodeTextExact(buf: Buffer, start: number, end: number, cs: Charset): string | CharsetText {
  const spec = cs.multibyte;
  if (spec === null) return decodeText(buf, start, end, cs);
  const t = cs.tables ?? (cs.tables = buildMultibyteTables(spec));
  // ASCII without a one-way byte (only sjis has one: 0x5C) is its own text.
  const oneWaySingle = t.oneWaySingle;
  let plain = true;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b > 0x7f || oneWaySingle[b] === 1) {
      plain = false;
      break;
    }
  }
  if (plain) return latin1Text(buf, start, end);
  const text = decodeMultibyte(buf, start, end, t);
  // A copy: the value outlives the chunk.
  return oneWaySeen ? new CharsetText(text, Buffer.from(buf.subarray(start, end)), cs.name) : text;
}

/** Set by decodeMultibyte when the value held a one-way code; read right after the call. */
let oneWaySeen = false;

function isAscii(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i]! > 0x7f) return false;
  return true;
}

// Code units are gathered in one reused array and turned into a string a chunk at a time. On a
// little-endian host (all but s390x and AIX) its bytes are UTF-16LE, which Buffer turns into a
// string natively: 2.6× faster than String.fromCharCode.apply on a 640-byte sjis value, and on par
// with TextDecoder. The chunk keeps fromCharCode's argument count far below engine limits.
const CHUNK = 4096;
const units = new Uint16Array(CHUNK);
const unitBytes = Buffer.from(units.buffer, units.byteOffset, units.byteLength);
const LITTLE_ENDIAN = endianness() === 'LE';

function flushUnits(n: number): string {
  if (LITTLE_ENDIAN) return unitBytes.toString('utf16le', 0, n * 2);
  return String.fromCharCode.apply(null, (n === CHUNK ? units : units.subarray(0, n)) as unknown as number[]);
}

function decodeTable(buf: Buffer, start: number, end: number, table: Uint16Array): string {
  let s = '';
  let n = 0;
  for (let p = start; p < end; p++) {
    units[n++] = table[buf[p]!]!;
    if (n === CHUNK) {
      s += flushUnits(n);
      n = 0;
    }
  }
  return n === 0 ? s : s + flushUnits(n);
}

/** A multi-byte value: ASCII bytes as they are, each character through the tables; ill-formed bytes as U+FFFD. */
function decodeMultibyte(buf: Buffer, start: number, end: number, t: MultibyteTables): string {
  const { lengths, single, double, triple, oneWaySingle, oneWayDouble, oneWayTriple } = t;
  let s = '';
  let n = 0;
  let p = start;
  let oneWay = 0;
  while (p < end) {
    const b = buf[p]!;
    let u: number;
    if (b < 0x80) {
      u = b;
      oneWay |= oneWaySingle[b]!;
      p++;
    } else {
      const length = lengths[b]!;
      let code = 0;
      if (length === 1) {
        u = single[b]!;
        oneWay |= oneWaySingle[b]!;
      } else if (length === 2 && p + 1 < end) {
        code = (b << 8) | buf[p + 1]!;
        u = double[code]!;
        oneWay |= oneWayDouble[code]!;
      } else if (length === 3 && p + 2 < end) {
        code = (buf[p + 1]! << 8) | buf[p + 2]!;
        u = triple[code]!;
        oneWay |= oneWayTriple[code]!;
      } else u = 0;
      // An ill-formed code (the server stores none) gives U+FFFD and resumes at the next byte, as TextDecoder does.
      if (u === 0) {
        u = 0xfffd;
        p++;
      } else p += length;
    }
    units[n++] = u;
    if (n === CHUNK) {
      s += flushUnits(n);
      n = 0;
    }
  }
  oneWaySeen = oneWay !== 0;
  return n === 0 ? s : s + flushUnits(n);
}

function inRanges(ranges: ByteRanges, b: number): boolean {
  for (const [lo, hi] of ranges) if (b >= lo && b <= hi) return true;
  return false;
}

/** Every well-formed multi-byte code of the charset in ascending order: 2-byte codes, then 0x8fxxxx. */
function multibyteCodes(spec: MultibyteSpec): number[] {
  const codes: number[] = [];
  for (let lead = 0x80; lead < 0x100; lead++) {
    if (!inRanges(spec.leads, lead)) continue;
    const trails = lead === 0x8e && spec.kanaTrails !== null ? spec.kanaTrails : spec.trails;
    for (let trail = 0; trail < 0x100; trail++) if (inRanges(trails, trail)) codes.push((lead << 8) | trail);
  }
  if (spec.threeByte) {
    for (let b2 = 0; b2 < 0x100; b2++) {
      if (!inRanges(spec.trails, b2)) continue;
      for (let b3 = 0; b3 < 0x100; b3++) if (inRanges(spec.trails, b3)) codes.push(0x8f0000 | (b2 << 8) | b3);
    }
  }
  return codes;
}

/**
 * ICU's decoding of one code, or '?' when it gives no single character (the code is one ICU
 * does not map); then the fixes. About 10 ms for the 24,000 codes of gbk, once per process.
 */
function buildMultibyteTables(spec: MultibyteSpec): MultibyteTables {
  const decoder = new TextDecoder(spec.label);
  const one = (bytes: Uint8Array): number => {
    const s = decoder.decode(bytes);
    return s.length === 1 && s !== '\ufffd' ? s.charCodeAt(0) : 0x3f;
  };
  const lengths = new Uint8Array(256);
  const single = new Uint16Array(256);
  for (let b = 0x80; b < 0x100; b++) {
    if (inRanges(spec.singles, b)) {
      lengths[b] = 1;
      single[b] = one(Uint8Array.of(b));
    } else if (inRanges(spec.leads, b)) lengths[b] = 2;
  }
  if (spec.threeByte) lengths[0x8f] = 3;
  const double = new Uint16Array(0x10000);
  const triple = new Uint16Array(spec.threeByte ? 0x10000 : 0);
  const codes = multibyteCodes(spec);
  const set = (code: number, unit: number): void => {
    if (code > 0xffff) triple[code & 0xffff] = unit;
    else double[code] = unit;
  };
  for (const code of codes) set(code, one(code > 0xffff ? Uint8Array.of(0x8f, (code >> 8) & 0xff, code & 0xff) : Uint8Array.of(code >> 8, code & 0xff)));
  if (spec.uhc) addUhcExtension(double, spec, one);
  for (const run of spec.fixes.split(' ')) {
    if (run === '') continue;
    const m = /^([0-9a-f]+)(?:\*(\d+))?(?:=([0-9a-f]+))?$/.exec(run);
    const at = m ? codes.indexOf(parseInt(m[1]!, 16)) : -1;
    if (!m || at < 0) throw new Error(`charset ${spec.label}: bad fix ${run}`);
    const count = m[2] === undefined ? 1 : Number(m[2]);
    const first = m[3] === undefined ? -1 : parseInt(m[3], 16);
    for (let k = 0; k < count; k++) set(codes[at + k]!, first < 0 ? 0x3f : first + k);
  }
  const oneWaySingle = new Uint8Array(256);
  const oneWayDouble = new Uint8Array(0x10000);
  const oneWayTriple = new Uint8Array(spec.threeByte ? 0x10000 : 0);
  const mark = (code: number): void => {
    if (code < 0x100) oneWaySingle[code] = 1;
    else if (code > 0xffff) oneWayTriple[code & 0xffff] = 1;
    else oneWayDouble[code] = 1;
  };
  // Every code that reads as '?' converts back as 0x3F.
  for (let b = 0x80; b < 0x100; b++) if (lengths[b] === 1 && single[b] === 0x3f) mark(b);
  for (const code of codes) if ((code > 0xffff ? triple[code & 0xffff] : double[code]) === 0x3f) mark(code);
  for (const run of spec.oneWay.split(' ')) {
    if (run === '') continue;
    const m = /^([0-9a-f]+)(?:\*(\d+))?$/.exec(run);
    if (!m) throw new Error(`charset ${spec.label}: bad one-way run ${run}`);
    const first = parseInt(m[1]!, 16);
    const count = m[2] === undefined ? 1 : Number(m[2]);
    for (let k = 0; k < count; k++) mark(first + k);
  }
  return { lengths, single, double, triple, oneWaySingle, oneWayDouble, oneWayTriple };
}

/**
 * cp949's extension of EUC-KR, which MariaDB's euckr accepts: the 8,822 Hangul syllables that
 * KS X 1001 lacks, in Unicode order, over leads 0x81–0xc6 and trails 0x41–0x5a, 0x61–0x7a,
 * 0x81–0xfe (0x81–0xa0 only from lead 0xa1, where KS X 1001's own trails begin).
 */
function addUhcExtension(double: Uint16Array, spec: MultibyteSpec, one: (bytes: Uint8Array) => number): void {
  const inKsx = new Set<number>();
  for (let lead = 0xb0; lead <= 0xc8; lead++) for (let trail = 0xa1; trail <= 0xfe; trail++) inKsx.add(one(Uint8Array.of(lead, trail)));
  let cp = 0xac00;
  for (let lead = 0x81; lead <= 0xc6; lead++) {
    for (let trail = 0x41; trail <= (lead < 0xa1 ? 0xfe : 0xa0); trail++) {
      if (!inRanges(spec.trails, trail)) continue;
      while (inKsx.has(cp)) cp++;
      if (cp > 0xd7a3) return;
      double[(lead << 8) | trail] = cp++;
    }
  }
}

// utf32 is UTF-32BE in the server (strings/ctype-ucs2.cc). A code point beyond U+10FFFF or a
// trailing partial unit cannot come from the server; they decode as U+FFFD as TextDecoder would.
function decodeUtf32(buf: Buffer, start: number, end: number): string {
  let s = '';
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const cp = buf.readUInt32BE(i);
    s += cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : '\ufffd';
  }
  if (i < end) s += '\ufffd';
  return s;
}
