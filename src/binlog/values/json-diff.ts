/**
 * Partial JSON updates (PARTIAL_UPDATE_ROWS, binlog_row_value_options=PARTIAL_JSON): the after
 * image of a JSON column carries a diff vector instead of the document. Wire facts from
 * mysql-server sql/json_diff.cc (Json_diff_vector::write_binary / read_binary):
 *
 *   diff-vector ::= length(u32) diff*         the u32 is the column's length prefix
 *   diff        ::= operation(u8) path-length(net_field_length) path [value-length value]
 *   operation   ::= 0 REPLACE | 1 INSERT | 2 REMOVE      (REMOVE has no value)
 *   path is Json_path::to_string text ($, .name, ."quoted name", [n], [last], [last-n]);
 *   value is a binary JSON document.
 *
 * Application follows apply_json_diffs() in the same file: paths are walked exactly (no
 * auto-wrapping); an empty path, a missing target, or an INSERT over an existing member is
 * rejected, which the server reports as ER_COULD_NOT_APPLY_JSON_DIFF.
 */
import { BinlogError, BinlogErrorCode } from '../../errors.js';
import type { ByteReader } from '../byte-reader.js';
import { decodeJsonBinaryAt } from './json-binary.js';
import { JsonDecimal, type JsonNode, type JsonObject } from './json-value.js';

/** Diff operations (sql/json_diff.h, enum_json_diff_operation). */
export const JsonDiffOperation = {
  REPLACE: 0, // enum_json_diff_operation::REPLACE
  INSERT: 1, // enum_json_diff_operation::INSERT
  REMOVE: 2, // enum_json_diff_operation::REMOVE
} as const;
export type JsonDiffOperation = (typeof JsonDiffOperation)[keyof typeof JsonDiffOperation];

const OPERATION_NAMES = ['REPLACE', 'INSERT', 'REMOVE'] as const;

/** One step of a JSON path: an object member, or an array cell counted from the start or (`last-n`) the end. */
export type JsonPathLeg =
  | { readonly kind: 'member'; readonly name: string }
  | { readonly kind: 'cell'; readonly index: number; readonly fromEnd: boolean };

/** One decoded diff; `value` is undefined exactly for REMOVE. */
export interface JsonDiff {
  readonly operation: JsonDiffOperation;
  /** The path as the server wrote it. */
  readonly path: string;
  readonly legs: readonly JsonPathLeg[];
  readonly value: JsonNode | undefined;
}

/** Reads the diffs that fill the next `length` bytes of `r` (after the column's u32 length prefix). */
export function readJsonDiffs(r: ByteReader, length: number): JsonDiff[] {
  r.need(length);
  const buf = r.buf;
  const start = r.pos;
  const end = start + length;
  const diffs: JsonDiff[] = [];
  let pos = start;
  while (pos < end) {
    const operation = buf[pos]!;
    if (operation > JsonDiffOperation.REMOVE) diffCorrupt(start, pos, `operation 0, 1 or 2, found ${operation}`);
    pos++;
    let packed = readNetLength(buf, start, pos, end, 'path');
    pos += packed % 16;
    const pathLength = Math.floor(packed / 16);
    const path = buf.toString('utf8', pos, pos + pathLength);
    let legs: JsonPathLeg[];
    try {
      legs = parseJsonPath(path);
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new BinlogError(BinlogErrorCode.CorruptEvent, `corrupt JSON diff: expected a JSON path at byte ${pos - start} (${why})`, { jsonOffset: pos - start }, cause);
    }
    pos += pathLength;
    let value: JsonNode | undefined;
    if (operation !== JsonDiffOperation.REMOVE) {
      packed = readNetLength(buf, start, pos, end, 'value');
      pos += packed % 16;
      const valueLength = Math.floor(packed / 16);
      value = decodeJsonBinaryAt(buf, pos, pos + valueLength);
      pos += valueLength;
    }
    diffs.push({ operation: operation as JsonDiffOperation, path, legs, value });
  }
  r.pos = end;
  return diffs;
}

/**
 * Reads a net_field_length (lenenc) within the diff vector and checks that many bytes follow;
 * returns length·16 + bytes used, packed in one number (lengths < 2^32, so exact).
 */
function readNetLength(buf: Buffer, origin: number, pos: number, end: number, what: string): number {
  if (pos >= end) diffCorrupt(origin, pos, `${what} length, 0 bytes left`);
  const first = buf[pos]!;
  let length: number;
  let used: number;
  if (first < 0xfb) {
    length = first;
    used = 1;
  } else if (first === 0xfc || first === 0xfd || first === 0xfe) {
    used = first === 0xfc ? 3 : first === 0xfd ? 4 : 9;
    if (end - pos < used) diffCorrupt(origin, pos, `${what} length of ${used} bytes, ${end - pos} left`);
    if (first === 0xfe) {
      const big = buf.readBigUInt64LE(pos + 1);
      if (big > 0xffffffffn) diffCorrupt(origin, pos, `${what} length below 2^32, found ${big}`);
      length = Number(big);
    } else {
      length = buf.readUIntLE(pos + 1, used - 1);
    }
  } else {
    // 0xfb is NULL_LENGTH and 0xff is no length at all: read_binary rejects both.
    return diffCorrupt(origin, pos, `${what} length, found the byte 0x${first.toString(16)}`);
  }
  if (length > end - pos - used) diffCorrupt(origin, pos, `${what} of ${length} bytes, ${end - pos - used} left`);
  return length * 16 + used;
}

function diffCorrupt(origin: number, pos: number, expected: string): never {
  const at = pos - origin;
  throw new BinlogError(BinlogErrorCode.CorruptEvent, `corrupt JSON diff: expected ${expected} at byte ${at}`, { jsonOffset: at });
}

// ---------------------------------------------------------------------------------------------
// Paths (sql-common/json_path.cc): the subset a diff can hold — member and array-cell legs.
// Whitespace between tokens is allowed, as the server's parser allows it.

/** Parses the JSON path text MySQL writes in diffs into its legs; wildcards, ellipses and ranges are refused. */
export function parseJsonPath(text: string): JsonPathLeg[] {
  let i = skipSpace(text, 0);
  if (text[i] !== '$') pathError(text, i, "'$'");
  i++;
  const legs: JsonPathLeg[] = [];
  for (;;) {
    i = skipSpace(text, i);
    if (i >= text.length) return legs;
    const c = text[i];
    if (c === '.') {
      i = skipSpace(text, i + 1);
      i = parseMember(text, i, legs);
    } else if (c === '[') {
      i = parseCell(text, skipSpace(text, i + 1), legs);
    } else {
      pathError(text, i, "'.' or '['");
    }
  }
}

function parseMember(text: string, i: number, legs: JsonPathLeg[]): number {
  if (i >= text.length) pathError(text, i, 'a member name');
  if (text[i] === '"') {
    // The end is the next unescaped quote (find_end_of_member_name); JSON unescapes the rest.
    let j = i + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    if (j >= text.length) pathError(text, i, 'a closing \'"\'');
    legs.push({ kind: 'member', name: unescape(text, i, text.slice(i, j + 1)) });
    return j + 1;
  }
  if (text[i] === '*') pathError(text, i, 'a member name (wildcards cannot occur in a diff)');
  let j = i;
  while (j < text.length && !isSpace(text.charCodeAt(j)) && text[j] !== '.' && text[j] !== '[' && text[j] !== '*') j++;
  if (j === i) pathError(text, i, 'a member name');
  const raw = text.slice(i, j);
  // An unquoted name may still hold escapes; the server unescapes it as a JSON string.
  legs.push({ kind: 'member', name: raw.includes('\\') ? unescape(text, i, `"${raw}"`) : raw });
  return j;
}

function unescape(text: string, at: number, quoted: string): string {
  try {
    const name: unknown = JSON.parse(quoted);
    if (typeof name === 'string') return name;
  } catch {
    // reported below
  }
  return pathError(text, at, 'a valid JSON string as member name');
}

function parseCell(text: string, i: number, legs: JsonPathLeg[]): number {
  let fromEnd = false;
  let index = 0;
  if (text.startsWith('last', i)) {
    fromEnd = true;
    i = skipSpace(text, i + 4);
    if (text[i] === '-') {
      i = skipSpace(text, i + 1);
      [index, i] = parseIndex(text, i);
    }
  } else {
    if (text[i] === '*') pathError(text, i, 'an array index (wildcards cannot occur in a diff)');
    [index, i] = parseIndex(text, i);
  }
  i = skipSpace(text, i);
  if (text[i] !== ']') pathError(text, i, text.startsWith('to', i) ? "']' (ranges cannot occur in a diff)" : "']'");
  legs.push({ kind: 'cell', index, fromEnd });
  return i + 1;
}

function parseIndex(text: string, i: number): [number, number] {
  let j = i;
  while (j < text.length && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x39) j++;
  if (j === i) pathError(text, i, 'an array index');
  const index = Number(text.slice(i, j));
  if (!Number.isSafeInteger(index)) pathError(text, i, 'an array index below 2^53');
  return [index, j];
}

/** my_isspace over utf8mb4: space, \t, \n, \v, \f, \r. */
function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

function pathError(text: string, at: number, expected: string): never {
  throw new BinlogError(BinlogErrorCode.CorruptEvent, `corrupt JSON path ${JSON.stringify(text)}: expected ${expected} at character ${at}`);
}

/** Formats legs as Json_path::to_string does: unquoted names when they are ECMAScript identifiers. */
export function formatJsonPath(legs: readonly JsonPathLeg[]): string {
  let out = '$';
  for (const leg of legs) {
    if (leg.kind === 'member') out += `.${IDENTIFIER.test(leg.name) ? leg.name : JSON.stringify(leg.name)}`;
    else if (!leg.fromEnd) out += `[${leg.index}]`;
    else out += leg.index === 0 ? '[last]' : `[last-${leg.index}]`;
  }
  return out;
}

// is_ecmascript_identifier (json_path.cc) approximated by Unicode ID_Start/ID_Continue; a name
// outside it is quoted, which the parser accepts either way.
const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;

// ---------------------------------------------------------------------------------------------
// Application. Copy-on-write: each container on a changed path is copied once per call (the
// `owned` set), so the input is never mutated; untouched subtrees are shared with the input.

/** Applies diffs in order as the server's apply_json_diffs() does and returns the new document; the input is not mutated. */
export function applyJsonDiffs(doc: JsonNode, diffs: readonly JsonDiff[]): JsonNode {
  if (diffs.length === 0) return doc;
  const owned = new Set<JsonNode[] | JsonObject>();
  let root = doc;
  for (const diff of diffs) root = applyOne(root, diff, owned);
  return root;
}

function applyOne(root: JsonNode, diff: JsonDiff, owned: Set<JsonNode[] | JsonObject>): JsonNode {
  const legs = diff.legs;
  // Replacing, inserting or removing the root is never logged as a diff (a full image is).
  if (legs.length === 0) reject(diff, 'the path has no legs');
  const newRoot = ownCopy(root, owned);
  // Walk to the parent of the target, owning every container on the way.
  let parent: JsonNode = newRoot;
  for (let i = 0; i < legs.length - 1; i++) {
    const leg = legs[i]!;
    const child = childOf(parent, leg);
    if (child === undefined) reject(diff, `nothing at ${formatJsonPath(legs.slice(0, i + 1))}`);
    const copy = ownCopy(child, owned);
    if (copy !== child) setChild(parent as JsonNode[] | JsonObject, leg, copy);
    parent = copy;
  }
  const last = legs[legs.length - 1]!;
  switch (diff.operation) {
    case JsonDiffOperation.REPLACE:
      if (childOf(parent, last) === undefined) reject(diff, 'nothing to replace');
      setChild(parent as JsonNode[] | JsonObject, last, diff.value ?? null);
      return newRoot;
    case JsonDiffOperation.INSERT:
      if (isObject(parent) && last.kind === 'member') {
        if (Object.hasOwn(parent, last.name)) reject(diff, 'the member already exists');
        insertMember(parent, last.name, diff.value ?? null);
        return newRoot;
      }
      if (Array.isArray(parent) && last.kind === 'cell') {
        parent.splice(cellPosition(last, parent.length), 0, diff.value ?? null);
        return newRoot;
      }
      return reject(diff, 'the parent is not an object or array matching the last leg');
    case JsonDiffOperation.REMOVE:
      if (isObject(parent) && last.kind === 'member') {
        if (!Object.hasOwn(parent, last.name)) reject(diff, 'nothing to remove');
        delete parent[last.name];
        return newRoot;
      }
      if (Array.isArray(parent) && last.kind === 'cell') {
        if (last.index >= parent.length) reject(diff, 'nothing to remove');
        parent.splice(cellPosition(last, parent.length), 1);
        return newRoot;
      }
      return reject(diff, 'the parent is not an object or array matching the last leg');
  }
}

/** The child a leg selects (seek_exact_path: no auto-wrapping), or undefined. */
function childOf(node: JsonNode, leg: JsonPathLeg): JsonNode | undefined {
  if (Array.isArray(node)) {
    if (leg.kind !== 'cell' || leg.index >= node.length) return undefined;
    return node[cellPosition(leg, node.length)];
  }
  if (isObject(node)) {
    if (leg.kind !== 'member' || !Object.hasOwn(node, leg.name)) return undefined;
    return node[leg.name];
  }
  return undefined;
}

/** Replaces an existing child in place (the container is owned by this call). */
function setChild(container: JsonNode[] | JsonObject, leg: JsonPathLeg, value: JsonNode): void {
  if (leg.kind === 'cell') (container as JsonNode[])[cellPosition(leg, (container as JsonNode[]).length)] = value;
  else (container as JsonObject)[leg.name] = value;
}

/** Json_array_index::position(): counted from the end it clamps to 0, from the start to the length. */
function cellPosition(leg: { readonly index: number; readonly fromEnd: boolean }, length: number): number {
  if (leg.fromEnd) return leg.index < length ? length - leg.index - 1 : 0;
  return Math.min(leg.index, length);
}

function isObject(node: JsonNode | undefined): node is JsonObject {
  return typeof node === 'object' && node !== null && !Array.isArray(node) && !(node instanceof JsonDecimal);
}

/** A copy of a container this call may mutate (itself when already owned); scalars as they are. */
function ownCopy(node: JsonNode, owned: Set<JsonNode[] | JsonObject>): JsonNode {
  if (Array.isArray(node)) {
    if (owned.has(node)) return node;
    const copy = node.slice();
    owned.add(copy);
    return copy;
  }
  if (!isObject(node)) return node;
  if (owned.has(node)) return node;
  const copy = Object.create(null) as JsonObject;
  for (const key of Object.keys(node)) copy[key] = node[key]!;
  owned.add(copy);
  return copy;
}

/**
 * Adds a member where the server's Json_object (a map ordered by key length, then bytes) puts
 * it: before the first key that sorts after it. Rebuilding keeps the object's own key order.
 */
function insertMember(obj: JsonObject, name: string, value: JsonNode): void {
  const keys = Object.keys(obj);
  const at = keys.findIndex((k) => compareKeys(name, k) < 0);
  if (at < 0) {
    obj[name] = value;
    return;
  }
  const tail = keys.slice(at).map((k): [string, JsonNode] => [k, obj[k]!]);
  for (const [k] of tail) delete obj[k];
  obj[name] = value;
  for (const [k, v] of tail) obj[k] = v;
}

/** Json_key_comparator: shorter UTF-8 first, then bytewise. */
function compareKeys(a: string, b: string): number {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length !== bb.length ? ab.length - bb.length : Buffer.compare(ab, bb);
}

function reject(diff: JsonDiff, why: string): never {
  throw new BinlogError(
    BinlogErrorCode.CorruptEvent,
    `JSON diff does not apply to the before image: ${OPERATION_NAMES[diff.operation]} ${diff.path}: ${why}`,
    { path: diff.path, operation: OPERATION_NAMES[diff.operation], reason: why },
  );
}
