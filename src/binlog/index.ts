/** The pure binlog decoder, publishable on its own: bytes in, typed events and transactions out. */
export { BinlogDecoder, type DecoderOptions, type IncompleteTail } from './decoder.js';
export { TransactionAssembler, gtidText, statementMarkOf, type Gtid, type Transaction, type StatementMark, type IncompleteTransaction, type TransactionItem, type RowChange, type LoggedStatement, type IncompleteReason, type DamageFacts } from './transaction.js';
export type * from './event.js';
export { ChecksumAlgorithm } from './event.js';
export type { ColumnDef, ColumnValue, RowImage } from './column.js';
export { ColumnType, columnTypeName } from './column-types.js';
export { EventType, eventTypeName } from './event-types.js';
export { JsonValue, JsonDecimal, JsonPatch, type JsonNode, type JsonObject, type JsonPatchOperation } from './values/json-value.js';
export { CharsetText } from './values/charset-text.js';
export { toCanonical, stringifyCanonical, RawJson, type CanonicalValue } from './values/canonical-json.js';
export { transactionToJson, rowToCanonical, type TransactionJsonOptions } from './transaction-json.js';
export type { ColumnHint, SchemaHints } from './events/table-map.js';
export { BinlogError, BinlogErrorCode, EngineError, type ErrorDetails } from '../errors.js';
export type { EventHeader } from './header.js';
