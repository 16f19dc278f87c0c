/**
 * One cursor over a byte buffer, repositioned per event (STYLE.md rule 1). Reads name their
 * width, signedness and byte order; 64-bit values are bigint. `bytes()` returns views, not
 * copies: a caller that keeps one beyond the chunk's life must copy it and say so.
 */
import { Buffer } from 'node:buffer';
import { latin1Text, utf8Text } from './fast-text.js';

/** Thrown when a read would pass `end`; the event decoder turns it into a BinlogError with the place. */
export class ShortReadError extends Error {
  constructor(
    readonly wanted: number,
    readonly available: number,
  ) {
    super(`wanted ${wanted} bytes, ${available} left`);
  }
}

const EMPTY_VIEW = new DataView(new ArrayBuffer(0));
/**
 * What `#viewOf` holds before the first view: a Buffer, not null, so the field keeps one type for
 * the reader's life. A null there changing to a Buffer deoptimized the compiled readers of every
 * new ByteReader (one per job of a parallel `--stats`).
 */
const NO_BUFFER = Buffer.alloc(0);

export class ByteReader {
  buf: Buffer;
  pos: number;
  end: number;
  /**
   * A DataView over `buf`, made on first use per buffer: its reads compile to plain loads, where
   * Buffer#readInt32LE and friends validate their argument and BigInt reads build the value from
   * four BigInts (a third of the cost of a BIGINT column in the profile of the bench binlog).
   */
  #view: DataView = EMPTY_VIEW;
  #viewOf: Buffer = NO_BUFFER;

  constructor(buf: Buffer = Buffer.alloc(0), start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  /** Points the reader at a new range; the previous buffer is released (not pinned). */
  reset(buf: Buffer, start = 0, end = buf.length): this {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** The DataView over the current buffer (same indexes as `buf`). */
  get view(): DataView {
    if (this.#viewOf !== this.buf) {
      this.#view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
      this.#viewOf = this.buf;
    }
    return this.#view;
  }

  need(n: number): void {
    if (this.pos + n > this.end) throw new ShortReadError(n, this.end - this.pos);
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  i8(): number {
    this.need(1);
    return (this.buf[this.pos++]! << 24) >> 24;
  }

  u16le(): number {
    this.need(2);
    const b = this.buf;
    const p = this.pos;
    this.pos += 2;
    return b[p]! | (b[p + 1]! << 8);
  }

  i16le(): number {
    this.need(2);
    const b = this.buf;
    const p = this.pos;
    this.pos += 2;
    return ((b[p]! | (b[p + 1]! << 8)) << 16) >> 16;
  }

  u24le(): number {
    this.need(3);
    const b = this.buf;
    const p = this.pos;
    this.pos += 3;
    return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16);
  }

  i24le(): number {
    const v = this.u24le();
    return v & 0x800000 ? v - 0x1000000 : v;
  }

  u32le(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  i32le(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** 48-bit little-endian, exact as a number (< 2^53); byte arithmetic, where Buffer#readUIntLE validates its arguments (a rows event's table id). */
  u48le(): number {
    this.need(6);
    const b = this.buf;
    const p = this.pos;
    this.pos += 6;
    return ((b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0) + (b[p + 4]! | (b[p + 5]! << 8)) * 4294967296;
  }

  u64le(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  i64le(): bigint {
    this.need(8);
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Little-endian unsigned of 1..6 bytes as a number. */
  uintLE(width: number): number {
    if (width < 1 || width > 6) throw new RangeError(`uintLE of ${width} bytes (1 to 6)`);
    this.need(width);
    const b = this.buf;
    const start = this.pos;
    let v = 0;
    for (let p = start + width - 1; p >= start; p--) v = v * 256 + b[p]!;
    this.pos = start + width;
    return v;
  }

  /** Big-endian unsigned of 1..6 bytes as a number (DECIMAL, DATETIME2 and friends are big-endian). */
  uintBE(width: number): number {
    if (width < 1 || width > 6) throw new RangeError(`uintBE of ${width} bytes (1 to 6)`);
    this.need(width);
    const b = this.buf;
    const end = this.pos + width;
    let v = 0;
    for (let p = this.pos; p < end; p++) v = v * 256 + b[p]!;
    this.pos = end;
    return v;
  }

  f32le(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f64le(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /**
   * MySQL length-encoded integer (packed integer): <251 is the value; 0xfc + u16; 0xfd + u24;
   * 0xfe + u64. 0xfb (NULL in result sets) is not valid here and reads as an error by the caller.
   * Returned as a number: every length it encodes in a binlog fits well below 2^53.
   */
  lenenc(): number {
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfc) return this.u16le();
    if (first === 0xfd) return this.u24le();
    if (first === 0xfe) {
      const v = this.u64le();
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ShortReadError(Number.MAX_SAFE_INTEGER, this.remaining);
      return Number(v);
    }
    throw new ShortReadError(-1, this.remaining);
  }

  /** A view of the next n bytes (no copy). */
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A copy of the next n bytes, for values that must outlive the chunk. */
  copy(n: number): Buffer {
    this.need(n);
    // Copied straight from the chunk: Buffer.from(view) first makes the view (twice the cost).
    // Buffer imported, not the global: compiled code reached the global through a LoadGlobalIC
    // call per copy (~280 instructions). TypedArray#set on a plain view, not Buffer#copy, whose
    // JavaScript wrapper checks its arguments and makes that view itself: ~1,470 against ~1,900
    // instructions per 8–250-byte copy (callgrind).
    const out = Buffer.allocUnsafe(n);
    const b = this.buf;
    out.set(new Uint8Array(b.buffer, b.byteOffset + this.pos, n));
    this.pos += n;
    return out;
  }

  /** Bytes up to `end`, as a view. */
  rest(): Buffer {
    return this.bytes(this.end - this.pos);
  }

  latin1(n: number): string {
    this.need(n);
    const s = latin1Text(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  utf8(n: number): string {
    this.need(n);
    const s = utf8Text(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}
