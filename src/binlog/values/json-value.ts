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
