/**
 * Hand-written incidents on a primary/DR pair of throwaway servers, for the tests of strategies and
 * guards: the same schema and base rows on both, lost statements on the primary only, the DR's own
 * statements on the DR, and the GTID position the DR "had" when the link was cut.
 */
import { afterAll, beforeAll } from 'vitest';
import { parseConfig, type NormalisedConfig } from '../../src/config/normalise.js';
import { startMariadb, type MariadbOptions, type MariadbServer } from './mariadb-server.js';

/** A primary and a DR for the tests of one file: started before them, stopped after them (even when one fails). */
export interface ServerPair {
  readonly primary: MariadbServer;
  readonly dr: MariadbServer;
}

/** Registers the file's servers `<name>-primary` (with `primaryOptions`) and `<name>-dr` (server id 2, with `drOptions`); read them inside the tests. */
export function useServerPair(name: string, primaryOptions: MariadbOptions = {}, drOptions: MariadbOptions = {}): ServerPair {
  const pair: { primary?: MariadbServer; dr?: MariadbServer } = {};
  beforeAll(async () => {
    [pair.primary, pair.dr] = await Promise.all([startMariadb({ name: `${name}-primary`, ...primaryOptions }), startMariadb({ name: `${name}-dr`, serverId: 2, ...drOptions })]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([pair.primary?.stop(), pair.dr?.stop()]);
  });
  return {
    get primary(): MariadbServer {
      return pair.primary!;
    },
    get dr(): MariadbServer {
      return pair.dr!;
    },
  };
}

/** One incident: DDL and base rows on both sides, then the lost statements on the primary and the DR's own on the DR. */
export interface Incident {
  readonly schema: readonly string[];
  readonly base?: readonly string[];
  readonly lost: readonly string[];
  readonly dr?: readonly string[];
}

export interface Staged {
  /** The primary's @@gtid_binlog_pos before the lost statements: everything after it is lost. */
  readonly start: string;
  readonly files: string[];
}

/** Resets `databases` (and the state schema) on both servers and stages `incident` there; the first database is created empty. */
export async function stageIncident(primary: MariadbServer, dr: MariadbServer, incident: Incident, databases: readonly string[] = ['t']): Promise<Staged> {
  for (const s of [primary, dr]) {
    for (const db of [...databases, 'salvage']) await s.query(`DROP DATABASE IF EXISTS ${db}`);
    for (const db of databases) await s.query(`CREATE DATABASE ${db}`);
  }
  for (const sql of [...incident.schema, ...(incident.base ?? [])]) {
    await primary.query(sql);
    await dr.query(sql);
  }
  const start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
  for (const sql of incident.lost) await primary.query(sql);
  for (const sql of incident.dr ?? []) await dr.query(sql);
  await primary.flushBinaryLogs();
  return { start, files: await primary.binlogFiles() };
}

/** The normalised form of what a user writes; a configuration the schema rejects fails the test with its problems. */
export function config(input: unknown): NormalisedConfig {
  const r = parseConfig(input);
  if (!r.ok) throw new Error(`configuration rejected: ${JSON.stringify(r.problems)}`);
  return r.config;
}
