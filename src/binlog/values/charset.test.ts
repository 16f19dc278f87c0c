import { describe, expect, it } from 'vitest';
import { charsetOfCollation, decodeText, isTextCollation, type Charset } from './charset.js';

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

  it('decodes the UTF-16/32 family (ucs2 and utf16 big-endian)', () => {
    expect(text(35, '006100e920ac')).toBe('aé€');
    expect(text(54, '0061d83dde00')).toBe('a😀');
    expect(text(56, '61003dd800de')).toBe('a😀');
    expect(text(60, '000000610001f600')).toBe('a😀');
    expect(text(60, '0011000000')).toBe('\ufffd\ufffd');
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
