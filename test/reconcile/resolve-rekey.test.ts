/**
 * A quarantined insert resolved under another key than the source's (what the refusal of "apply
 * as logged" asks for when the DR holds the source id): its dependants must follow the new key, as
 * they follow a remap made by apply. Bug this pins (found on real servers): the ledger recorded the
 * new key but the key map did not, so the held child was written pointing at the DR's own,
 * unrelated record at the source id, and a later change of the lost row renamed that DR record.
 */
import { describe, expect, it } from 'vitest';
import { readQuarantine, resolveQuarantine } from '../../src/pipeline/resolve.js';
import { salvage } from '../../src/pipeline/salvage.js';
import { decisionsFile } from '../harness/decisions.js';
import { config, stageIncident, useServerPair } from '../harness/incident-pair.js';

const servers = useServerPair('rekey');

describe('resolve under a new key', () => {
  it('records the new key, so the held child and a later change of the row follow it, and the DR record at the source id is untouched', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: [
          'CREATE TABLE s.customers (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(20) NOT NULL, name VARCHAR(20) NOT NULL, UNIQUE KEY uk_email (email)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci',
          'CREATE TABLE s.orders (id INT PRIMARY KEY, customer_id INT NOT NULL, FOREIGN KEY (customer_id) REFERENCES s.customers (id))',
        ],
        base: ["INSERT INTO s.customers VALUES (1, 'ann@x', 'Ann')"],
        lost: ["INSERT INTO s.customers VALUES (3, 'zed@x', 'Zed P')", 'INSERT INTO s.orders VALUES (2, 3)', "UPDATE s.customers SET name = 'Zed P2' WHERE id = 3"],
        // The DR gave id 3 to a record of its own, and holds the lost customer's e-mail (case aside) under id 4.
        dr: ["INSERT INTO s.customers VALUES (3, 'other@x', 'Other D')", "INSERT INTO s.customers VALUES (4, 'ZED@x', 'Zed D')"],
      },
      ['s'],
    );
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start } });
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => [e.table, e.op, e.class])).toEqual([
      ['s.customers', 'insert', 'insert-unique-taken'],
      ['s.orders', 'insert', 'parent-missing'],
      ['s.customers', 'update', 'row-quarantined'],
    ]);
    // The customer under id 10 and another e-mail; the order as logged; the rename as reviewed,
    // its name only (as logged it would also write back the e-mail the DR's 4 holds), at the
    // source key 3, which must be rewritten to 10.
    const decisions = [
      { action: 'apply', row: { id: 10, email: 'zed2@x', name: 'Zed P' } },
      { action: 'apply' },
      { action: 'apply', row: { id: 3, name: 'Zed P2' } },
    ];
    const text = decisionsFile(held, decisions);
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text });
    expect(report.entries.map((e) => e.result)).toEqual(['done', 'done', 'done']);
    expect(await dr.query('SELECT id, email, name FROM s.customers ORDER BY id')).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann' },
      { id: 3, email: 'other@x', name: 'Other D' },
      { id: 4, email: 'ZED@x', name: 'Zed D' },
      { id: 10, email: 'zed2@x', name: 'Zed P2' },
    ]);
    expect(await dr.query('SELECT id, customer_id FROM s.orders ORDER BY id')).toEqual([{ id: 2, customer_id: 10 }]);
    expect(await dr.query('SELECT table_name, old_key, new_key FROM salvage.key_map')).toEqual([{ table_name: 's.customers', old_key: '[3]', new_key: '[10]' }]);
  }, 120_000);

  it("follows the apply run's logical references: a held child of a remapped parent is written pointing at the parent's new key", async () => {
    // Bug this pins: resolve read declared foreign keys only, so a child related by the
    // configuration's `references` kept the parent's source key — the DR's own ticket.
    const { primary, dr } = servers;
    await dr.query('DROP DATABASE IF EXISTS salvage');
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: [
          'CREATE TABLE r.tickets (id INT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(20) NOT NULL)',
          'CREATE TABLE r.notes (id INT PRIMARY KEY, ticket_id INT NOT NULL, body VARCHAR(20) NOT NULL, UNIQUE KEY uk_body (body)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci',
        ],
        base: ["INSERT INTO r.tickets VALUES (1, 'base')"],
        lost: ["INSERT INTO r.tickets VALUES (2, 'lost T')", "INSERT INTO r.notes VALUES (1, 2, 'hello')"],
        // The DR's own ticket 2, and its note holding the lost note's body (case aside).
        dr: ["INSERT INTO r.tickets VALUES (2, 'dr T')", "INSERT INTO r.notes VALUES (5, 1, 'HELLO')"],
      },
      ['r'],
    );
    const cfg = config({ keepTransactionsWhole: false, tables: { 'r.notes': { references: { ticket_id: 'r.tickets.id' } } } });
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: cfg });
    expect(await dr.query('SELECT id, title FROM r.tickets ORDER BY id')).toEqual([
      { id: 1, title: 'base' },
      { id: 2, title: 'dr T' },
      { id: 3, title: 'lost T' },
    ]);
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => [e.table, e.op, e.class])).toEqual([['r.notes', 'insert', 'insert-unique-taken']]);
    const text = decisionsFile(held, [{ action: 'apply', row: { id: 1, ticket_id: 2, body: 'hello again' } }]);
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text });
    expect(report.entries.map((e) => e.result)).toEqual(['done']);
    expect(await dr.query('SELECT id, ticket_id, body FROM r.notes ORDER BY id')).toEqual([
      { id: 1, ticket_id: 3, body: 'hello again' },
      { id: 5, ticket_id: 1, body: 'HELLO' },
    ]);
  }, 120_000);
});
