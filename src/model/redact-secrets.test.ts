import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mayHoldSecret, REDACTED, redactSecrets } from './redact-secrets.js';

const R = REDACTED;

describe('redactSecrets: each form an account statement logs a credential in', () => {
  it.each([
    // What MariaDB 10.11 writes to its binlog, as a throwaway server logged it (statement-based, verbatim).
    ["CREATE USER 'app'@'%' IDENTIFIED BY 'S3cret!'", `CREATE USER 'app'@'%' IDENTIFIED BY ${R}`],
    ["CREATE OR REPLACE USER 'app'@'%' IDENTIFIED BY \"S3cret!\"", `CREATE OR REPLACE USER 'app'@'%' IDENTIFIED BY ${R}`],
    ["ALTER USER 'app'@'%' IDENTIFIED BY 'S3cret!'", `ALTER USER 'app'@'%' IDENTIFIED BY ${R}`],
    ["GRANT SELECT ON *.* TO 'app3'@'%' IDENTIFIED BY 'S3cret!'", `GRANT SELECT ON *.* TO 'app3'@'%' IDENTIFIED BY ${R}`],
    ["CREATE USER 'ed'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('S3cret!')", `CREATE USER 'ed'@'%' IDENTIFIED VIA ed25519 USING PASSWORD(${R})`],
    [
      "ALTER USER 'ed'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('S3cret!') OR unix_socket",
      `ALTER USER 'ed'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD(${R}) OR unix_socket`,
    ],
    // SET PASSWORD … = PASSWORD('…') is logged rewritten, with the hash.
    ["SET PASSWORD FOR 'app'@'%'='*89E987BFC1E7E4A9344624F09E8CADE876BD2E8C'", `SET PASSWORD FOR 'app'@'%'=${R}`],
    ["CREATE USER 'app2'@'%' IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'", `CREATE USER 'app2'@'%' IDENTIFIED BY PASSWORD ${R}`],
    ["GRANT SELECT ON *.* TO x3@'%' IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'", `GRANT SELECT ON *.* TO x3@'%' IDENTIFIED BY PASSWORD ${R}`],
    ["CREATE USER x4@'%' IDENTIFIED VIA mysql_native_password USING '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'", `CREATE USER x4@'%' IDENTIFIED VIA mysql_native_password USING ${R}`],
    ["CREATE USER x1@'%' IDENTIFIED BY 'a', x2@'%' IDENTIFIED BY 'b'", `CREATE USER x1@'%' IDENTIFIED BY ${R}, x2@'%' IDENTIFIED BY ${R}`],
    // As typed (the server rewrites these before logging them, or does not log them at all).
    ["SET PASSWORD FOR 'app'@'%' = PASSWORD('S3cret!')", `SET PASSWORD FOR 'app'@'%' = PASSWORD(${R})`],
    ["SET PASSWORD FOR app = OLD_PASSWORD('S3cret!')", `SET PASSWORD FOR app = OLD_PASSWORD(${R})`],
    ["SET PASSWORD = 'S3cret!'", `SET PASSWORD = ${R}`],
    [
      "CREATE SERVER srv FOREIGN DATA WRAPPER mysql OPTIONS (HOST '127.0.0.1', USER 'u', PASSWORD 'S3cret!', DATABASE 'd')",
      `CREATE SERVER srv FOREIGN DATA WRAPPER mysql OPTIONS (HOST '127.0.0.1', USER 'u', PASSWORD ${R}, DATABASE 'd')`,
    ],
    ["ALTER SERVER srv OPTIONS (PASSWORD 'S3cret!')", `ALTER SERVER srv OPTIONS (PASSWORD ${R})`],
    ["CHANGE MASTER TO MASTER_HOST='h', MASTER_PASSWORD = 'S3cret!', MASTER_USER='u'", `CHANGE MASTER TO MASTER_HOST='h', MASTER_PASSWORD = ${R}, MASTER_USER='u'`],
    ["CHANGE MASTER 'other' TO MASTER_PASSWORD='S3cret!'", `CHANGE MASTER 'other' TO MASTER_PASSWORD=${R}`],
    ["CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD='S3cret!'", `CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD=${R}`],
    ["START SLAVE USER='repl' PASSWORD='S3cret!'", `START SLAVE USER='repl' PASSWORD=${R}`],
    // MySQL: what its binlog holds (the hash after AS), and the forms it rewrites.
    [
      "CREATE USER 'app'@'%' IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$salt\\'\\\\hash' REQUIRE NONE",
      `CREATE USER 'app'@'%' IDENTIFIED WITH 'caching_sha2_password' AS ${R} REQUIRE NONE`,
    ],
    [
      "ALTER USER 'app'@'%' IDENTIFIED WITH 'caching_sha2_password' AS 0x24412430303524 REQUIRE NONE",
      `ALTER USER 'app'@'%' IDENTIFIED WITH 'caching_sha2_password' AS ${R} REQUIRE NONE`,
    ],
    ["ALTER USER 'app'@'%' IDENTIFIED WITH mysql_native_password AS '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'", `ALTER USER 'app'@'%' IDENTIFIED WITH mysql_native_password AS ${R}`],
    ["ALTER USER u IDENTIFIED WITH caching_sha2_password BY 'new' REPLACE 'old' RETAIN CURRENT PASSWORD", `ALTER USER u IDENTIFIED WITH caching_sha2_password BY ${R} REPLACE ${R} RETAIN CURRENT PASSWORD`],
    ["SET PASSWORD FOR u = 'new' REPLACE 'old'", `SET PASSWORD FOR u = ${R} REPLACE ${R}`],
    ["ALTER USER u ADD 2 FACTOR IDENTIFIED WITH authentication_fido", "ALTER USER u ADD 2 FACTOR IDENTIFIED WITH authentication_fido"],
    ["CREATE USER u IDENTIFIED BY 'a' AND IDENTIFIED WITH x BY 'b' INITIAL AUTHENTICATION IDENTIFIED BY 'c'", `CREATE USER u IDENTIFIED BY ${R} AND IDENTIFIED WITH x BY ${R} INITIAL AUTHENTICATION IDENTIFIED BY ${R}`],
    // A password in DML's PASSWORD() function is a plaintext the row images never hold.
    ["INSERT INTO t (h) VALUES (PASSWORD('S3cret!'))", `INSERT INTO t (h) VALUES (PASSWORD(${R}))`],
  ])('%s', (sql, expected) => {
    expect(redactSecrets(sql)).toBe(expected);
  });
});

describe('redactSecrets: quoting, comments and case', () => {
  it.each([
    ['doubled quotes', "CREATE USER q IDENTIFIED BY 'It''s'", `CREATE USER q IDENTIFIED BY ${R}`],
    ['doubled double quotes', 'CREATE USER q IDENTIFIED BY "say ""hi"""', `CREATE USER q IDENTIFIED BY ${R}`],
    ['a backslash-escaped quote', "CREATE USER q IDENTIFIED BY 'It\\'s, x IDENTIFIED BY \\'pw'", `CREATE USER q IDENTIFIED BY ${R}`],
    ['an escaped backslash before the closing quote', "CREATE USER q IDENTIFIED BY 'a\\\\' , r IDENTIFIED BY 'b'", `CREATE USER q IDENTIFIED BY ${R} , r IDENTIFIED BY ${R}`],
    // Under NO_BACKSLASH_ESCAPES (not known from the text) 'ab\' ends at its second quote: both readings are redacted.
    ["a backslash before the quote that may end it", "CREATE USER x5@'%' IDENTIFIED BY 'ab\\'", `CREATE USER x5@'%' IDENTIFIED BY ${R}`],
    ["NO_BACKSLASH_ESCAPES: a name ending in a backslash", "CREATE USER 'x\\'@'%' IDENTIFIED BY 'pw'", `CREATE USER 'x\\'@'%' IDENTIFIED BY ${R}`],
    ['NO_BACKSLASH_ESCAPES: two accounts', "CREATE USER a IDENTIFIED BY 'p\\', b IDENTIFIED BY 'q'", `CREATE USER a IDENTIFIED BY ${R}`],
    ['quotes of the other kind inside', `CREATE USER "o'x"@'%' IDENTIFIED BY 'a"b'`, `CREATE USER "o'x"@'%' IDENTIFIED BY ${R}`],
    ['a backtick name holding a quote', "CREATE USER `o'x`@`%` IDENTIFIED BY 'pw'", `CREATE USER \`o'x\`@\`%\` IDENTIFIED BY ${R}`],
    ['lower case', "create user u identified by 'pw'", `create user u identified by ${R}`],
    ['mixed case', "Create User u IdEnTiFiEd By 'pw'", `Create User u IdEnTiFiEd By ${R}`],
    ['a comment holding a quote before', "/* don't */ CREATE USER u IDENTIFIED BY 'pw'", `/* don't */ CREATE USER u IDENTIFIED BY ${R}`],
    ['comments between the keywords', "CREATE USER u IDENTIFIED /* a */ BY -- b\n 'pw' # c", `CREATE USER u IDENTIFIED /* a */ BY -- b\n ${R} # c`],
    ['a -- comment holding a quote', "CREATE USER u -- it's\n IDENTIFIED BY 'pw'", `CREATE USER u -- it's\n IDENTIFIED BY ${R}`],
    ['a -- comment ending the text', "CREATE USER u IDENTIFIED BY 'pw' --", `CREATE USER u IDENTIFIED BY ${R} --`],
    ['an executable comment', "CREATE /*!50000 USER */ u /*M!100100 IDENTIFIED BY 'pw' */", `CREATE /*!50000 USER */ u /*M!100100 IDENTIFIED BY ${R} */`],
    ['a plain comment holding credential syntax', "CREATE USER u /* was IDENTIFIED BY 'old' */", `CREATE USER u /* was IDENTIFIED BY ${R} */`],
    ['an introducer', "CREATE USER u IDENTIFIED BY _utf8mb4'pw'", `CREATE USER u IDENTIFIED BY ${R}`],
    ['an introducer and a space', "CREATE USER u IDENTIFIED BY _latin1 'pw' COMMENT 'c'", `CREATE USER u IDENTIFIED BY ${R} COMMENT 'c'`],
    ['adjacent literals, which the server joins', "CREATE USER u IDENTIFIED BY 'pa' \"ss\" 'wd'", `CREATE USER u IDENTIFIED BY ${R}`],
    ['N and X prefixes', "CREATE USER u IDENTIFIED BY N'pw', v IDENTIFIED BY X'7077'", `CREATE USER u IDENTIFIED BY ${R}, v IDENTIFIED BY ${R}`],
    ['a hex number', "CREATE USER u IDENTIFIED WITH 'p' AS 0xDEADBEEF", `CREATE USER u IDENTIFIED WITH 'p' AS ${R}`],
    ['unterminated: to the end', "CREATE USER u IDENTIFIED BY 'pw REQUIRE SSL", `CREATE USER u IDENTIFIED BY ${R}`],
    ['MariaDB SET STATEMENT … FOR', "SET STATEMENT max_statement_time=5 FOR SET PASSWORD FOR u = '*AB'", `SET STATEMENT max_statement_time=5 FOR SET PASSWORD FOR u = ${R}`],
    ['inside a compound statement', "CREATE PROCEDURE p() BEGIN SET PASSWORD FOR u = '*AB'; UPDATE t SET password = 'x'; END", `CREATE PROCEDURE p() BEGIN SET PASSWORD FOR u = ${R}; UPDATE t SET password = 'x'; END`],
    ['the marker itself: redacting twice changes nothing more', `CREATE USER u IDENTIFIED BY ${R}`, `CREATE USER u IDENTIFIED BY ${R}`],
  ])('%s', (_what, sql, expected) => {
    expect(redactSecrets(sql)).toBe(expected);
  });

  it('keeps the rest of an account statement as logged: names, hosts, plugins, REQUIRE, COMMENT, other options', () => {
    for (const sql of [
      "CREATE USER 'app'@'10.0.%' IDENTIFIED WITH 'caching_sha2_password' REQUIRE SUBJECT '/CN=app' AND ISSUER '/CN=ca' PASSWORD EXPIRE INTERVAL 90 DAY COMMENT 'by ops'",
      "CREATE USER 'by'@'%' IDENTIFIED VIA unix_socket",
      "GRANT SELECT ON `password`.* TO 'password'@'%' WITH GRANT OPTION",
      "ALTER USER u PASSWORD EXPIRE",
      "CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (HOST 'h', USER 'u', DATABASE 'd')",
    ]) {
      expect(redactSecrets(sql)).toBe(sql);
    }
  });
});

describe('redactSecrets: encryption keys given to SQL functions as literals', () => {
  it.each([
    ['AES_ENCRYPT', "INSERT INTO t (c) VALUES (AES_ENCRYPT('card 4111', 'k3y-Larch'))", `INSERT INTO t (c) VALUES (AES_ENCRYPT('card 4111', ${R}))`],
    ['AES_DECRYPT', "UPDATE t SET c = AES_DECRYPT(c, 'k3y-Larch') WHERE id = 1", `UPDATE t SET c = AES_DECRYPT(c, ${R}) WHERE id = 1`],
    ['AES_DECRYPT in a WHERE', "DELETE FROM t WHERE AES_DECRYPT(c, 'k3y') = 'x'", `DELETE FROM t WHERE AES_DECRYPT(c, ${R}) = 'x'`],
    ['an init vector: the key only', "INSERT INTO t VALUES (AES_ENCRYPT('v', 'k3y', RANDOM_BYTES(16)))", `INSERT INTO t VALUES (AES_ENCRYPT('v', ${R}, RANDOM_BYTES(16)))`],
    // MariaDB 11.2: AES_ENCRYPT(str, key, iv, mode).
    ['a literal init vector and a mode', "INSERT INTO t VALUES (AES_ENCRYPT('v', 'k3y', 'iv-0123456789abc', 'aes-256-cbc'))", `INSERT INTO t VALUES (AES_ENCRYPT('v', ${R}, 'iv-0123456789abc', 'aes-256-cbc'))`],
    // MySQL 8.0.30: AES_ENCRYPT(str, key, iv, kdf_name, salt, info).
    ['a key derivation function', "INSERT INTO t VALUES (AES_ENCRYPT('v', 'k3y', @iv, 'hkdf', 'salt', 'info'))", `INSERT INTO t VALUES (AES_ENCRYPT('v', ${R}, @iv, 'hkdf', 'salt', 'info'))`],
    ['DES_ENCRYPT', "INSERT INTO t VALUES (DES_ENCRYPT('v', 'k3y'))", `INSERT INTO t VALUES (DES_ENCRYPT('v', ${R}))`],
    ['DES_DECRYPT', "SELECT DES_DECRYPT(c, 'k3y') FROM t", `SELECT DES_DECRYPT(c, ${R}) FROM t`],
    ['ENCODE', "INSERT INTO t VALUES (ENCODE('v', 'pa55'))", `INSERT INTO t VALUES (ENCODE('v', ${R}))`],
    ['DECODE', "UPDATE t SET c = DECODE(c, 'pa55')", `UPDATE t SET c = DECODE(c, ${R})`],
    ['lower case', "insert into t values (aes_encrypt('v', 'k3y'))", `insert into t values (aes_encrypt('v', ${R}))`],
    ['a space and a comment before the parenthesis', "SELECT AES_ENCRYPT /* c */ ('v', 'k3y')", `SELECT AES_ENCRYPT /* c */ ('v', ${R})`],
    ['comments around the key', "SELECT AES_ENCRYPT('v', /* key: */ 'k3y' -- note\n)", `SELECT AES_ENCRYPT('v', /* key: */ ${R} -- note\n)`],
    ['a comment holding a quote', "SELECT AES_ENCRYPT('v', /* it's */ 'k3y')", `SELECT AES_ENCRYPT('v', /* it's */ ${R})`],
    ['an executable comment', "SELECT /*!50700 AES_ENCRYPT('v', 'k3y') */", `SELECT /*!50700 AES_ENCRYPT('v', ${R}) */`],
    ['a plain comment holding a call', "SELECT 1 /* was AES_ENCRYPT('v', 'old') */", `SELECT 1 /* was AES_ENCRYPT('v', ${R}) */`],
    ['double quotes', 'SELECT AES_ENCRYPT("v", "k3y")', `SELECT AES_ENCRYPT("v", ${R})`],
    ['doubled quotes', "SELECT AES_ENCRYPT('v', 'it''s')", `SELECT AES_ENCRYPT('v', ${R})`],
    ['a backslash-escaped quote', "SELECT AES_ENCRYPT('v', 'it\\'s, 1')", `SELECT AES_ENCRYPT('v', ${R})`],
    // Under NO_BACKSLASH_ESCAPES 'a\' ends at its second quote; with escapes it runs on: the key is redacted either way.
    ['a backslash ending the data', "SELECT AES_ENCRYPT('a\\', 'k3y')", `SELECT AES_ENCRYPT('a\\', ${R})`],
    ['a quote escaped in the data', "SELECT AES_ENCRYPT('it\\'s', 'k3y')", `SELECT AES_ENCRYPT('it\\'s', ${R})`],
    ['an introducer', "SELECT AES_ENCRYPT('v', _binary'k3y')", `SELECT AES_ENCRYPT('v', ${R})`],
    ['an introducer and a space', "SELECT AES_ENCRYPT('v', _utf8mb4 'k3y')", `SELECT AES_ENCRYPT('v', ${R})`],
    ['adjacent literals', "SELECT AES_ENCRYPT('v', 'k3' \"y-\" 'Larch')", `SELECT AES_ENCRYPT('v', ${R})`],
    ['X, N and B prefixes', "SELECT AES_ENCRYPT('v', X'6b3379'), ENCODE('v', N'k'), DECODE(c, B'0110')", `SELECT AES_ENCRYPT('v', ${R}), ENCODE('v', ${R}), DECODE(c, ${R})`],
    ['hex and bit numbers', "SELECT AES_ENCRYPT('v', 0x6b3379), DES_ENCRYPT('v', 0b0110)", `SELECT AES_ENCRYPT('v', ${R}), DES_ENCRYPT('v', ${R})`],
    ['a number', "SELECT AES_ENCRYPT('v', 20261129), AES_ENCRYPT('v', -1.5E3)", `SELECT AES_ENCRYPT('v', ${R}), AES_ENCRYPT('v', ${R})`],
    ['unterminated: to the end', "SELECT AES_ENCRYPT('v', 'k3y FROM t", `SELECT AES_ENCRYPT('v', ${R}`],
    ['the marker itself: redacting twice changes nothing more', `SELECT AES_ENCRYPT('v', ${R})`, `SELECT AES_ENCRYPT('v', ${R})`],
  ])('%s', (_what, sql, expected) => {
    expect(redactSecrets(sql)).toBe(expected);
  });

  it.each([
    ['the argument holds commas and parentheses', "SELECT AES_ENCRYPT(CONCAT(a, ','), UNHEX('6b3379'))", `SELECT AES_ENCRYPT(CONCAT(a, ','), UNHEX(${R}))`],
    ['a key hashed from a literal', "INSERT INTO t VALUES (AES_ENCRYPT('v', UNHEX(SHA2('k3y', 512))))", `INSERT INTO t VALUES (AES_ENCRYPT('v', UNHEX(SHA2(${R}, 512))))`],
    ['every literal of a key built of several', "SELECT AES_ENCRYPT('v', CONCAT('k3', @x, \"y\"))", `SELECT AES_ENCRYPT('v', CONCAT(${R}, @x, ${R}))`],
    ['parentheses in the data', "SELECT AES_ENCRYPT((a + 1) * (b), 'k3y')", `SELECT AES_ENCRYPT((a + 1) * (b), ${R})`],
    ['a call inside the data', "SELECT AES_DECRYPT(AES_ENCRYPT('v', 'k1'), 'k2')", `SELECT AES_DECRYPT(AES_ENCRYPT('v', ${R}), ${R})`],
    ['a call inside the key', "SELECT AES_ENCRYPT('v', AES_DECRYPT(c, 'k1'))", `SELECT AES_ENCRYPT('v', AES_DECRYPT(c, ${R}))`],
    ['two calls in one statement', "UPDATE t SET a = ENCODE(a, 'p1'), b = DES_ENCRYPT(b, 'p2') WHERE c = 'x'", `UPDATE t SET a = ENCODE(a, ${R}), b = DES_ENCRYPT(b, ${R}) WHERE c = 'x'`],
    ['inside a compound statement', "CREATE PROCEDURE p() BEGIN UPDATE t SET c = AES_ENCRYPT(c, 'k3y'); SELECT DECODE(x, 'A', 'B', 'C'); END", `CREATE PROCEDURE p() BEGIN UPDATE t SET c = AES_ENCRYPT(c, ${R}); SELECT DECODE(x, 'A', 'B', 'C'); END`],
    ['with a password in the same statement', "CREATE USER u IDENTIFIED BY 'pw' /* AES_ENCRYPT('v', 'k') */", `CREATE USER u IDENTIFIED BY ${R} /* AES_ENCRYPT('v', ${R}) */`],
  ])('nested: %s', (_what, sql, expected) => {
    expect(redactSecrets(sql)).toBe(expected);
  });

  it('takes time in proportion to the text, even with 20,000 calls left open (a walk per call to its end ran out of memory)', () => {
    const open = (key: string): string => `INSERT INTO t VALUES ${Array.from({ length: 20_000 }, (_, i) => `(${i}, AES_ENCRYPT(x, (${key}`).join(', ')}`;
    expect(redactSecrets(open("'k3y'"))).toBe(open(R));
  }, 10_000);

  it('leaves a key that is no literal, the data, the init vector, a DES key number and what only looks like a call', () => {
    for (const sql of [
      "INSERT INTO t (c) VALUES (AES_ENCRYPT('card 4111', key_col))",
      'UPDATE t SET c = AES_DECRYPT(c, @key) WHERE id = 1',
      'SELECT AES_ENCRYPT(v, k.secret), DECODE(c, `p`), ENCODE(c, @@session.k) FROM t JOIN k',
      "SELECT AES_ENCRYPT('v', @k, 'iv-0123456789abc', 'aes-128-cbc')",
      "INSERT INTO t VALUES (DES_ENCRYPT('v', 3), DES_ENCRYPT('v'), DES_DECRYPT(c))",
      // MariaDB's sql_mode=ORACLE DECODE(expr, search, result…) compares values, with three arguments or more.
      "SELECT DECODE(status, 'A', 'Active', 'Other') FROM t",
      // Names, not the built-in functions: columns, a stored function in a schema, a table being created.
      "INSERT INTO t (encode, decode, aes_encrypt) VALUES ('a', 'b', 'c')",
      "SELECT mydb.decode('a', 'b'), t.encode FROM t",
      "CREATE TABLE decode (a INT, b VARCHAR(8) DEFAULT 'x')",
      "CREATE TABLE IF NOT EXISTS encode (a INT, b VARCHAR(8) DEFAULT 'x')",
      // The literal in a string or a quoted name is no call.
      "SELECT 'AES_ENCRYPT(v, ''k'')', `ENCODE('v', 'k')`",
      // A user variable is set by a statement of its own, which the binlog does not log; its value is not known here.
      "SET @key = 'k3y-Larch'",
    ]) {
      expect(redactSecrets(sql)).toBe(sql);
    }
  });
});

describe('redactSecrets: statements without a credential', () => {
  it('returns the very string for DML, DDL and SQL that only names password columns', () => {
    for (const sql of [
      "INSERT INTO shop.customers (id, email) VALUES (1, 'a@x')",
      "UPDATE users SET password = 'x' WHERE id = 1",
      "INSERT INTO users (id, password, identified_at) VALUES (2, '*AB', NOW())",
      "DELETE FROM t WHERE password_hash = 'IDENTIFIED BY'",
      'ALTER TABLE users ADD COLUMN password VARCHAR(64) NOT NULL DEFAULT \'\'',
      "SELECT 'PASSWORD(''x'')' AS s",
      "CREATE USER 'app'@'%'",
      'DROP USER app',
      '',
    ]) {
      expect(redactSecrets(sql)).toBe(sql);
    }
  });

  it('the pre-check finds PASSWORD, IDENTIFIED and the key functions in any case, and nothing else', () => {
    expect(mayHoldSecret("INSERT INTO t VALUES (1, 'a')")).toBe(false);
    expect(mayHoldSecret('UPDATE t SET passwor = 1, identifie = 2, encod = 3, decryp = 4, crypt = 5, code = 6')).toBe(false);
    expect(mayHoldSecret('p')).toBe(false);
    expect(mayHoldSecret('x PassWord')).toBe(true);
    expect(mayHoldSecret('iDENTIFIED')).toBe(true);
    expect(mayHoldSecret('master_password')).toBe(true);
    for (const name of ['aes_encrypt', 'AES_DECRYPT', 'Des_Encrypt', 'des_decrypt', 'ENCODE', 'decode']) expect(mayHoldSecret(`SELECT ${name}(c, k)`)).toBe(true);
  });
});

/** How a DBA's client quotes a value: which quote, and how a quote (and a backslash) inside is written. */
type Quoting = 'single-doubled' | 'double-doubled' | 'single-backslash' | 'double-backslash';
const QUOTINGS: readonly Quoting[] = ['single-doubled', 'double-doubled', 'single-backslash', 'double-backslash'];

function quote(value: string, how: Quoting): string {
  const q = how.startsWith('single') ? "'" : '"';
  // Doubled: the NO_BACKSLASH_ESCAPES way (a backslash is itself); backslash: as mysql2 escapes.
  const body = how.endsWith('doubled') ? value.replaceAll(q, q + q) : value.replaceAll('\\', '\\\\').replaceAll(q, `\\${q}`);
  return q + body + q;
}

/** Each form a credential takes, given the account and the credential as SQL literals. */
const FORMS: readonly ((account: string, secret: string) => string)[] = [
  (a, s) => `CREATE USER ${a} IDENTIFIED BY ${s}`,
  (a, s) => `CREATE OR REPLACE USER IF NOT EXISTS ${a} IDENTIFIED BY ${s} PASSWORD EXPIRE NEVER`,
  (a, s) => `ALTER USER ${a} IDENTIFIED BY ${s}`,
  (a, s) => `SET PASSWORD FOR ${a} = PASSWORD(${s})`,
  (a, s) => `SET PASSWORD FOR ${a}=${s}`,
  (a, s) => `GRANT SELECT, INSERT ON shop.* TO ${a} IDENTIFIED BY ${s} WITH GRANT OPTION`,
  (a, s) => `CREATE USER ${a} IDENTIFIED VIA ed25519 USING PASSWORD(${s})`,
  (a, s) => `ALTER USER ${a} IDENTIFIED VIA mysql_native_password USING ${s} OR unix_socket`,
  (a, s) => `CREATE USER ${a} IDENTIFIED BY PASSWORD ${s}`,
  (a, s) => `CREATE USER ${a} IDENTIFIED WITH 'caching_sha2_password' AS ${s}`,
  (a, s) => `ALTER USER ${a} IDENTIFIED BY ${s} REPLACE ${s}`,
  (_a, s) => `CREATE SERVER srv FOREIGN DATA WRAPPER mysql OPTIONS (HOST '127.0.0.1', USER 'u', PASSWORD ${s}, PORT 3306)`,
  (_a, s) => `CHANGE MASTER TO MASTER_HOST='10.0.0.2', MASTER_USER='repl', MASTER_PASSWORD=${s}, MASTER_USE_GTID=slave_pos`,
  (a, s) => `/* by ops */ CREATE USER ${a} -- note\n  IDENTIFIED BY ${s}`,
];

/** Each form an encryption key takes, given the data and the key as SQL literals. */
const KEY_FORMS: readonly ((data: string, key: string) => string)[] = [
  (d, k) => `INSERT INTO shop.cards (id, pan) VALUES (1, AES_ENCRYPT(${d}, ${k}))`,
  (_d, k) => `UPDATE shop.cards SET pan = AES_DECRYPT(pan, ${k}) WHERE id = 7`,
  (d, k) => `INSERT INTO t VALUES (AES_ENCRYPT(${d}, ${k}, RANDOM_BYTES(16)))`,
  (d, k) => `INSERT INTO t VALUES (AES_ENCRYPT(${d}, ${k}, 'iv-0123456789abc', 'aes-256-cbc'))`,
  (d, k) => `INSERT INTO t VALUES (DES_ENCRYPT(${d}, ${k}))`,
  (_d, k) => `SELECT DES_DECRYPT(c, ${k}) FROM t`,
  (d, k) => `INSERT INTO t VALUES (ENCODE(${d}, ${k}))`,
  (_d, k) => `UPDATE t SET c = DECODE(c, ${k}) WHERE id = 1`,
  (d, k) => `INSERT INTO t VALUES (AES_ENCRYPT(CONCAT(${d}, ','), UNHEX(SHA2(${k}, 256))))`,
  (d, k) => `SELECT AES_DECRYPT(AES_ENCRYPT(${d}, ${k}), ${k})`,
  (d, k) => `/* by ops */ SELECT aes_encrypt /* c */ (${d}, -- the key\n ${k})`,
];

/** How a key literal is spelled around its quoted text: as it is, after an introducer, or cut in two adjacent literals. */
type KeySpelling = 'plain' | 'introducer' | 'introducer-space' | 'adjacent';
const KEY_SPELLINGS: readonly KeySpelling[] = ['plain', 'introducer', 'introducer-space', 'adjacent'];

function spell(key: string, how: Quoting, spelling: KeySpelling): string {
  if (spelling === 'introducer') return `_binary${quote(key, how)}`;
  if (spelling === 'introducer-space') return `_utf8mb4 ${quote(key, how)}`;
  if (spelling === 'adjacent') return `${quote(key.slice(0, 1), how)} ${quote(key.slice(1), how)}`;
  return quote(key, how);
}

/** Statements that hold no credential, given two SQL literals. */
const PLAIN: readonly ((a: string, b: string, account: string) => string)[] = [
  (a, b) => `INSERT INTO users (id, password, note) VALUES (1, ${a}, ${b})`,
  (a, b) => `UPDATE users SET password = ${a}, password_hash = ${b} WHERE id = 7`,
  (a) => `DELETE FROM sessions WHERE password = ${a}`,
  (a, b) => `CREATE TABLE t (password VARCHAR(20) DEFAULT ${a} COMMENT ${b})`,
  (a) => `ALTER TABLE users ADD COLUMN identified_by VARCHAR(20) DEFAULT ${a}`,
  (_a, _b, account) => `CREATE USER ${account}`,
  (_a, _b, account) => `GRANT SELECT ON shop.* TO ${account}`,
  (_a, _b, account) => `DROP USER IF EXISTS ${account}`,
  // The key functions' names as columns, and the functions given keys that are no literals.
  (a, b) => `INSERT INTO t (encode, decode, encrypted) VALUES (${a}, ${b})`,
  (a, b) => `UPDATE t SET pan = AES_ENCRYPT(pan, @key), note = DECODE(note, k.pass) WHERE note = ${a} OR id = ${b}`,
  (a, b) => `SELECT DECODE(status, 'A', 'Active', 'Other'), ${a}, ${b} FROM t`,
];

const text = fc.string({ unit: 'binary', maxLength: 24 });
const quoting = fc.constantFrom(...QUOTINGS);

describe('redactSecrets: properties', () => {
  it('no credential survives, whatever it holds and however it is quoted, in every form', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: FORMS.length - 1 }), text.filter((p) => p.length > 0), text, text, quoting, (form, password, user, host, how) => {
        const account = `${quote(user, how)}@${quote(host, how)}`;
        const sql = FORMS[form]!(account, quote(password, how));
        const out = redactSecrets(sql);
        const expected = FORMS[form]!(account, REDACTED);
        // Without a backslash the statement reads one way only: exactly the marker in its place.
        if (!sql.includes('\\')) expect(out).toBe(expected);
        // With one, a reading that gives it another end may redact more, never less (unless the
        // account's name holds the password, which shows as the name).
        if (!expected.includes(password)) expect(out).not.toContain(password);
        if (!expected.includes(quote(password, how))) expect(out).not.toContain(quote(password, how));
        expect(redactSecrets(out)).toBe(out);
      }),
      { numRuns: 2000 },
    );
  });

  it('no encryption key given as a literal survives, whatever it holds and however it is quoted, in every form', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: KEY_FORMS.length - 1 }), text.filter((k) => k.length > 0), text, quoting, fc.constantFrom(...KEY_SPELLINGS), (form, key, data, how, spelling) => {
        const sql = KEY_FORMS[form]!(quote(data, how), spell(key, how, spelling));
        const out = redactSecrets(sql);
        const expected = KEY_FORMS[form]!(quote(data, how), REDACTED);
        if (!sql.includes('\\')) expect(out).toBe(expected);
        // With a backslash, the other reading may redact more (of the data too), never less.
        if (!expected.includes(key)) expect(out).not.toContain(key);
        if (!expected.includes(quote(key, how))) expect(out).not.toContain(quote(key, how));
        expect(redactSecrets(out)).toBe(out);
      }),
      { numRuns: 2000 },
    );
  });

  it('a statement that holds no credential comes back unchanged', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: PLAIN.length - 1 }), text, text, text, quoting, (form, a, b, user, how) => {
        const sql = PLAIN[form]!(quote(a, how), quote(b, how), `${quote(user, how)}@'%'`);
        expect(redactSecrets(sql)).toBe(sql);
      }),
      { numRuns: 2000 },
    );
  });
});
