/**
 * Every failure the engine reports is an EngineError: a stable `code` callers match on,
 * a `retryable` flag, and JSON-safe facts (file, offset, table, key) to act on.
 */

/** Facts attached to an error; every field optional, all JSON-safe. */
export interface ErrorDetails {
  readonly file?: string;
  readonly offset?: number;
  readonly eventType?: number;
  readonly table?: string;
  readonly column?: string;
  readonly key?: string;
  readonly gtid?: string;
  readonly option?: string;
  readonly errno?: number;
  readonly [extra: string]: string | number | boolean | null | undefined | readonly string[];
}

export class EngineError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly details: ErrorDetails;

  constructor(code: string, message: string, details: ErrorDetails = {}, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = details;
  }

  toJSON(): { name: string; code: string; message: string; retryable: boolean; details: ErrorDetails } {
    return { name: this.name, code: this.code, message: this.message, retryable: this.retryable, details: this.details };
  }
}

/** Stable codes of decode failures; the message says what was expected, what was found, and where. */
export const BinlogErrorCode = {
  BadMagic: 'BINLOG_BAD_MAGIC',
  ChecksumMismatch: 'BINLOG_CHECKSUM_MISMATCH',
  TruncatedEvent: 'BINLOG_TRUNCATED_EVENT',
  CorruptEvent: 'BINLOG_CORRUPT_EVENT',
  Encrypted: 'BINLOG_ENCRYPTED',
  MissingFormatDescription: 'BINLOG_NO_FORMAT_DESCRIPTION',
  MissingTableMap: 'BINLOG_NO_TABLE_MAP',
  Unsupported: 'BINLOG_UNSUPPORTED',
} as const;
export type BinlogErrorCode = (typeof BinlogErrorCode)[keyof typeof BinlogErrorCode];

/** A binlog could not be decoded at a known place. Never retryable: the bytes will not change. */
export class BinlogError extends EngineError {
  declare readonly code: BinlogErrorCode;
  constructor(code: BinlogErrorCode, message: string, details: ErrorDetails = {}, cause?: unknown) {
    super(code, message, details, { retryable: false, cause });
  }
}

/** Formats "file:offset" for messages; either part may be unknown. */
export function where(details: ErrorDetails): string {
  const file = details.file ?? '<stream>';
  return details.offset === undefined ? file : `${file}:${details.offset}`;
}
