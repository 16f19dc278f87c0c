/**
 * Passwords never leave the process (issue 6, "Security"): not on stdout or stderr (summary,
 * progress, JSON), not in the files a run writes (--report, --ledger, --sql, --markdown), not in
 * error messages, and not on the DR — neither in the state schema's tables (runs.options holds
 * the run's options) nor in the DR's own binlog, which records every state row apply writes.
 *
 * plan, apply and doctor run in process (runSalvageCommand, runDoctor) against throwaway servers,
 * with the password given each way a DBA can: --target-password-env, an option file
 * (--defaults-file), and inside the URL — once with a password holding ':' and '@', the
 * characters a URL treats specially. Every byte produced is then searched for each password, for
 * its URL-encoded and base64 forms, and for the pieces between its special characters (a
 * redaction that stops at the first ':' or '@' leaks the rest).
 *
 * The passwords in the lost range: a failed primary's binlog logs account statements as QUERY
 * events (MariaDB 10.11 logs CREATE USER … IDENTIFIED BY 'pw' as typed, SET PASSWORD with the
 * hash). Skipped as DDL (--ddl skip) or stopped on, they reach the ledger, the reports, the
 * quarantine, explain, inspect and the error messages, each with the credential redacted. So do
 * encryption keys given as literals to AES_ENCRYPT (directly, and through UNHEX(SHA2(…))) in the
 * statements of lost row changes, which the binlog logs as ANNOTATE_ROWS texts.
 */
import { readdir, readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/cli/doctor-command.js';
import { runExplain } from '../../src/cli/explain-command.js';
import { runInspect } from '../../src/cli/inspect-command.js';
import { runQuarantine } from '../../src/cli/quarantine-command.js';
import { runReport } from '../../src/cli/report-command.js';
import { runSalvageCommand, type SalvageCommandEnvironment } from '../../src/cli/salvage-command.js';
import { EngineError } from '../../src/errors.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { Capture } from '../harness/capture.js';

/** The DR accounts' passwords; the second holds the characters a URL treats specially. */
const PASSWORD = 'Sup3r-Secret!';
const URL_PASSWORD = 'Kestrel:Quartz@Ember!';
/** The old primary's replication account, for --source. */
const SOURCE_PASSWORD = 'Osprey-Lantern-7';
/** Wrong passwords, which must not show up in the errors they cause either. */
const WRONG = 'Wr0ng-Secret?';
const WRONG_PLAIN = 'Wr0ng-Secret-2';
const WRONG_IN_URL = 'Bad/Quokka#Zephyr';

/** Every form of a password that would give it away. */
function needles(password: string): string[] {
  const pieces = password.split(/[:@/?#]/).filter((p) => p.length >= 4);
  return [...new Set([password, encodeURIComponent(password), Buffer.from(password).toString('base64'), ...pieces])];
}

const ALL_NEEDLES = [PASSWORD, URL_PASSWORD, SOURCE_PASSWORD, WRONG, WRONG_PLAIN, WRONG_IN_URL].flatMap(needles);

/** The labels of the texts that hold any needle, with the needle found. */
function leaks(produced: ReadonlyMap<string, string | Buffer>, needles: readonly string[] = ALL_NEEDLES): string[] {
  const out: string[] = [];
  for (const [label, content] of produced) {
    for (const n of needles) if (content.includes(n)) out.push(`${label}: ${JSON.stringify(n)}`);
  }
  return out;
}

/** An error's message, its JSON form, its stack and its causes' messages: all a user might see of it. */
function errorText(e: unknown): string {
  const parts: string[] = [];
  for (let c: unknown = e, depth = 0; c !== undefined && c !== null && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    parts.push(String(c), (c as Error).stack ?? '', c instanceof EngineError ? JSON.stringify(c.toJSON()) : '');
  }
  return parts.join('\n');
}

/** Runs a command, keeping its stdout and stderr (and the error it throws) in `produced` under `label`. */
async function captured(produced: Map<string, string | Buffer>, label: string, command: (out: Capture, err: Capture) => Promise<number>): Promise<number | 'threw'> {
  const out = new Capture();
  const err = new Capture();
  try {
    return await command(out, err);
  } catch (e) {
    produced.set(`${label} error`, errorText(e));
    return 'threw';
  } finally {
    produced.set(`${label} stdout`, out.text);
    produced.set(`${label} stderr`, err.text);
  }
}

/** A primary and a DR (server id 2) holding t.kv with its row 'a', and a work folder: what both describes start from. */
async function startKvPair(name: string): Promise<[MariadbServer, MariadbServer, string]> {
  const [primary, dr] = await Promise.all([startMariadb({ name: `${name}-primary` }), startMariadb({ name: `${name}-dr`, serverId: 2 })]);
  const dir = await mkdtemp(join(tmpdir(), `salvage-${name}-`));
  for (const s of [primary, dr]) {
    await s.query('CREATE DATABASE t');
    await s.query('CREATE TABLE t.kv (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, k VARCHAR(20) NOT NULL, UNIQUE KEY uk_k (k)) ENGINE=InnoDB');
    await s.query("INSERT INTO t.kv (k) VALUES ('a')");
  }
  return [primary, dr, dir];
}

describe('no password in any output, file, error or DR table', () => {
  let primary: MariadbServer;
  let dr: MariadbServer;
  let dir: string;
  let files: string[];
  let start: string;
  /** label → everything produced under it. */
  const produced = new Map<string, string | Buffer>();

  beforeAll(async () => {
    [primary, dr, dir] = await startKvPair('secrets');
    start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
    // Lost on the DR: 'b' (its id taken on the DR: remapped) and 'c' (its unique value taken: quarantined).
    await primary.query("INSERT INTO t.kv (k) VALUES ('b')");
    await primary.query("INSERT INTO t.kv (k) VALUES ('c')");
    await dr.query("INSERT INTO t.kv (k) VALUES ('c')");
    await primary.flushBinaryLogs();
    files = await primary.binlogFiles();
    // The accounts, created outside the DR's binlog so that the search of its binlog below sees
    // only what salvage wrote (CREATE USER … IDENTIFIED BY would be logged with the password).
    const admin = await dr.connect();
    try {
      await admin.query('SET SESSION sql_log_bin = 0');
      for (const [user, pw] of [['salv', PASSWORD], ['salv2', URL_PASSWORD]] as const) {
        await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', pw]);
        await admin.query('GRANT ALL PRIVILEGES ON *.* TO ?@?', [user, '%']);
      }
    } finally {
      await admin.end();
    }
    const source = await primary.connect();
    try {
      await source.query('SET SESSION sql_log_bin = 0');
      await source.query('CREATE USER ?@? IDENTIFIED BY ?', ['repl', '%', SOURCE_PASSWORD]);
      await source.query('GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO ?@?', ['repl', '%']);
    } finally {
      await source.end();
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all([primary?.stop(), dr?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const url = (user: string, password?: string, server: MariadbServer = dr): string => `mysql://${user}${password === undefined ? '' : `:${password}`}@127.0.0.1:${server.port}`;

  /** `captured`, for plan, apply or doctor in process. */
  function run(label: string, command: 'plan' | 'apply' | 'doctor', args: string[], environment: SalvageCommandEnvironment): Promise<number | 'threw'> {
    return captured(produced, label, (out, err) => (command === 'doctor' ? runDoctor(args, out, err, environment) : runSalvageCommand(command, args, out, err, environment)));
  }

  it('plan, apply and doctor with the password from an environment variable, an option file and the URL', async () => {
    const env: SalvageCommandEnvironment = { env: { DR_PW: PASSWORD }, home: undefined, isTty: false };
    const bare: SalvageCommandEnvironment = { env: {}, home: undefined, isTty: false };
    const input = ['--binlog', ...files, '--from-gtid', start];
    const outputs = (name: string): string[] => ['--report', join(dir, `${name}.json`), '--ledger', join(dir, `${name}.jsonl`), '--markdown', join(dir, `${name}.md`)];
    const cnf = join(dir, 'dr.cnf');
    await writeFile(cnf, `[client]\nuser=salv\npassword="${PASSWORD}"\n`);

    // plan: the summary, progress lines on stderr (no --quiet), the SQL file.
    expect(await run('plan (env)', 'plan', [...input, '--target', url('salv'), '--target-password-env', 'DR_PW', ...outputs('plan-env'), '--sql', join(dir, 'plan-env.sql')], env)).toBe(3);
    expect(await run('plan (option file)', 'plan', [...input, '--target', `mysql://127.0.0.1:${dr.port}`, '--defaults-file', cnf, '--json'], bare)).toBe(3);
    // plan from a live source: its password from its own variable, and once inside its URL.
    const both: SalvageCommandEnvironment = { env: { DR_PW: PASSWORD, SRC_PW: SOURCE_PASSWORD }, home: undefined, isTty: false };
    const live = ['--from-gtid', start, '--target', url('salv'), '--target-password-env', 'DR_PW'];
    expect(await run('plan (live source, env)', 'plan', ['--source', url('repl', undefined, primary), '--source-password-env', 'SRC_PW', ...live, ...outputs('plan-live')], both)).toBe(3);
    expect(await run('plan (live source, URL)', 'plan', ['--source', url('repl', SOURCE_PASSWORD, primary), ...live, '--json'], both)).toBe(3);
    // apply with the special-character password inside the URL: its summary names the DR for "salvage quarantine list".
    expect(await run('apply (URL)', 'apply', [...input, '--target', url('salv2', URL_PASSWORD), ...outputs('apply-url')], bare)).toBe(3);
    // 3: nothing left to apply, the first apply's quarantine still pending.
    expect(await run('apply again (env)', 'apply', [...input, '--target', url('salv'), '--target-password-env', 'DR_PW', '--json', ...outputs('apply-env')], env)).toBe(3);
    expect(await run('doctor (URL)', 'doctor', ['--target', url('salv', PASSWORD), '--binlog', ...files], bare)).toBe(0);
    expect(await run('doctor (env, JSON)', 'doctor', ['--target', url('salv'), '--target-password-env', 'DR_PW', '--json'], env)).toBe(0);
    // The runs did what they were asked: they read the DR with the passwords given.
    expect(await dr.query('SELECT id, k FROM t.kv ORDER BY id')).toEqual([{ id: 1, k: 'a' }, { id: 2, k: 'c' }, { id: 4, k: 'b' }]);
    expect(produced.get('apply (URL) stdout')).toContain(`review them: salvage quarantine list --target mysql://salv2:***@127.0.0.1:${dr.port}`);
  });

  it('wrong passwords and unusable URLs: the errors name the DR, never a password', async () => {
    const env: SalvageCommandEnvironment = { env: { DR_PW: WRONG }, home: undefined, isTty: false };
    const bare: SalvageCommandEnvironment = { env: {}, home: undefined, isTty: false };
    const input = ['--binlog', ...files, '--from-gtid', start, '--quiet'];
    expect(await run('plan (wrong env password)', 'plan', [...input, '--target', url('salv'), '--target-password-env', 'DR_PW'], env)).toBe('threw');
    expect(await run('apply (wrong URL password)', 'apply', [...input, '--target', url('salv', WRONG_PLAIN)], bare)).toBe('threw');
    // '/' and '#' in a password the URL does not encode: the URL does not parse, and the message quotes it redacted.
    expect(await run('apply (unparsable URL)', 'apply', [...input, '--target', url('salv', WRONG_IN_URL)], bare)).toBe('threw');
    expect(await run('plan (wrong source password)', 'plan', ['--source', url('repl', WRONG_PLAIN, primary), '--from-gtid', start, '--target', url('salv', PASSWORD), '--quiet'], bare)).toBe('threw');
    expect(await run('doctor (wrong source password)', 'doctor', ['--target', url('salv', PASSWORD), '--source', url('repl', undefined, primary), '--source-password-env', 'DR_PW'], env)).toBe(2);
    expect(await run('doctor (wrong URL password)', 'doctor', ['--target', url('salv', WRONG_PLAIN)], bare)).toBe(2);
    expect(produced.get('plan (wrong env password) error')).toContain(`--target: cannot connect to mysql://salv:***@127.0.0.1:${dr.port}: Access denied for user 'salv'@'127.0.0.1' (using password: YES)`);
    expect(produced.get('apply (wrong URL password) error')).toContain(`--target: cannot connect to mysql://salv:***@127.0.0.1:${dr.port}: Access denied for user 'salv'@'127.0.0.1' (using password: YES)`);
    expect(produced.get('apply (unparsable URL) error')).toContain('--target: expected mysql://user@host:port, got "mysql://salv:***@');
    expect(produced.get('plan (wrong source password) error')).toContain(`--source: cannot connect to mysql://repl:***@127.0.0.1:${primary.port}: Access denied for user 'repl'@'127.0.0.1' (using password: YES)`);
    expect(produced.get('doctor (wrong source password) stdout')).toContain(`source mysql://repl:***@127.0.0.1:${primary.port}\n  ✖ connect: --source: cannot connect to mysql://repl:***@127.0.0.1:${primary.port}: Access denied`);
    expect(produced.get('doctor (wrong URL password) stdout')).toContain(`✖ connect: --target: cannot connect to mysql://salv:***@127.0.0.1:${dr.port}: Access denied`);
  });

  it('nothing produced holds a password: outputs, files, errors, the state tables and the DR\'s binlog', async () => {
    for (const name of await readdir(dir)) if (name !== 'dr.cnf') produced.set(`file ${name}`, await readFile(join(dir, name)));
    // Every state table, every column (runs.options holds the run's options).
    const tables = (await dr.query("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'salvage' ORDER BY TABLE_NAME")) as { t: string }[];
    expect(tables.map((r) => r.t)).toEqual(['archive', 'checkpoint', 'key_floor', 'key_map', 'ledger', 'quarantine', 'runs', 'schema_version', 'skipped_insert']);
    for (const { t } of tables) {
      const rows = await dr.query(`SELECT * FROM salvage.\`${t}\``);
      produced.set(`DR salvage.${t}`, JSON.stringify(rows, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : v)));
    }
    const runs = (await dr.query('SELECT options FROM salvage.runs ORDER BY id')) as { options: string }[];
    expect(runs.length).toBe(2);
    // What the DR's binlog recorded of apply's writes (the state rows, with runs.options).
    for (const f of await dr.binlogFiles()) produced.set(`DR binlog ${f}`, await readFile(f));
    expect(produced.size).toBeGreaterThan(30);
    expect(leaks(produced)).toEqual([]);
  });
});

describe('no password from an account statement of the lost range in any output, file, error or DR table', () => {
  // Quotes and backslashes in them: the client sends them escaped, and the binlog logs them so.
  const CREATE = "Heron'Create\\41";
  const ALTER = 'Osprey-Alter-"52"';
  const GRANTED = 'Plover-Grant-63';
  const SET = 'Avocet-Set-74';
  const ED = 'Curlew-Ed25519-85';
  const HASHED = 'Dunlin-Hashed-96';
  const ANNOTATED = 'Gannet-Annotated-07';
  const STATEMENT = 'Shrike-Statement-18';
  const PLAINTEXTS = [CREATE, ALTER, GRANTED, SET, ED, HASHED, ANNOTATED, STATEMENT];
  /** Encryption keys the lost row changes' statements give AES_ENCRYPT as literals; the second through SHA2, a quote and a backslash in it. */
  const KEY = 'k3y-Kittiwake-29';
  const HASHED_KEY = "k3y-Fulmar'Quill\\30";
  /** What AES_ENCRYPT('v', KEY) writes to the row (LEFT(HEX(…), 12)): the DR holds it too, so the lost update is quarantined with its statement. */
  let encrypted = '';

  let primary: MariadbServer;
  let dr: MariadbServer;
  let dir: string;
  let files: string[];
  let start: string;
  /** GTID of each account statement, of the insert whose annotation holds PASSWORD('…'), and of the changes whose annotations hold the keys. */
  const at = new Map<string, string>();
  /** Each password, its escaped forms, its mysql_native_password hash (with and without its '*'), and their pieces. */
  let secretNeedles: string[] = [];
  const produced = new Map<string, string | Buffer>();
  const env: SalvageCommandEnvironment = { env: {}, home: undefined, isTty: false };

  const pos = async (): Promise<string> => String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);

  beforeAll(async () => {
    [primary, dr, dir] = await startKvPair('secrets-sql');
    // The DR holds '*': the lost insert of LEFT(PASSWORD(…), 1) clashes on it and is quarantined with its statement.
    await dr.query("INSERT INTO t.kv (k) VALUES ('*')");
    const conn = await primary.connect();
    try {
      await conn.query('SET SESSION sql_log_bin = 0');
      await conn.query("INSTALL SONAME 'auth_ed25519'");
      const hashes = (await conn.query(`SELECT ${PLAINTEXTS.map(() => 'PASSWORD(?)').join(', ')}`, PLAINTEXTS))[0] as unknown as Record<string, string>[];
      const hashOf = Object.values(hashes[0]!);
      secretNeedles = [...new Set([...[...PLAINTEXTS, KEY, HASHED_KEY].flatMap((p) => [...needles(p), p.replaceAll('\\', '\\\\').replaceAll("'", "\\'")]), ...hashOf.flatMap((h) => [h, h.slice(1)]), ...HASHED_KEY.split(/['\\]/).filter((p) => p.length >= 4)])];
      encrypted = String(((await conn.query("SELECT LEFT(HEX(AES_ENCRYPT('v', ?)), 12) AS e", [KEY]))[0] as unknown as { e: string }[])[0]!.e);
      await dr.query('INSERT INTO t.kv (k) VALUES (?)', [encrypted]);
      await conn.query('SET SESSION sql_log_bin = 1');
      start = await pos();
      const logged = async (label: string, sql: string, values?: unknown[]): Promise<void> => {
        await conn.query(sql, values);
        at.set(label, await pos());
      };
      await logged('row', "INSERT INTO t.kv (k) VALUES ('b')");
      await logged('create', "CREATE USER 'app'@'%' IDENTIFIED BY ?", [CREATE]);
      await logged('alter', "ALTER USER 'app'@'%' IDENTIFIED BY ?", [ALTER]);
      await logged('grant', "GRANT SELECT ON t.* TO 'reader'@'%' IDENTIFIED BY ?", [GRANTED]);
      await logged('set', "SET PASSWORD FOR 'app'@'%' = PASSWORD(?)", [SET]);
      await logged('ed25519', "CREATE USER 'ed'@'%' IDENTIFIED VIA ed25519 USING PASSWORD(?)", [ED]);
      await logged('hashed', `CREATE USER 'old'@'%' IDENTIFIED BY PASSWORD '${Object.values(hashes[0]!)[5]!}'`);
      await logged('annotated', 'INSERT INTO t.kv (k) VALUES (LEFT(PASSWORD(?), 1))', [ANNOTATED]);
      await conn.query("SET SESSION binlog_format = 'STATEMENT'");
      await logged('statement', "INSERT INTO t.kv (k) VALUES (CONCAT('s', LEFT(PASSWORD(?), 4)))", [STATEMENT]);
      await conn.query("SET SESSION binlog_format = 'ROW'");
      await logged('key', "UPDATE t.kv SET k = LEFT(HEX(AES_ENCRYPT('v', ?)), 12) WHERE k = 'a'", [KEY]);
      await logged('hashed key', 'INSERT INTO t.kv (k) VALUES (LEFT(HEX(AES_ENCRYPT(CONCAT(?, \',\'), UNHEX(SHA2(?, 256)))), 12))', ['w', HASHED_KEY]);
    } finally {
      await conn.end();
    }
    await primary.flushBinaryLogs();
    files = await primary.binlogFiles();
  }, 120_000);

  afterAll(async () => {
    await Promise.all([primary?.stop(), dr?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** `captured`, for any command of this describe. */
  function run(label: string, command: (args: string[], out: Capture, err: Capture) => Promise<number>, args: string[]): Promise<number | 'threw'> {
    return captured(produced, label, (out, err) => command(args, out, err));
  }
  const plan = (args: string[], out: Capture, err: Capture): Promise<number> => runSalvageCommand('plan', args, out, err, env);
  const apply = (args: string[], out: Capture, err: Capture): Promise<number> => runSalvageCommand('apply', args, out, err, env);
  const review = (fn: typeof runQuarantine) => (args: string[], out: Capture, err: Capture): Promise<number> => fn([...args, '--target', dr.url], out, err, env);
  const inspect = (args: string[], out: Capture, err: Capture): Promise<number> => runInspect(args, out, err, {});

  it('the binlog holds the passwords as the statements were typed (MariaDB 10.11), and SET PASSWORD with the hash', async () => {
    const binlog = Buffer.concat(await Promise.all(files.map((f) => readFile(f)))).toString('latin1');
    expect(binlog).toContain("CREATE USER 'app'@'%' IDENTIFIED BY 'Heron\\'Create\\\\41'");
    expect(binlog).toContain(`GRANT SELECT ON t.* TO 'reader'@'%' IDENTIFIED BY '${GRANTED}'`);
    expect(binlog).toContain(`IDENTIFIED VIA ed25519 USING PASSWORD('${ED}')`);
    expect(binlog).toMatch(/SET PASSWORD FOR 'app'@'%'='\*[0-9A-F]{40}'/);
    expect(binlog).not.toContain(SET);
    expect(binlog).toContain(`PASSWORD('${ANNOTATED}')`);
    expect(binlog).toContain(`UPDATE t.kv SET k = LEFT(HEX(AES_ENCRYPT('v', '${KEY}')), 12) WHERE k = 'a'`);
    expect(binlog).toContain("INSERT INTO t.kv (k) VALUES (LEFT(HEX(AES_ENCRYPT(CONCAT('w', ','), UNHEX(SHA2('k3y-Fulmar\\'Quill\\\\30', 256)))), 12))");
  });

  it('plan and apply stop on the DDL, then run with --ddl skip; inspect, quarantine, explain and report read what they left', async () => {
    const input = ['--binlog', ...files, '--from-gtid', start, '--target', dr.url];
    const outputs = (name: string): string[] => ['--report', join(dir, `${name}.json`), '--ledger', join(dir, `${name}.jsonl`), '--markdown', join(dir, `${name}.md`), '--html', join(dir, `${name}.html`)];
    // Without --ddl skip: stopped, the message quoting the first statement.
    expect(await run('plan (ddl stop)', plan, input)).toBe('threw');
    expect(await run('apply (ddl stop)', apply, input)).toBe('threw');
    // Following a live source, DDL stops the run as it is met (another message).
    // (from after the row, so that no window commits before it).
    expect(await run('apply --follow (ddl stop)', apply, ['--source', primary.url, '--follow', '--from-gtid', at.get('row')!, '--target', dr.url])).toBe('threw');
    expect(await run('plan', plan, [...input, '--ddl', 'skip', ...outputs('plan'), '--sql', join(dir, 'plan.sql')])).toBe(3);
    expect(await run('plan (JSON)', plan, [...input, '--ddl', 'skip', '--json'])).toBe(3);
    expect(await run('plan (live source)', plan, ['--source', primary.url, '--from-gtid', start, '--target', dr.url, '--ddl', 'skip', ...outputs('plan-live')])).toBe(3);
    expect(await run('apply', apply, [...input, '--ddl', 'skip', ...outputs('apply')])).toBe(3);
    expect(await run('apply again (JSON)', apply, [...input, '--ddl', 'skip', '--json'])).toBe(3);
    expect(await run('inspect', inspect, files)).toBe(0);
    expect(await run('inspect (JSON, statements)', inspect, [...files, '--json', '--statements'])).toBe(0);
    expect(await run('inspect (live source)', inspect, ['--source', primary.url])).toBe(0);
    expect(await run('quarantine list', review(runQuarantine), ['list'])).toBe(0);
    expect(await run('quarantine list (JSON)', review(runQuarantine), ['list', '--json'])).toBe(0);
    expect(await run('quarantine export', review(runQuarantine), ['export'])).toBe(0);
    const entries = (produced.get('quarantine export stdout') as string).trimEnd().split('\n');
    expect(entries).toHaveLength(3);
    for (const id of ['1', '2', '3']) {
      expect(await run(`quarantine show ${id}`, review(runQuarantine), ['show', id])).toBe(0);
      expect(await run(`quarantine show ${id} (JSON)`, review(runQuarantine), ['show', id, '--json'])).toBe(0);
    }
    for (const [label, gtid] of at) {
      expect(await run(`explain ${label}`, review(runExplain), [gtid])).toBe(0);
      expect(await run(`explain ${label} (JSON)`, review(runExplain), [gtid, '--json'])).toBe(0);
    }
    // Run 2 is the apply that decided them (run 1 the follow that stopped, run 3 the apply that found nothing left).
    expect(await run('report', review(runReport), ['--run', '2', '--markdown', join(dir, 'report.md'), '--html', join(dir, 'report.html')])).toBe(0);

    // Each statement is there, its credential replaced: the outputs carry what was done, to whom.
    expect(produced.get('plan (ddl stop) error')).toContain("): CREATE USER 'app'@'%' IDENTIFIED BY '<redacted>' — apply the schema change to the DR by hand");
    expect(produced.get('apply --follow (ddl stop) error')).toContain("): CREATE USER 'app'@'%' IDENTIFIED BY '<redacted>' — ");
    expect(produced.get('apply (ddl stop) error')).toContain("): CREATE USER 'app'@'%' IDENTIFIED BY '<redacted>' — apply the schema change to the DR by hand");
    const ledger = await readFile(join(dir, 'apply.jsonl'), 'utf8');
    for (const sql of [
      "CREATE USER 'app'@'%' IDENTIFIED BY '<redacted>'",
      "ALTER USER 'app'@'%' IDENTIFIED BY '<redacted>'",
      "GRANT SELECT ON t.* TO 'reader'@'%' IDENTIFIED BY '<redacted>'",
      "SET PASSWORD FOR 'app'@'%'='<redacted>'",
      "CREATE USER 'ed'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('<redacted>')",
      "CREATE USER 'old'@'%' IDENTIFIED BY PASSWORD '<redacted>'",
    ]) {
      expect(ledger).toContain(JSON.stringify(sql));
      expect(produced.get('inspect stdout')).toContain(sql);
      expect(await readFile(join(dir, 'apply.md'), 'utf8')).toContain(sql);
      expect(await readFile(join(dir, 'report.md'), 'utf8')).toContain(sql);
    }
    expect(ledger).toContain(JSON.stringify("INSERT INTO t.kv (k) VALUES (LEFT(PASSWORD('<redacted>'), 1))"));
    expect(ledger).toContain("INSERT INTO t.kv (k) VALUES (CONCAT('s', LEFT(PASSWORD('<redacted>'), 4)))");
    expect(produced.get('inspect stdout')).toContain("#Q> INSERT INTO t.kv (k) VALUES (LEFT(PASSWORD('<redacted>'), 1))");
    expect(produced.get('quarantine show 2 stdout')).toContain("reason:      statement-based DML (logged as SQL text) cannot be merged row by row: INSERT INTO t.kv (k) VALUES (CONCAT('s', LEFT(PASSWORD('<redacted>'), 4)))");
    expect(produced.get('explain annotated stdout')).toContain("statement:   INSERT INTO t.kv (k) VALUES (LEFT(PASSWORD('<redacted>'), 1))");
    expect(produced.get('quarantine show 1 stdout')).toContain("statement:   INSERT INTO t.kv (k) VALUES (LEFT(PASSWORD('<redacted>'), 1))");
    // The key of the lost update (update-unique-taken, held): its statement shows where a quarantined change's does.
    const keyed = "UPDATE t.kv SET k = LEFT(HEX(AES_ENCRYPT('v', '<redacted>')), 12) WHERE k = 'a'";
    expect(produced.get('inspect stdout')).toContain(`#Q> ${keyed}`);
    expect(produced.get('inspect (JSON, statements) stdout')).toContain(JSON.stringify(keyed));
    expect(produced.get('quarantine show 3 stdout')).toContain(`statement:   ${keyed}`);
    expect(produced.get('explain key stdout')).toContain(`statement:   ${keyed}`);
    expect(produced.get('quarantine export stdout')).toContain(JSON.stringify(keyed));
    expect(await readFile(join(dir, 'apply.md'), 'utf8')).toContain(keyed);
    expect(await readFile(join(dir, 'report.md'), 'utf8')).toContain(keyed);
    // Its backslashes read both ways (sql_mode unknown), the rest of the statement goes with the key.
    expect(produced.get('inspect stdout')).toContain("#Q> INSERT INTO t.kv (k) VALUES (LEFT(HEX(AES_ENCRYPT(CONCAT('w', ','), UNHEX(SHA2('<redacted>'");
  }, 120_000);

  it('nothing produced holds a password or a hash: outputs, files, errors, the state tables and the DR\'s binlog', async () => {
    for (const name of await readdir(dir)) produced.set(`file ${name}`, await readFile(join(dir, name)));
    const tables = (await dr.query("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'salvage' ORDER BY TABLE_NAME")) as { t: string }[];
    expect(tables.length).toBeGreaterThan(5);
    for (const { t } of tables) {
      const rows = await dr.query(`SELECT * FROM salvage.\`${t}\``);
      produced.set(`DR salvage.${t}`, JSON.stringify(rows, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : v)));
    }
    for (const f of await dr.binlogFiles()) produced.set(`DR binlog ${f}`, await readFile(f));
    expect(produced.size).toBeGreaterThan(60);
    expect(secretNeedles.length).toBeGreaterThan(20);
    expect(leaks(produced, secretNeedles)).toEqual([]);
    expect(produced.get('DR salvage.quarantine')).toContain("PASSWORD('<redacted>')");
    expect(produced.get('DR salvage.quarantine')).toContain("AES_ENCRYPT('v', '<redacted>')");
  });
});
