import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspectSchemas } from '../../src/db/introspect.js';
import { openSession, type SqlSession } from '../../src/db/sql-session.js';
import { addLogicalReferences, SchemaCatalogErrorCode, type ColumnSchema, type SchemaCatalog, type TableSchema } from '../../src/model/table-schema.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

const WEIRD_DB = 'we"ird.db';
const WEIRD_TABLE = 'tab`le ✓';

const DDL = [
  'CREATE DATABASE crm CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci',
  `CREATE TABLE crm.customers (
     id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     email VARCHAR(100) COLLATE utf8mb4_general_ci NOT NULL,
     code CHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
     manager_id INT UNSIGNED NULL,
     name VARCHAR(50) NOT NULL DEFAULT 'it''s \\\\ ok',
     score INT NOT NULL DEFAULT (1 + 2),
     UNIQUE KEY uk_email (email),
     UNIQUE KEY uk_code (code),
     CONSTRAINT fk_manager FOREIGN KEY (manager_id) REFERENCES customers (id) ON DELETE SET NULL
   ) ENGINE=InnoDB`,
  `INSERT INTO crm.customers (id, email, code) VALUES (41, 'a@x', 'A'), (42, 'b@x', 'B')`,
  `CREATE TABLE crm.tickets (
     tenant SMALLINT NOT NULL,
     id BIGINT NOT NULL,
     customer_id INT UNSIGNED NOT NULL,
     doc JSON NULL,
     total DECIMAL(10,2) NOT NULL DEFAULT 0.00,
     total_x2 DECIMAL(11,2) AS (total * 2) VIRTUAL,
     updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
     PRIMARY KEY (tenant, id),
     UNIQUE KEY uk_tenant_customer (tenant, customer_id),
     CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE RESTRICT ON UPDATE CASCADE
   ) ENGINE=InnoDB`,
  `CREATE TABLE crm.ticket_tags (
     tenant SMALLINT NOT NULL,
     ticket_id BIGINT NOT NULL,
     tag VARCHAR(20) NOT NULL,
     PRIMARY KEY (tenant, ticket_id, tag),
     CONSTRAINT fk_ticket FOREIGN KEY (tenant, ticket_id) REFERENCES tickets (tenant, id) ON DELETE CASCADE
   ) ENGINE=InnoDB`,
  'CREATE TABLE crm.notes (ticket_id BIGINT NULL, body TEXT NULL) ENGINE=InnoDB',
  'CREATE VIEW crm.customer_emails AS SELECT id, email FROM crm.customers',
  'CREATE DATABASE other',
  'CREATE TABLE other.t (id INT PRIMARY KEY)',
  'CREATE DATABASE `we"ird.db` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin',
  `CREATE TABLE \`we"ird.db\`.\`tab\`\`le ✓\` (
     \`naïve ✓\` INT NOT NULL AUTO_INCREMENT,
     \`qu'ote\` VARCHAR(10) NOT NULL,
     \`c.ust\` INT UNSIGNED NULL,
     PRIMARY KEY (\`naïve ✓\`),
     UNIQUE KEY \`uk \`\`q'\` (\`qu'ote\`),
     CONSTRAINT \`fk ✓\` FOREIGN KEY (\`c.ust\`) REFERENCES crm.customers (id) ON DELETE SET NULL ON UPDATE RESTRICT
   ) ENGINE=InnoDB AUTO_INCREMENT=1000`,
];

/** A column with the values most columns share; every field is still asserted. */
function col(name: string, ordinal: number, dataType: string, columnType: string, rest: Partial<ColumnSchema> = {}): ColumnSchema {
  return {
    name,
    ordinal,
    dataType,
    columnType,
    nullable: false,
    unsigned: false,
    collation: null,
    collationId: null,
    isAutoIncrement: false,
    isGenerated: false,
    default: null,
    onUpdateCurrentTimestamp: false,
    isJson: false,
    ...rest,
  };
}

const CUSTOMERS: TableSchema = {
  schema: 'crm',
  table: 'customers',
  columns: [
    col('id', 1, 'int', 'int(10) unsigned', { unsigned: true, isAutoIncrement: true }),
    col('email', 2, 'varchar', 'varchar(100)', { collation: 'utf8mb4_general_ci', collationId: 45 }),
    col('code', 3, 'char', 'char(8)', { collation: 'ascii_bin', collationId: 65 }),
    col('manager_id', 4, 'int', 'int(10) unsigned', { unsigned: true, nullable: true }),
    col('name', 5, 'varchar', 'varchar(50)', { collation: 'utf8mb4_unicode_ci', collationId: 224, default: { kind: 'literal', value: "it's \\ ok" } }),
    col('score', 6, 'int', 'int(11)', { default: { kind: 'expression', sql: '(1 + 2)' } }),
  ],
  primaryKey: ['id'],
  uniqueKeys: [
    { name: 'uk_code', columns: ['code'] },
    { name: 'uk_email', columns: ['email'] },
  ],
  foreignKeys: [
    { name: 'fk_manager', columns: ['manager_id'], refSchema: 'crm', refTable: 'customers', refColumns: ['id'], onDelete: 'SET NULL', onUpdate: 'RESTRICT', origin: 'schema' },
  ],
  autoIncrement: { column: 'id', next: 43n },
  engine: 'InnoDB',
};

const TICKETS: TableSchema = {
  schema: 'crm',
  table: 'tickets',
  columns: [
    col('tenant', 1, 'smallint', 'smallint(6)'),
    col('id', 2, 'bigint', 'bigint(20)'),
    col('customer_id', 3, 'int', 'int(10) unsigned', { unsigned: true }),
    // MariaDB: JSON is an alias of LONGTEXT utf8mb4_bin plus a json_valid CHECK.
    col('doc', 4, 'longtext', 'longtext', { nullable: true, collation: 'utf8mb4_bin', collationId: 46, isJson: true }),
    col('total', 5, 'decimal', 'decimal(10,2)', { default: { kind: 'literal', value: '0.00' } }),
    col('total_x2', 6, 'decimal', 'decimal(11,2)', { nullable: true, isGenerated: true }),
    col('updated_at', 7, 'timestamp', 'timestamp(3)', { default: { kind: 'expression', sql: 'current_timestamp(3)' }, onUpdateCurrentTimestamp: true }),
  ],
  primaryKey: ['tenant', 'id'],
  uniqueKeys: [{ name: 'uk_tenant_customer', columns: ['tenant', 'customer_id'] }],
  foreignKeys: [
    { name: 'fk_customer', columns: ['customer_id'], refSchema: 'crm', refTable: 'customers', refColumns: ['id'], onDelete: 'RESTRICT', onUpdate: 'CASCADE', origin: 'schema' },
  ],
  autoIncrement: null,
  engine: 'InnoDB',
};

const TICKET_TAGS: TableSchema = {
  schema: 'crm',
  table: 'ticket_tags',
  columns: [
    col('tenant', 1, 'smallint', 'smallint(6)'),
    col('ticket_id', 2, 'bigint', 'bigint(20)'),
    col('tag', 3, 'varchar', 'varchar(20)', { collation: 'utf8mb4_unicode_ci', collationId: 224 }),
  ],
  primaryKey: ['tenant', 'ticket_id', 'tag'],
  uniqueKeys: [],
  foreignKeys: [
    { name: 'fk_ticket', columns: ['tenant', 'ticket_id'], refSchema: 'crm', refTable: 'tickets', refColumns: ['tenant', 'id'], onDelete: 'CASCADE', onUpdate: 'RESTRICT', origin: 'schema' },
  ],
  autoIncrement: null,
  engine: 'InnoDB',
};

const NOTES: TableSchema = {
  schema: 'crm',
  table: 'notes',
  columns: [
    col('ticket_id', 1, 'bigint', 'bigint(20)', { nullable: true }),
    col('body', 2, 'text', 'text', { nullable: true, collation: 'utf8mb4_unicode_ci', collationId: 224 }),
  ],
  primaryKey: null,
  uniqueKeys: [],
  foreignKeys: [],
  autoIncrement: null,
  engine: 'InnoDB',
};

const WEIRD: TableSchema = {
  schema: WEIRD_DB,
  table: WEIRD_TABLE,
  columns: [
    col('naïve ✓', 1, 'int', 'int(11)', { isAutoIncrement: true }),
    col("qu'ote", 2, 'varchar', 'varchar(10)', { collation: 'utf8mb4_bin', collationId: 46 }),
    col('c.ust', 3, 'int', 'int(10) unsigned', { nullable: true, unsigned: true }),
  ],
  primaryKey: ['naïve ✓'],
  uniqueKeys: [{ name: "uk `q'", columns: ["qu'ote"] }],
  foreignKeys: [
    { name: 'fk ✓', columns: ['c.ust'], refSchema: 'crm', refTable: 'customers', refColumns: ['id'], onDelete: 'SET NULL', onUpdate: 'RESTRICT', origin: 'schema' },
  ],
  autoIncrement: { column: 'naïve ✓', next: 1000n },
  engine: 'InnoDB',
};

const OTHER: TableSchema = {
  schema: 'other',
  table: 't',
  columns: [col('id', 1, 'int', 'int(11)')],
  primaryKey: ['id'],
  uniqueKeys: [],
  foreignKeys: [],
  autoIncrement: null,
  engine: 'InnoDB',
};

describe('introspectSchemas', () => {
  let db: MariadbServer;
  let session: SqlSession;
  let catalog: SchemaCatalog;

  beforeAll(async () => {
    db = await startMariadb({ name: 'introspect', binlog: false });
    session = await openSession(db.target);
    for (const sql of DDL) await session.query(sql);
    catalog = await introspectSchemas(session, ['crm', WEIRD_DB]);
  });

  afterAll(async () => {
    await session?.end();
    await db?.stop();
  });

  it('reads every base table of the schemas asked for, and no view', () => {
    expect(catalog.tables.map((t) => `${t.schema}/${t.table}`)).toEqual(['crm/customers', 'crm/notes', 'crm/ticket_tags', 'crm/tickets', `${WEIRD_DB}/${WEIRD_TABLE}`]);
  });

  it('reads unique keys (case-insensitive and binary collations), a self-reference and AUTO_INCREMENT', () => {
    expect(catalog.get('crm', 'customers')).toEqual(CUSTOMERS);
  });

  it('reads a composite primary key, JSON, generated and ON UPDATE CURRENT_TIMESTAMP columns', () => {
    expect(catalog.get('crm', 'tickets')).toEqual(TICKETS);
  });

  it('reads a composite foreign key with ON DELETE CASCADE', () => {
    expect(catalog.get('crm', 'ticket_tags')).toEqual(TICKET_TAGS);
  });

  it('reads a table without any key', () => {
    expect(catalog.get('crm', 'notes')).toEqual(NOTES);
  });

  it('keeps identifiers with backticks, quotes, dots and unicode exactly', () => {
    expect(catalog.get(WEIRD_DB, WEIRD_TABLE)).toEqual(WEIRD);
    expect(catalog.lookup(`${WEIRD_DB}.${WEIRD_TABLE}`)).toEqual(WEIRD);
  });

  it('indexes the foreign keys that reference a table, across schemas and to itself', () => {
    expect(catalog.referencing('crm', 'customers')).toEqual([
      { schema: 'crm', table: 'customers', foreignKey: CUSTOMERS.foreignKeys[0] },
      { schema: 'crm', table: 'tickets', foreignKey: TICKETS.foreignKeys[0] },
      { schema: WEIRD_DB, table: WEIRD_TABLE, foreignKey: WEIRD.foreignKeys[0] },
    ]);
    expect(catalog.referencing('crm', 'tickets')).toEqual([{ schema: 'crm', table: 'ticket_tags', foreignKey: TICKET_TAGS.foreignKeys[0] }]);
    expect(catalog.referencing('crm', 'notes')).toEqual([]);
  });

  it('reads the live AUTO_INCREMENT counter', async () => {
    await session.query("INSERT INTO crm.customers (email, code) VALUES ('c@x', 'C')");
    const again = await introspectSchemas(session, ['crm']);
    expect(again.get('crm', 'customers')?.autoIncrement).toEqual({ column: 'id', next: 44n });
  });

  it('reads every schema but the system ones by default, and nothing for an empty list', async () => {
    const all = await introspectSchemas(session);
    expect(all.tables.map((t) => `${t.schema}/${t.table}`)).toEqual(['crm/customers', 'crm/notes', 'crm/ticket_tags', 'crm/tickets', 'other/t', `${WEIRD_DB}/${WEIRD_TABLE}`]);
    expect(all.get('other', 't')).toEqual(OTHER);
    expect((await introspectSchemas(session, [])).tables).toEqual([]);
  });
});

describe('addLogicalReferences', () => {
  let db: MariadbServer;
  let catalog: SchemaCatalog;

  beforeAll(async () => {
    db = await startMariadb({ name: 'introspect-logical', binlog: false });
    const session = await openSession(db.target);
    try {
      for (const sql of DDL) await session.query(sql);
      catalog = await introspectSchemas(session, ['crm', WEIRD_DB]);
    } finally {
      await session.end();
    }
  });

  afterAll(async () => {
    await db?.stop();
  });

  const NOTE_REF = { name: 'config:ticket_id', columns: ['ticket_id'], refSchema: 'crm', refTable: 'tickets', refColumns: ['id'], onDelete: 'NO ACTION', onUpdate: 'NO ACTION', origin: 'config' } as const;

  it('adds configured references as foreign keys and indexes them', () => {
    const merged = addLogicalReferences(catalog, { 'crm.notes': { references: { ticket_id: 'crm.tickets.id' } } });
    expect(merged.get('crm', 'notes')).toEqual({ ...NOTES, foreignKeys: [NOTE_REF] });
    expect(merged.referencing('crm', 'tickets')).toEqual([
      { schema: 'crm', table: 'notes', foreignKey: NOTE_REF },
      { schema: 'crm', table: 'ticket_tags', foreignKey: TICKET_TAGS.foreignKeys[0] },
    ]);
    expect(merged.get('crm', 'customers')).toEqual(CUSTOMERS);
    // The input catalog is left as it was.
    expect(catalog.get('crm', 'notes')).toEqual(NOTES);
  });

  it('resolves names with dots against the catalog and skips references the schema declares', () => {
    const merged = addLogicalReferences(catalog, { [`${WEIRD_DB}.${WEIRD_TABLE}`]: { references: { 'c.ust': 'crm.customers.id', "qu'ote": 'crm.customers.email' } } });
    expect(merged.get(WEIRD_DB, WEIRD_TABLE)?.foreignKeys).toEqual([
      ...WEIRD.foreignKeys,
      { name: "config:qu'ote", columns: ["qu'ote"], refSchema: 'crm', refTable: 'customers', refColumns: ['email'], onDelete: 'NO ACTION', onUpdate: 'NO ACTION', origin: 'config' },
    ]);
  });

  it('rejects references to tables or columns the DR does not have', () => {
    expect(() => addLogicalReferences(catalog, { 'crm.nope': { references: { a: 'crm.tickets.id' } } })).toThrow(expect.objectContaining({ code: SchemaCatalogErrorCode.UnknownTable }));
    expect(() => addLogicalReferences(catalog, { 'crm.notes': { references: { nope: 'crm.tickets.id' } } })).toThrow(expect.objectContaining({ code: SchemaCatalogErrorCode.UnknownColumn }));
    expect(() => addLogicalReferences(catalog, { 'crm.notes': { references: { ticket_id: 'crm.tickets.nope' } } })).toThrow(expect.objectContaining({ code: SchemaCatalogErrorCode.UnknownColumn }));
    expect(() => addLogicalReferences(catalog, { 'crm.notes': { references: { ticket_id: 'crm.gone.id' } } })).toThrow(expect.objectContaining({ code: SchemaCatalogErrorCode.UnknownTable }));
  });
});
