/**
 * The decoder's vocabulary for columns and their values. In memory values stay exact
 * (DESIGN.md "Canonical JSON"): integers are numbers within ±(2^53−1), else bigint; DECIMAL and
 * temporal values are strings as the server prints them; binary data is a Buffer; text of a
 * multi-byte charset holding a code the server maps one way only is a CharsetText (its text and its bytes); MySQL JSON is a
 * JsonValue (or a JsonPatch: a partial update whose before image did not log the column). In a row image, `undefined` means the column was not logged (partial image) and
 * `null` is SQL NULL: the two are never conflated.
 */
import type { CharsetText } from './values/charset-text.js';
import type { JsonPatch, JsonValue } from './values/json-value.js';

/** One column of a table as the decoder sees it, built once per TABLE_MAP (STYLE.md rule 6). */
export interface ColumnDef {
  /** 0-based ordinal in the table. */
  readonly index: number;
  /** From the binlog's metadata when logged, else from a schema, else `@<n>` (1-based, as mysqlbinlog). */
  readonly name: string;
  /** The real type: for STRING columns the ENUM/SET/STRING type packed in the metadata is unpacked here. */
  readonly type: number;
  /** The type code exactly as the TABLE_MAP carried it. */
  readonly binlogType: number;
  /**
   * Type metadata, normalised per type: FLOAT/DOUBLE/BLOB/GEOMETRY/JSON/VECTOR: pack length in bytes;
   * VARCHAR/VAR_STRING: max byte length; STRING/ENUM/SET: max byte length (for ENUM/SET: storage
   * bytes); BIT: number of bits; NEWDECIMAL: precision * 256 + scale; TIMESTAMP2/DATETIME2/TIME2 and
   * MariaDB hires TIME/DATETIME/TIMESTAMP: fractional digits; others 0.
   */
  readonly meta: number;
  readonly nullable: boolean;
  /** Signedness from metadata or schema; false (signed) when unknown, as the server assumes. */
  readonly unsigned: boolean;
  /** Collation id (charset) when known; null when the binlog did not log it and no schema gave it. */
  readonly collation: number | null;
  /** ENUM labels (index 1 = labels[0]) when known. */
  readonly enumLabels: readonly string[] | null;
  /** SET member labels (bit 0 = labels[0]) when known. */
  readonly setLabels: readonly string[] | null;
  /** GEOMETRY subtype when logged (0 = GEOMETRY). */
  readonly geometryType: number | null;
  /** From the schema: the column holds JSON although the binlog logs it as text (MariaDB). */
  readonly isJson: boolean;
  /** false for INVISIBLE columns when the metadata says so. */
  readonly visible: boolean;
}

/** A decoded value; see the module comment for the representation of each type. */
export type ColumnValue = null | number | bigint | string | Buffer | CharsetText | JsonValue | JsonPatch;

/** A row image: one cell per column; `undefined` = not logged in this image. */
export type RowImage = Array<ColumnValue | undefined>;
