import { describe, expect, it } from 'vitest';
import { statementTable, statementTableName } from './statement-table.js';

describe('statementTable', () => {
  it.each([
    ['UPDATE t.people SET n = n + 1 WHERE id = 2', '', 't.people'],
    ['update people set n = 1', 'crm', 'crm.people'],
    ['INSERT IGNORE INTO `shop.v2`.`cust``s` VALUES (1)', 'x', 'shop.v2.cust`s'],
    ['REPLACE INTO a VALUES (1)', 'db', 'db.a'],
    ['DELETE LOW_PRIORITY QUICK FROM db.t WHERE 1', '', 'db.t'],
    ['/* c */ CREATE TABLE `t`.`copy` (\n  `id` int(11) NOT NULL\n) ENGINE=InnoDB', '', 't.copy'],
    ['CREATE OR REPLACE TABLE t2 (a INT)', 'd', 'd.t2'],
    ['ALTER TABLE t.people ADD KEY by_n (n)', '', 't.people'],
    ['DROP TABLE IF EXISTS `d`.`x`', '', 'd.x'],
    ['TRUNCATE t.log', '', 't.log'],
    ["LOAD DATA INFILE '/tmp/SQL_LOAD-1-2-3.data' INTO TABLE `people` FIELDS TERMINATED BY ','", 'crm', 'crm.people'],
    ['CREATE DATABASE d2', 'd', 'd'],
    ['SET @x = 1', '', ''],
  ])('%s (default database "%s") → %s', (sql, schema, expected) => {
    expect(statementTable(sql, schema)).toBe(expected);
  });
});

describe('statementTableName', () => {
  it('gives the database and the table apart, so a dot in a name stays where it is', () => {
    expect(statementTableName('INSERT INTO `shop.v2`.`cust` VALUES (1)', 'x')).toEqual({ schema: 'shop.v2', table: 'cust' });
    expect(statementTableName('UPDATE `v2.cust` SET a = 1', 'shop')).toEqual({ schema: 'shop', table: 'v2.cust' });
  });

  it('is null when the text does not name the table', () => {
    expect(statementTableName('CREATE DATABASE d2', 'd')).toBeNull();
    expect(statementTableName('CREATE VIEW v AS SELECT 1', 'd')).toBeNull();
  });
});
