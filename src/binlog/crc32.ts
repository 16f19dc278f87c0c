/**
 * CRC-32 (IEEE, the zlib polynomial) as binlog_checksum=CRC32 uses it. Node ≥ 20.15 has a native
 * zlib.crc32; older 20.x falls back to the table-driven loop below for every length.
 */
import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, initial?: number) => number;

const native = (zlib as unknown as { crc32?: Crc32 }).crc32;

/**
 * Slicing-by-16 tables (Intel's slicing-by-8, as zlib's crc32_little, taken to 16 bytes): table k
 * maps a byte to its CRC shifted through k further zero bytes, so sixteen bytes fold in with
 * sixteen independent lookups. Against slicing-by-8 the longer fold runs ~1.3× faster in V8 on
 * 170–640-byte events (more lookups in flight per step); below 32 bytes the two are alike.
 */
const TABLES = ((): Int32Array => {
  const t = new Int32Array(256 * 16);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 16; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
})();

/**
 * CRC-32 of data[start, end) in JavaScript, continuing from `initial`. `view` is a DataView over
 * the same bytes as `data` (same indexes): its 4-byte reads are single loads, where assembling a
 * word from four byte reads costs ~20% of the loop.
 */
function crc32Js(data: Uint8Array, view: DataView, start: number, end: number, initial: number): number {
  const t = TABLES;
  let c = ~initial;
  let i = start;
  for (const stop = end - 16; i <= stop; i += 16) {
    const a = c ^ view.getInt32(i, true);
    const b = view.getInt32(i + 4, true);
    const d = view.getInt32(i + 8, true);
    const e = view.getInt32(i + 12, true);
    c =
      t[3840 + (a & 0xff)]! ^
      t[3584 + ((a >>> 8) & 0xff)]! ^
      t[3328 + ((a >>> 16) & 0xff)]! ^
      t[3072 + (a >>> 24)]! ^
      t[2816 + (b & 0xff)]! ^
      t[2560 + ((b >>> 8) & 0xff)]! ^
      t[2304 + ((b >>> 16) & 0xff)]! ^
      t[2048 + (b >>> 24)]! ^
      t[1792 + (d & 0xff)]! ^
      t[1536 + ((d >>> 8) & 0xff)]! ^
      t[1280 + ((d >>> 16) & 0xff)]! ^
      t[1024 + (d >>> 24)]! ^
      t[768 + (e & 0xff)]! ^
      t[512 + ((e >>> 8) & 0xff)]! ^
      t[256 + ((e >>> 16) & 0xff)]! ^
      t[e >>> 24]!;
  }
  for (; i < end; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function viewOf(data: Uint8Array): DataView {
  return new DataView(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Below this many bytes the JavaScript loop wins: zlib.crc32 costs ~0.15–0.5 µs a call (argument
 * checks, the binding, and the view it needs) before it reads a byte, while the loop does
 * ~1.8 GB/s; at 640 bytes both take ~350 ns here. Most binlog events are smaller (GTID 42 B, XID
 * 31 B, TABLE_MAP ~170 B, rows ~500 B).
 */
const NATIVE_FROM = 640;

function crc32Portable(data: Uint8Array, initial = 0): number {
  return crc32Js(data, viewOf(data), 0, data.length, initial);
}

/** CRC-32 of `data`, continuing from `initial` (the CRC of the bytes before it). */
export const crc32: Crc32 = native ?? crc32Portable;

/**
 * CRC-32 of data[start, end), continuing from `initial`. `view`, a DataView over the same bytes as
 * `data`, saves making one per call (the decoder keeps one per chunk). An empty range leaves
 * `initial` as it is (zlib.crc32 of no bytes answers 0 instead).
 */
export function crc32Range(data: Uint8Array, start: number, end: number, initial = 0, view?: DataView): number {
  if (native === undefined || end - start < NATIVE_FROM) return crc32Js(data, view ?? viewOf(data), start, end, initial);
  // A plain Uint8Array view: Buffer#subarray goes through the species constructor, a little slower.
  return native(new Uint8Array(data.buffer, data.byteOffset + start, end - start), initial);
}

/**
 * Checking many events' checksums with one pass over their bytes. A valid event ends with the
 * CRC-32 of the bytes before it (little-endian), and the CRC-32 of such a message, checksum
 * included, is always the same constant: the residue. CRC-32 is linear, so the CRC of several
 * valid events laid end to end follows from their lengths alone: crc(A‖B) = crc(A)·x^(8·|B|) ⊕
 * crc(B) over GF(2) modulo the polynomial (zlib's crc32_combine). One zlib call over the whole
 * run of events (≈ 3–4 GB/s here) and a few table lookups per event then replace a CRC per event,
 * most of them too small for zlib to pay for its call (see NATIVE_FROM).
 *
 * The run check is itself a CRC-32 over the run: any error in one event changes it (x^k is
 * invertible modulo the polynomial), so it fails exactly when a per-event check would; errors in
 * two or more events cancel only with the 2⁻³² odds a CRC-32 always has against a multi-bit error.
 * A failed run check says nothing about which event is bad: the caller then checks them one by one.
 */

/**
 * Tables that carry a CRC past 2^k zero bytes, k = 0…15: the map c ↦ c·x^(8·2^k) modulo the
 * polynomial is linear in c, so it is the XOR of its values on c's four bytes, 256 entries each.
 * Table 0 is one step of the byte loop; table k applies table k−1 twice. 64 KiB in all.
 */
const ZERO_SHIFT = ((): Int32Array => {
  const z = new Int32Array(16 * 1024);
  const t = TABLES;
  for (let j = 0; j < 4; j++) {
    for (let v = 0; v < 256; v++) {
      const c = v << (8 * j);
      z[j * 256 + v] = t[c & 0xff]! ^ (c >>> 8);
    }
  }
  for (let k = 1; k < 16; k++) {
    const from = (k - 1) << 10;
    for (let i = 0; i < 1024; i++) {
      // Table k−1 applied to its own value: past 2^(k−1) zero bytes twice.
      const c = z[from + i]!;
      z[(k << 10) + i] = z[from + (c & 0xff)]! ^ z[from + 256 + ((c >>> 8) & 0xff)]! ^ z[from + 512 + ((c >>> 16) & 0xff)]! ^ z[from + 768 + (c >>> 24)]!;
    }
  }
  return z;
})();

/** c·x^(8n) modulo the polynomial: the CRC state c carried past n zero bytes, one table per set bit of n. */
function shiftPastZeros(c: number, n: number): number {
  const z = ZERO_SHIFT;
  // Past 64 KiB (rare: most events are far smaller), 32 KiB at a time.
  for (; n >= 65536; n -= 32768) c = z[15360 + (c & 0xff)]! ^ z[15616 + ((c >>> 8) & 0xff)]! ^ z[15872 + ((c >>> 16) & 0xff)]! ^ z[16128 + (c >>> 24)]!;
  for (let o = 0; n !== 0; n >>>= 1, o += 1024) {
    if (n & 1) c = z[o + (c & 0xff)]! ^ z[o + 256 + ((c >>> 8) & 0xff)]! ^ z[o + 512 + ((c >>> 16) & 0xff)]! ^ z[o + 768 + (c >>> 24)]!;
  }
  return c;
}

/** The CRC-32 of any valid event together with its stored checksum. */
export const CRC32_RESIDUE = crc32Js(new Uint8Array(4), new DataView(new ArrayBuffer(4)), 0, 4, 0);

/**
 * The CRC-32 that a run of valid events gives once one more valid event of `size` bytes (its
 * checksum included) is laid after it: start from 0, fold in each event's size in order, and
 * compare with crc32Range over the run's bytes. crc(A‖B) = crc(A)·x^(8·|B|) ⊕ crc(B), and the
 * pre- and post-conditioning of CRC-32 cancel in that sum (zlib's crc32_combine).
 */
export function crc32FoldValidEvent(runCrc: number, size: number): number {
  return (shiftPastZeros(runCrc, size) ^ CRC32_RESIDUE) >>> 0;
}
