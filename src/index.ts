/**
 * binlog-salvage's library API. Everything exported here is documented where it is declared;
 * everything else is internal and may change.
 */
export * from './binlog/index.js';
export { readTransactions, type ReadOptions, type ReadBatch } from './source/read-transactions.js';
export { resolveBinlogFiles, SourceError, SourceErrorCode, type BinlogFile } from './source/binlog-files.js';
export { inspectBinlogs, InspectStats, type InspectOptions, type InspectItem } from './pipeline/inspect.js';
export { TransactionFilter, type TransactionFilterOptions } from './pipeline/transaction-filter.js';
export { GtidSet, GtidSetError } from './model/gtid-set.js';
export { parseConnectionUrl, type ConnectionTarget } from './db/connection-url.js';
