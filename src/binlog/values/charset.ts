/**
 * Collation id → character set, and how a charset's bytes become a string. Ids cover MySQL 8.0–8.4
 * (INFORMATION_SCHEMA.COLLATIONS, 1–323) and MariaDB 10.11 (COLLATION_CHARACTER_SET_APPLICABILITY,
 * including the NO PAD ids 1024+ and the UCA-14.0.0 ids 2048+). Where both servers use an id they
 * agree on its charset. An id not listed here is unknown: its bytes stay a Buffer (never guessed).
 */
import { TextDecoder } from 'node:util';
import { latin1Text, utf8Text } from '../fast-text.js';

/** How a charset's bytes are turned into a string. */
export const TextCodec = {
  /** The binary charset (63): the value stays a Buffer. */
  Binary: 0,
  /** utf8mb3/utf8mb4: Node's own UTF-8 slice (the server has validated the bytes). */
  Utf8: 1,
  /** ascii: one byte per code point; only 0x00–0x7f are valid, and every byte maps to itself. */
  Ascii: 2,
  /** A WHATWG TextDecoder (Node 20 ships full ICU), with an ASCII fast path when `asciiSafe`. */
  Decoder: 3,
  /** utf16le: Node's own UTF-16LE slice. */
  Utf16le: 4,
  /** utf32 (big-endian, 4 bytes per code point): no WHATWG decoder exists, so decoded by hand. */
  Utf32: 5,
  /** A charset with no decoder in Node (armscii8, cp850, …): the value stays a Buffer. */
  NoDecoder: 6,
  /** A single-byte charset decoded through our own 256-entry table (see SINGLE_BYTE_TABLES). */
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
  /** Byte → UTF-16 code unit (codec Table only). */
  readonly table: Uint16Array | null;
  /** Created on first use: most processes see one or two charsets. */
  decoder: TextDecoder | null;
}

function charset(name: string, codec: TextCodec, label: string | null = null, asciiSafe = false, table: Uint16Array | null = null): Charset {
  return { name, codec, label, asciiSafe, table, decoder: null };
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

// ucs2 and utf16 are big-endian in the server. sjis and cp932 both decode with WHATWG shift_jis
// (which is Microsoft's cp932 table); ujis and eucjpms with euc-jp; gb2312 with gbk (a superset);
// big5 with WHATWG big5 (Big5-HKSCS, a superset); tis620 with windows-874 (a superset).
const CHARSETS: Record<string, Charset> = {
  binary: charset('binary', TextCodec.Binary),
  utf8mb4: charset('utf8mb4', TextCodec.Utf8),
  utf8mb3: charset('utf8mb3', TextCodec.Utf8),
  ascii: charset('ascii', TextCodec.Ascii),
  latin1: charset('latin1', TextCodec.Table, null, true, CP1252),
  latin2: charset('latin2', TextCodec.Decoder, 'iso-8859-2', true),
  latin5: charset('latin5', TextCodec.Table, null, true, ISO_8859_9),
  latin7: charset('latin7', TextCodec.Decoder, 'iso-8859-13', true),
  cp1250: charset('cp1250', TextCodec.Decoder, 'windows-1250', true),
  cp1251: charset('cp1251', TextCodec.Decoder, 'windows-1251', true),
  cp1256: charset('cp1256', TextCodec.Decoder, 'windows-1256', true),
  cp1257: charset('cp1257', TextCodec.Decoder, 'windows-1257', true),
  cp866: charset('cp866', TextCodec.Decoder, 'ibm866', true),
  koi8r: charset('koi8r', TextCodec.Decoder, 'koi8-r', true),
  koi8u: charset('koi8u', TextCodec.Decoder, 'koi8-u', true),
  greek: charset('greek', TextCodec.Decoder, 'iso-8859-7', true),
  hebrew: charset('hebrew', TextCodec.Decoder, 'iso-8859-8', true),
  tis620: charset('tis620', TextCodec.Decoder, 'windows-874', true),
  macroman: charset('macroman', TextCodec.Decoder, 'macintosh', true),
  gbk: charset('gbk', TextCodec.Decoder, 'gbk', true),
  gb2312: charset('gb2312', TextCodec.Decoder, 'gbk', true),
  gb18030: charset('gb18030', TextCodec.Decoder, 'gb18030', true),
  big5: charset('big5', TextCodec.Decoder, 'big5', true),
  euckr: charset('euckr', TextCodec.Decoder, 'euc-kr', true),
  ujis: charset('ujis', TextCodec.Decoder, 'euc-jp', true),
  eucjpms: charset('eucjpms', TextCodec.Decoder, 'euc-jp', true),
  // Shift_JIS trail bytes include 0x40–0x7e, so an ASCII-looking byte may be half a character.
  sjis: charset('sjis', TextCodec.Decoder, 'shift_jis', false),
  cp932: charset('cp932', TextCodec.Decoder, 'shift_jis', false),
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
    case TextCodec.Ascii:
      return latin1Text(buf, start, end);
    case TextCodec.Utf16le:
      return buf.toString('utf16le', start, end);
    case TextCodec.Utf32:
      return decodeUtf32(buf, start, end);
    case TextCodec.Table:
      return isAscii(buf, start, end) ? latin1Text(buf, start, end) : decodeTable(buf, start, end, cs.table!);
    default: {
      if (cs.asciiSafe && isAscii(buf, start, end)) return latin1Text(buf, start, end);
      const d = cs.decoder ?? (cs.decoder = new TextDecoder(cs.label ?? 'utf-8'));
      return d.decode(buf.subarray(start, end));
    }
  }
}

function isAscii(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i]! > 0x7f) return false;
  return true;
}

function decodeTable(buf: Buffer, start: number, end: number, table: Uint16Array): string {
  // Chunks keep String.fromCharCode's argument count far below engine limits.
  const units = new Uint16Array(Math.min(end - start, 4096));
  let s = '';
  for (let p = start; p < end; p += units.length) {
    const n = Math.min(units.length, end - p);
    for (let i = 0; i < n; i++) units[i] = table[buf[p + i]!]!;
    s += String.fromCharCode.apply(null, n === units.length ? (units as unknown as number[]) : (units.subarray(0, n) as unknown as number[]));
  }
  return s;
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
