import { describe, expect, it } from 'vitest';
import { charsetOfCollation, decodeText, decodeTextExact, isTextCollation, type Charset } from './charset.js';
import { CharsetText } from './charset-text.js';

const name = (id: number): string | undefined => charsetOfCollation(id)?.name;

function text(id: number, hex: string): string {
  const cs = charsetOfCollation(id) as Charset;
  const b = Buffer.from(hex, 'hex');
  return decodeText(b, 0, b.length, cs);
}

describe('charsetOfCollation', () => {
  it('maps MySQL 8 ids', () => {
    expect([name(8), name(33), name(45), name(46), name(63), name(76), name(83), name(192), name(224), name(247)]).toEqual([
      'latin1', 'utf8mb3', 'utf8mb4', 'utf8mb4', 'binary', 'utf8mb3', 'utf8mb3', 'utf8mb3', 'utf8mb4', 'utf8mb4',
    ]);
    expect([name(248), name(249), name(250)]).toEqual(['gb18030', 'gb18030', 'gb18030']);
    for (const id of [255, 256, 271, 273, 277, 278, 294, 296, 300, 303, 305, 309, 323]) expect(name(id)).toBe('utf8mb4');
    for (const id of [272, 276, 295, 299, 301, 302, 324]) expect(name(id)).toBeUndefined();
  });

  it('maps MariaDB 10.11 ids: UCA 5.2 extras, NO PAD (+1024) and UCA 14.0.0 (2048+)', () => {
    // Spot checks from information_schema.COLLATION_CHARACTER_SET_APPLICABILITY on 10.11.19
    // (the whole table, 1242 ids, was compared once when this table was written).
    expect([name(576), name(608), name(640), name(672), name(736)]).toEqual(['utf8mb3', 'utf8mb4', 'ucs2', 'utf16', 'utf32']);
    expect([name(1032), name(1057), name(1069), name(1070), name(1071), name(1107), name(1248)]).toEqual(['latin1', 'utf8mb3', 'utf8mb4', 'utf8mb4', 'latin1', 'utf8mb3', 'utf8mb4']);
    expect([name(2048), name(2304), name(2503), name(2560), name(2816), name(3072), name(3271)]).toEqual(['utf8mb3', 'utf8mb4', 'utf8mb4', 'ucs2', 'utf16', 'utf32', 'utf32']);
    expect([name(0), name(17), name(100), name(2216), name(4000)]).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('says which collations decode to text', () => {
    expect([isTextCollation(null), isTextCollation(63), isTextCollation(32), isTextCollation(9999), isTextCollation(45), isTextCollation(8)]).toEqual([false, false, false, false, true, true]);
  });
});

describe('decodeText', () => {
  it('latin1 is Windows-1252 with C1 controls in the five holes (MySQL ctype-latin1.cc)', () => {
    expect(text(8, '80818d8f909d9f')).toBe('€\u0081\u008d\u008f\u0090\u009dŸ');
    expect(text(8, '41e9ff')).toBe('Aéÿ');
    expect(text(8, '')).toBe('');
  });

  it('latin5 is ISO-8859-9, not Windows-1254', () => {
    expect(text(30, '80d0ddfe')).toBe('\u0080Ğİş');
  });

  it('decodes the other single-byte charsets through WHATWG tables', () => {
    expect(text(51, 'c6e6')).toBe('Жж');
    expect(text(26, '8a')).toBe('Š');
    expect(text(7, 'c1')).toBe('а');
    expect(text(25, 'c1')).toBe('Α');
  });

  it('decodes multi-byte CJK charsets (bytes as MariaDB stored them)', () => {
    expect(text(28, 'd6d0cec4')).toBe('中文');
    expect(text(13, '835c955c')).toBe('ソ表');
    expect(text(95, '835c955c')).toBe('ソ表');
    expect(text(12, 'a4a2')).toBe('あ');
    expect(text(19, 'b0a1')).toBe('가');
    expect(text(1, 'a4a4')).toBe('中');
  });

  // Expected values are what MariaDB 10.11.19 returns for SELECT CONVERT(X'…' USING utf8mb4) after
  // storing the bytes in a column of the charset; every code each charset accepts was compared once.
  it('decodes bytes 0x00–0x7f as ASCII in every CJK charset (ICU shift_jis swaps 0x1a, 0x1c and 0x7f)', () => {
    const ascii = Buffer.from(Array.from({ length: 128 }, (_, i) => i)).toString('hex');
    const want = Buffer.from(ascii, 'hex').toString('latin1');
    for (const id of [13, 95, 12, 97, 28, 24, 1, 19]) expect(text(id, ascii)).toBe(want);
    expect(text(13, '8341' + '1a1c7f')).toBe('ア\x1a\x1c\x7f');
    expect(text(95, '1a8341')).toBe('\x1aア');
  });

  // Ids: koi8u 22, greek 25, hebrew 16, cp866 36, tis620 18, ascii 11, cp1250 26, cp1251 14, cp1256 57,
  // cp1257 59. Each of the 256 bytes was compared with MariaDB 10.11.19; these are every byte where
  // Node's decoder of the same name gives another character (it gave the right-hand ones before).
  it('decodes the single-byte charsets as the server maps them, where Node decodes otherwise', () => {
    expect(text(22, '95')).toBe('\u2022'); // koi8u: not ∙ U+2219
    expect(text(25, 'a1a2')).toBe('\u02bd\u02bc'); // greek: not ‘ ’
    expect(text(16, 'af')).toBe('\u203e'); // hebrew: not ¯
    expect(text(36, 'fcfd')).toBe('\u207f\u00b2'); // cp866: not № ¤
    expect(text(36, '1a1c7f80')).toBe('\x1a\x1c\x7fА'); // cp866: not ICU's IBM swap of 0x1a, 0x1c, 0x7f (found by the server round trip, seed 33)
    // tis620: C1 controls, not windows-874's € … ‘ ’ “ ” • – —; U+FFFD, not NBSP or private use.
    expect(text(18, '80859197')).toBe('\x80\x85\x91\x97');
    expect(text(18, 'a0dbfcff')).toBe('\ufffd\ufffd\ufffd\ufffd');
    expect(text(18, 'a1')).toBe('ก');
  });

  it('decodes a byte the server cannot map to Unicode as the "?" it reads back as', () => {
    expect(text(11, '41807fff')).toBe('A?\x7f?'); // ascii: not U+0080, U+00FF
    expect(text(26, '8183889098')).toBe('?????'); // cp1250
    expect(text(14, '9880')).toBe('?Ђ'); // cp1251
    expect(text(57, '8a8f989a9faac0ff')).toBe('????????'); // cp1256: not Arabic letters
    expect(text(59, 'a1a5')).toBe('??'); // cp1257: not U+FFFD
    expect(text(25, 'a4a5aaaed2ff')).toBe('??????'); // greek: not € ₯ ͺ or U+FFFD
    expect(text(16, 'a1bfdefbfcffe0')).toBe('??????א'); // hebrew
  });

  it('sjis and ujis map JIS X 0208 as MariaDB does, not as cp932 and eucjpms do', () => {
    expect(text(13, '815f81608161817c8191819281ca')).toBe('\\\u301c\u2016\u2212\u00a2\u00a3\u00ac');
    expect(text(95, '815f81608161817c8191819281ca')).toBe('\uff3c\uff5e\u2225\uff0d\uffe0\uffe1\uffe2');
    expect(text(12, 'a1c0a1c1a1c2a1dda1f1a1f2a2cc')).toBe('\\\u301c\u2016\u2212\u00a2\u00a3\u00ac');
    expect(text(97, 'a1c0a1c1')).toBe('\uff3c\uff5e');
    expect(text(13, 'a1df')).toBe('｡ﾟ');
    expect(text(12, '8ea18fa2b7')).toBe('｡~');
  });

  it('decodes vendor extensions and user-defined areas as MariaDB does; codes it cannot map become ?', () => {
    expect([text(13, '8740'), text(13, 'f040'), text(95, '8740'), text(95, 'f040')]).toEqual(['?', '?', '\u2460', '\ue000']);
    expect([text(12, 'f5a1'), text(12, '8ff5a1'), text(12, 'ada1'), text(97, 'ada1'), text(97, '8ff4ab8ff3f3')]).toEqual(['\ue000', '\ue3ac', '?', '\u2460', '\u3231\u2170']);
    expect([text(28, '8140'), text(28, 'a140'), text(28, 'fe50'), text(24, 'a1a4a1aa')]).toEqual(['\u4e02', '?', '?', '\u30fb\u2015']);
    expect([text(1, 'a145'), text(1, 'a15a'), text(1, 'c6a5'), text(1, 'a3e1')]).toEqual(['\u2022', '\ufffd', '\u3041', '?']);
  });

  it('euckr accepts the cp949 Hangul extension', () => {
    expect([text(19, 'b0a1'), text(19, '8141'), text(19, 'c652'), text(19, 'a2e6'), text(19, 'c7a0'), text(19, 'c9a1')]).toEqual(['가', '\uac02', '\ud7a3', '€', '?', '?']);
  });

  it('decodes ill-formed CJK bytes (which the server never stores) as U+FFFD and resumes at the next byte', () => {
    expect(text(13, '80a0fd41')).toBe('\ufffd\ufffd\ufffdA');
    expect(text(13, '8141' + '81')).toBe('\u3001\ufffd');
    expect(text(12, 'a141')).toBe('\ufffdA');
    expect(text(12, '8fa1')).toBe('\ufffd\ufffd');
  });

  it('decodes long CJK values across chunk boundaries', () => {
    const value = Buffer.from('41' + '82a0'.repeat(5000) + '42', 'hex');
    expect(decodeText(value, 0, value.length, charsetOfCollation(13)!)).toBe('A' + 'あ'.repeat(5000) + 'B');
    expect(decodeText(value, 1, value.length - 1, charsetOfCollation(13)!)).toBe('あ'.repeat(5000));
  });

  it('decodes the UTF-16/32 family (ucs2 and utf16 big-endian)', () => {
    expect(text(35, '006100e920ac')).toBe('aé€');
    expect(text(54, '0061d83dde00')).toBe('a😀');
    expect(text(56, '61003dd800de')).toBe('a😀');
    expect(text(60, '000000610001f600')).toBe('a😀');
    expect(text(60, '0011000000')).toBe('\ufffd\ufffd');
  });

  it('keeps a leading U+FEFF: it is the value\'s first character, not a byte-order mark to drop', () => {
    // The writer round trip (FC_MULT=1000) met a ucs2 TEXT value of one U+FEFF, decoded as "": a
    // WHATWG TextDecoder strips a leading BOM unless told not to.
    expect(text(35, 'feff')).toBe('\ufeff');
    expect(text(35, 'feff0041')).toBe('\ufeffA');
    expect(text(54, 'feff0041feff')).toBe('\ufeffA\ufeff');
    expect(text(56, 'fffe4100')).toBe('\ufeffA');
    expect(text(60, '0000feff00000041')).toBe('\ufeffA');
    expect(text(255, 'efbbbf41')).toBe('\ufeffA');
    expect(text(33, 'efbbbf')).toBe('\ufeff');
  });

  it('decodes utf8mb4 and ascii', () => {
    expect(text(255, '68c3a96c6c6ff09f9880')).toBe('héllo😀');
    expect(text(11, '616263')).toBe('abc');
  });

  it('decodes long table-charset values in chunks', () => {
    const bytes = Buffer.alloc(10000, 0x80);
    expect(decodeText(bytes, 0, bytes.length, charsetOfCollation(8)!)).toBe('€'.repeat(10000));
  });
});

describe('decodeTextExact', () => {
  const exact = (id: number, hex: string): string | CharsetText => {
    const b = Buffer.from(`00${hex}00`, 'hex');
    return decodeTextExact(b, 1, b.length - 1, charsetOfCollation(id)!);
  };
  const kept = (text: string, hex: string, charset: string): CharsetText => new CharsetText(text, Buffer.from(hex, 'hex'), charset);

  it('keeps the bytes of a value holding a code the server maps one way only, beside the text SELECT shows', () => {
    // sjis 0x5C reads as \ and converts back as 0x815F; 0x815F reads as \ and converts back as itself.
    expect(exact(13, '5c')).toEqual(kept('\\', '5c', 'sjis'));
    expect(exact(13, '815f')).toBe('\\');
    expect(exact(13, '41835c5c')).toEqual(kept('Aソ\\', '41835c5c', 'sjis'));
    // sjis ① (NEC row 13) reads as '?'.
    expect(exact(13, '8740')).toEqual(kept('?', '8740', 'sjis'));
    // cp932: ED40 (NEC-selected IBM) converts back as FA5C (IBM); 0x8790 (NEC row 13) as 0x81E0; 0x5C is ASCII.
    expect(exact(95, 'ed40')).toEqual(kept('纊', 'ed40', 'cp932'));
    expect(exact(95, 'fa5c')).toBe('纊');
    expect(exact(95, '8790')).toEqual(kept('≒', '8790', 'cp932'));
    expect(exact(95, '5c')).toBe('\\');
    // ujis A1C0 reads as \ (converts back as 0x5C); 8FA2B7 as ~; eucjpms' 3-byte duplicate of ①…
    expect(exact(12, 'a1c0')).toEqual(kept('\\', 'a1c0', 'ujis'));
    expect(exact(12, '8fa2b7')).toEqual(kept('~', '8fa2b7', 'ujis'));
    expect(exact(97, '8ff3fd')).toEqual(kept('Ⅰ', '8ff3fd', 'eucjpms'));
    // big5's codes that read as U+FFFD, but not A2CE, which U+FFFD converts back as.
    expect(exact(1, 'a15a')).toEqual(kept('\ufffd', 'a15a', 'big5'));
    expect(exact(1, 'a2ce')).toBe('\ufffd');
    // gbk's user-defined area reads as '?'.
    expect(exact(28, 'aaa1')).toEqual(kept('?', 'aaa1', 'gbk'));
  });

  it('gives the plain string for values without such a code, and for every other charset', () => {
    expect(exact(13, '835c955c')).toBe('ソ表');
    expect(exact(13, '414243')).toBe('ABC');
    expect(exact(95, '835c955c')).toBe('ソ表');
    expect(exact(28, 'd6d0cec4')).toBe('中文');
    expect(exact(8, '5c80')).toBe('\\€');
    expect(exact(45, '5c')).toBe('\\');
  });

  it('copies the kept bytes: the value does not pin the chunk it was decoded from', () => {
    const chunk = Buffer.from('005c00', 'hex');
    const v = decodeTextExact(chunk, 1, 2, charsetOfCollation(13)!) as CharsetText;
    chunk[1] = 0x41;
    expect(v.bytes).toEqual(Buffer.from('5c', 'hex'));
  });
});
