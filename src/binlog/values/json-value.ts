/**
 * MySQL binary JSON, decoded. A document is a JsonNode tree; integers beyond ±(2^53−1) stay
 * bigint and DECIMALs stay exact text (JsonDecimal), so nothing is rounded on the way through.
 */

/** A DECIMAL stored inside a JSON document (an opaque value), kept as the exact text MySQL prints. */
export class JsonDecimal {
  constructor(readonly text: string) {}
}

export type JsonObject = { [key: string]: JsonNode };
export type JsonNode = null | boolean | number | bigint | string | JsonDecimal | JsonNode[] | JsonObject;

/** A JSON column value (MySQL binary JSON), distinct from a plain string column. */
export class JsonValue {
  constructor(readonly node: JsonNode) {}
}

/**
 * A partial JSON update whose before image did not log the column (MySQL with
 * binlog_row_image=MINIMAL and binlog_row_value_options=PARTIAL_JSON): only the server's diffs
 * exist, so the value is the diffs, to be applied to the row's current document where it is
 * merged. Never guessed into a full document.
 */
export class JsonPatch {
  constructor(readonly diffs: readonly JsonPatchOperation[]) {}
}

/** One diff of a JsonPatch, as MySQL's JSON_REPLACE / JSON_INSERT / JSON_REMOVE would apply it. */
export interface JsonPatchOperation {
  readonly op: 'replace' | 'insert' | 'remove';
  /** The JSON path as the server wrote it (`$.a[1]`). */
  readonly path: string;
  /** Absent for `remove`. */
  readonly value?: JsonNode;
}
