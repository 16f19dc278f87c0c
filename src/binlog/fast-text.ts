/**
 * Buffer → string without Buffer#toString's argument checks and encoding lookup, which cost ~7%
 * of a decode of a typical binlog (profiled on the 300 MB bench file). `utf8Slice` and
 * `latin1Slice` are the methods toString dispatches to; every Node release since 0.x has them.
 */
interface SliceMethods {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
}

const fromCodes = String.fromCharCode;

/**
 * ASCII text of 0–8 bytes from their codes: a fixed-arity String.fromCharCode is 2–5× faster
 * than the native slice for such short values (country codes, statuses, SKUs).
 */
function shortAscii(b: Buffer, s: number, n: number): string {
  switch (n) {
    case 0:
      return '';
    case 1:
      return fromCodes(b[s]!);
    case 2:
      return fromCodes(b[s]!, b[s + 1]!);
    case 3:
      return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!);
    case 4:
      return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!);
    case 5:
      return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!);
    case 6:
      return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!);
    case 7:
      return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!);
    default:
      return fromCodes(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!);
  }
}

/** UTF-8 text of buf[start, end). The caller has checked the bounds. */
export function utf8Text(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n >= 0 && n <= 8) {
    // Bytes below 0x80 are the same characters in UTF-8 and as codes; others take the decoder.
    let high = 0;
    for (let i = start; i < end; i++) high |= buf[i]!;
    if (high < 0x80) return shortAscii(buf, start, n);
  }
  return (buf as unknown as SliceMethods).utf8Slice(start, end);
}

/** Latin-1 (byte = code point) text of buf[start, end). The caller has checked the bounds. */
export function latin1Text(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as SliceMethods).latin1Slice(start, end);
}
