/**
 * A column as introspection (src/db/introspect.ts) describes one, for tests that build schemas by
 * hand: an `int`, or with `text` a `varchar` under utf8mb4_general_ci (MariaDB's default, a _ci
 * collation, so case variants are one unique value), nothing generated, no default; `extra` over it.
 */
import type { ColumnSchema } from '../../src/model/table-schema.js';

export function columnSchema(name: string, ordinal: number, text: boolean, extra: Partial<ColumnSchema> = {}): ColumnSchema {
  return {
    name,
    ordinal,
    dataType: text ? 'varchar' : 'int',
    columnType: text ? 'varchar(120)' : 'int(11)',
    nullable: false,
    unsigned: false,
    collation: text ? 'utf8mb4_general_ci' : null,
    collationId: text ? 45 : null,
    isAutoIncrement: false,
    isGenerated: false,
    default: null,
    onUpdateCurrentTimestamp: false,
    isJson: false,
    ...extra,
  };
}
