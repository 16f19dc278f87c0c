/**
 * TLS to the DR and to a live source (issue 6, point 6): a throwaway MariaDB started with
 * certificates made here with `openssl` (a CA, a server certificate naming 127.0.0.1, a client
 * certificate, and a second CA that signed none of them), and a plain one without TLS. Each
 * `--ssl-mode` against both, a client certificate for an account that REQUIRE X509, a certificate
 * that does not name the host (reloaded with FLUSH SSL), the option-file and command-line
 * spellings, `salvage doctor`'s TLS line, and a binlog dump through TLS from a server that refuses
 * anything else (require_secure_transport).
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConfigInit } from '../../src/cli/config-command.js';
import { runDoctor } from '../../src/cli/doctor-command.js';
import { runExplain } from '../../src/cli/explain-command.js';
import { runInspect } from '../../src/cli/inspect-command.js';
import { runQuarantine } from '../../src/cli/quarantine-command.js';
import { runReport } from '../../src/cli/report-command.js';
import { runResolve } from '../../src/cli/resolve-command.js';
import { runSalvageCommand } from '../../src/cli/salvage-command.js';
import { connectionFrom, parseOptionFile } from '../../src/cli/option-file.js';
import { UsageError } from '../../src/cli/usage-error.js';
import type { ConnectionTarget } from '../../src/db/connection-url.js';
import { readSessionTls } from '../../src/db/privileges.js';
import { openSession, SqlSessionErrorCode } from '../../src/db/sql-session.js';
import { revocationFailure, parseCrlPem } from '../../src/db/crl.js';
import { tlsSocketOptions, type TlsSettings } from '../../src/db/tls.js';
import { EngineError } from '../../src/errors.js';
import { salvage } from '../../src/pipeline/salvage.js';
import { readLiveTransactions } from '../../src/source/live-source.js';
import { Capture } from '../harness/capture.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

let dir = '';
let tls: MariadbServer;
let plain: MariadbServer;
const pem = (name: string): string => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A key and a certificate signed by `ca`, with these subjectAltNames. */
function signed(name: string, ca: string, altNames: string | null): void {
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  writeFileSync(pem(`${name}.ext`), altNames === null ? 'basicConstraints=CA:FALSE\n' : `subjectAltName=${altNames}\n`);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
}

function target(server: MariadbServer, settings?: TlsSettings, user = 'root'): ConnectionTarget {
  return { ...server.target, user, redacted: `mysql://${user}@127.0.0.1:${server.port}`, ...(settings === undefined ? {} : { tls: settings }) };
}

/** Connects, and says whether the session is encrypted and with which cipher. */
async function connectWith(t: ConnectionTarget): Promise<{ encrypted: boolean | undefined; cipher: string | null }> {
  const s = await openSession(t);
  try {
    return { encrypted: s.encrypted, cipher: (await readSessionTls(s))?.cipher ?? null };
  } finally {
    await s.end();
  }
}

async function failure(t: ConnectionTarget): Promise<EngineError> {
  try {
    await (await openSession(t)).end();
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('expected the connection to fail');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'salvage-tls-'));
  for (const ca of ['ca', 'other-ca']) openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=salvage test ${ca}`);
  signed('server', 'ca', 'IP:127.0.0.1');
  signed('elsewhere', 'ca', 'DNS:db.example');
  signed('client', 'ca', null);
  // The server reads these paths again on FLUSH SSL: the test swaps the certificate under them.
  copyFileSync(pem('server.pem'), pem('live.pem'));
  copyFileSync(pem('server.key'), pem('live.key'));
  // Revocation lists, made with `openssl ca`: each CA's with nothing revoked, then the CA's with the server's certificate on it.
  for (const ca of ['ca', 'other-ca']) {
    mkdirSync(pem(`${ca}-db`));
    writeFileSync(pem(`${ca}-db/index.txt`), '');
    writeFileSync(pem(`${ca}-db/crlnumber`), '01\n');
    writeFileSync(pem(`${ca}-db/ca.cnf`), `[ca]\ndefault_ca=d\n[d]\ndatabase=${pem(`${ca}-db/index.txt`)}\ncrlnumber=${pem(`${ca}-db/crlnumber`)}\ndefault_md=sha256\ndefault_crl_days=2\n`);
    openssl('ca', '-config', `${ca}-db/ca.cnf`, '-keyfile', `${ca}.key`, '-cert', `${ca}.pem`, '-gencrl', '-out', `${ca}-empty.crl`);
  }
  openssl('ca', '-config', 'ca-db/ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-revoke', 'server.pem');
  openssl('ca', '-config', 'ca-db/ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-gencrl', '-out', 'revoked.crl');
  // --ssl-capath and --ssl-crlpath directories; a file that holds neither is passed over.
  for (const [d, files] of [['capath-ca', ['ca.pem']], ['capath-other', ['other-ca.pem']], ['crlpath-revoked', ['revoked.crl']]] as const) {
    mkdirSync(pem(d));
    for (const f of files) copyFileSync(pem(f), pem(`${d}/${f}`));
    writeFileSync(pem(`${d}/README`), 'not a certificate\n');
  }
  mkdirSync(pem('empty-dir'));
  [tls, plain] = await Promise.all([
    startMariadb({ name: 'tls', extraArgs: [`--ssl-ca=${pem('ca.pem')}`, `--ssl-cert=${pem('live.pem')}`, `--ssl-key=${pem('live.key')}`] }),
    startMariadb({ name: 'tls-plain' }),
  ]);
  await tls.query("CREATE USER x509user@'127.0.0.1' REQUIRE X509");
  await tls.query("GRANT SELECT ON *.* TO x509user@'127.0.0.1'");
}, 120_000);

afterAll(async () => {
  await Promise.all([tls?.stop(), plain?.stop()]);
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('--ssl-mode against a server with TLS and one without', () => {
  it('the server offers TLS', async () => {
    expect(await tls.query("SHOW GLOBAL VARIABLES LIKE 'have_ssl'")).toEqual([{ Variable_name: 'have_ssl', Value: 'YES' }]);
  });

  it('PREFERRED, the default: encrypted when the server offers TLS, a plain connection when it does not', async () => {
    expect(await connectWith(target(tls))).toMatchObject({ encrypted: true, cipher: expect.stringMatching(/^TLS_|^ECDHE-/) as unknown });
    expect(await connectWith(target(tls, { mode: 'PREFERRED' }))).toMatchObject({ encrypted: true });
    expect(await connectWith(target(plain))).toEqual({ encrypted: false, cipher: null });
  });

  it('DISABLED: plain even where TLS is offered', async () => {
    expect(await connectWith(target(tls, { mode: 'DISABLED' }))).toEqual({ encrypted: false, cipher: null });
  });

  it('REQUIRED: encrypted, certificate unchecked; a server without TLS is refused with what to do', async () => {
    expect(await connectWith(target(tls, { mode: 'REQUIRED' }))).toMatchObject({ encrypted: true });
    const e = await failure(target(plain, { mode: 'REQUIRED' }));
    expect([e.code, e.retryable, e.message]).toEqual([
      SqlSessionErrorCode.Tls,
      false,
      `cannot connect to mysql://root@127.0.0.1:${plain.port}: the server offers no TLS (have_ssl is not YES) and --ssl-mode is REQUIRED: configure ssl_cert and ssl_key on the server, or connect with --ssl-mode PREFERRED or DISABLED`,
    ]);
  });

  it('VERIFY_CA: the CA that signed the certificate passes; another CA is refused, saying so', async () => {
    expect(await connectWith(target(tls, { mode: 'VERIFY_CA', ca: pem('ca.pem') }))).toMatchObject({ encrypted: true });
    const e = await failure(target(tls, { mode: 'VERIFY_CA', ca: pem('other-ca.pem') }));
    expect([e.code, e.retryable]).toEqual([SqlSessionErrorCode.Tls, false]);
    expect(e.message).toBe(
      `cannot connect to mysql://root@127.0.0.1:${tls.port}: TLS: the server's certificate is not signed by the CA in --ssl-ca (${pem('other-ca.pem')}) (--ssl-mode VERIFY_CA): give the CA that signed the server's certificate; self-signed certificate in certificate chain`,
    );
  });

  it('VERIFY_IDENTITY: the certificate must also name the host; one for another name is refused (VERIFY_CA still takes it)', async () => {
    expect(await connectWith(target(tls, { mode: 'VERIFY_IDENTITY', ca: pem('ca.pem') }))).toMatchObject({ encrypted: true });
    copyFileSync(pem('elsewhere.pem'), pem('live.pem'));
    copyFileSync(pem('elsewhere.key'), pem('live.key'));
    await tls.query('FLUSH SSL');
    try {
      const e = await failure(target(tls, { mode: 'VERIFY_IDENTITY', ca: pem('ca.pem') }));
      expect([e.code, e.message]).toEqual([
        SqlSessionErrorCode.Tls,
        `cannot connect to mysql://root@127.0.0.1:${tls.port}: TLS: the server's certificate does not name the host connected to (--ssl-mode VERIFY_IDENTITY): connect by a name the certificate holds, or use VERIFY_CA; Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: `,
      ]);
      expect(await connectWith(target(tls, { mode: 'VERIFY_CA', ca: pem('ca.pem') }))).toMatchObject({ encrypted: true });
    } finally {
      copyFileSync(pem('server.pem'), pem('live.pem'));
      copyFileSync(pem('server.key'), pem('live.key'));
      await tls.query('FLUSH SSL');
    }
  });

  it('--ssl-cert and --ssl-key: an account that REQUIRE X509 gets in with the client certificate, and not without', async () => {
    const withCert: TlsSettings = { mode: 'VERIFY_CA', ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client.key') };
    expect(await connectWith(target(tls, withCert, 'x509user'))).toMatchObject({ encrypted: true });
    const e = await failure(target(tls, { mode: 'VERIFY_CA', ca: pem('ca.pem') }, 'x509user'));
    expect([e.code, e.details.errno]).toEqual([SqlSessionErrorCode.Connect, 1045]);
  });
});

describe('the options, as the mysql client spells them', () => {
  it('reads ssl-mode, ssl-ca, ssl-cert, ssl-key and MariaDB’s ssl, skip-ssl, ssl-verify-server-cert from option files', () => {
    expect(parseOptionFile('[client]\nssl-mode = VERIFY_CA\nssl_ca=/etc/ca.pem\nssl-cert="/c.pem"\nssl-key=/k.pem\n')).toEqual({ sslMode: 'VERIFY_CA', sslCa: '/etc/ca.pem', sslCert: '/c.pem', sslKey: '/k.pem' });
    expect(parseOptionFile('[client]\nssl\n')).toEqual({ sslMode: 'REQUIRED' });
    expect(parseOptionFile('[client]\nssl=0\n')).toEqual({ sslMode: 'DISABLED' });
    expect(parseOptionFile('[client]\nskip-ssl\n')).toEqual({ sslMode: 'DISABLED' });
    expect(parseOptionFile('[mariadb-client]\nssl-verify-server-cert\n')).toEqual({ sslMode: 'VERIFY_IDENTITY' });
  });

  it('flags win over the option file; a CA without a mode means VERIFY_CA; nothing means PREFERRED', () => {
    const cnf = pem('my.cnf');
    writeFileSync(cnf, `[client]\nssl-mode=REQUIRED\nssl-ca=${pem('other-ca.pem')}\n`);
    const url = `mysql://root@127.0.0.1:${tls.port}`;
    expect(connectionFrom(url, undefined, cnf, {}, undefined).tls).toEqual({ mode: 'REQUIRED', ca: pem('other-ca.pem') });
    expect(connectionFrom(url, undefined, cnf, {}, undefined, '--target', { mode: 'verify_ca', ca: pem('ca.pem') }).tls).toEqual({ mode: 'VERIFY_CA', ca: pem('ca.pem') });
    expect(connectionFrom(url, undefined, undefined, {}, undefined, '--target', { ca: pem('ca.pem') }).tls).toEqual({ mode: 'VERIFY_CA', ca: pem('ca.pem') });
    expect(connectionFrom(url, undefined, undefined, {}, undefined).tls).toEqual({ mode: 'PREFERRED' });
  });

  it('refuses what does not go together, naming the option (exit 2)', () => {
    const url = 'mysql://root@127.0.0.1:3399';
    const usage = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        if (e instanceof UsageError) return `${String(e.details.option)}: ${e.message}`;
        throw e;
      }
      throw new Error('expected a UsageError');
    };
    expect(usage(() => connectionFrom(url, undefined, undefined, {}, undefined, '--target', { mode: 'STRICT' }))).toBe(
      '--ssl-mode: --ssl-mode takes DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY, got "STRICT"',
    );
    expect(usage(() => connectionFrom(url, undefined, undefined, {}, undefined, '--source', { mode: 'VERIFY_IDENTITY' }))).toBe(
      "--source-ssl-ca: --source-ssl-mode VERIFY_IDENTITY checks the server's certificate against a CA: give it with --source-ssl-ca FILE (or --source-ssl-capath DIR)",
    );
    expect(usage(() => connectionFrom(url, undefined, undefined, {}, undefined, '--target', { mode: 'DISABLED', ca: pem('ca.pem') }))).toBe(
      '--ssl-mode: --ssl-mode DISABLED turns TLS off: leave out --ssl-ca, or choose another mode',
    );
    expect(usage(() => connectionFrom(url, undefined, undefined, {}, undefined, '--target', { cert: pem('client.pem') }))).toBe(
      '--ssl-key: a client certificate needs its key: give both --ssl-cert and --ssl-key',
    );
    expect(usage(() => connectionFrom(url, undefined, undefined, {}, undefined, '--target', { ca: pem('missing.pem') }))).toMatch(
      new RegExp(`^--ssl-ca: --ssl-ca: cannot read ${pem('missing.pem').replace(/[.]/g, '\\.')}: ENOENT`),
    );
  });
});

describe('salvage doctor', () => {
  async function doctorTlsLine(args: string[]): Promise<string> {
    const out = new Capture();
    await runDoctor(['--target', `mysql://root@127.0.0.1:${tls.port}`, ...args], out, new Capture(), { env: {}, home: undefined, isTty: false });
    return out.text.split('\n').find((l) => l.includes('TLS:'))!.trim();
  }

  it('reports the protocol and cipher, and whether the certificate was checked', async () => {
    const s = await openSession(target(tls, { mode: 'VERIFY_CA', ca: pem('ca.pem') }));
    const used = await readSessionTls(s);
    await s.end();
    expect(used).not.toBeNull();
    expect(await doctorTlsLine(['--ssl-mode', 'VERIFY_CA', '--ssl-ca', pem('ca.pem')])).toBe(
      `✔ TLS: encrypted (${used!.version} ${used!.cipher}), server certificate checked against ${pem('ca.pem')} (--ssl-mode VERIFY_CA)`,
    );
    expect(await doctorTlsLine([])).toBe(`✔ TLS: encrypted (${used!.version} ${used!.cipher}), server certificate not checked (--ssl-mode PREFERRED)`);
    expect(await doctorTlsLine(['--ssl-mode', 'DISABLED'])).toBe('✔ TLS: not encrypted: --ssl-mode DISABLED (a loopback connection: nothing crosses the network)');
  });
});

describe('the review commands and config init take the DR\'s TLS flags', () => {
  // x509user is REQUIRE X509: only a connection with the client certificate gets in.
  const url = (): string => `mysql://x509user@127.0.0.1:${tls.port}`;
  const certs = (): string[] => ['--ssl-mode', 'VERIFY_CA', '--ssl-ca', pem('ca.pem'), '--ssl-cert', pem('client.pem'), '--ssl-key', pem('client.key')];
  const env = { env: {}, home: undefined, isTty: false };
  /** The command's exit code, or the error it threw. */
  async function outcome(run: () => Promise<number>): Promise<number | { code: string; errno: unknown }> {
    try {
      return await run();
    } catch (e) {
      if (e instanceof EngineError) return { code: e.code, errno: e.details['errno'] };
      throw e;
    }
  }
  const commands: [string, (extra: string[]) => Promise<number>][] = [
    ['quarantine list', (extra) => runQuarantine(['list', '--target', url(), ...extra], new Capture(), new Capture(), env)],
    ['report', (extra) => runReport(['--target', url(), ...extra], new Capture(), new Capture(), env)],
    ['explain', (extra) => runExplain(['--target', url(), '0-1-1', ...extra], new Capture(), new Capture(), env)],
    ['resolve', (extra) => runResolve(['--target', url(), pem('decisions.jsonl'), ...extra], new Capture(), new Capture(), env)],
  ];

  it.each(commands)('%s: in with the client certificate (then told the DR has no state schema), refused without it', async (_name, run) => {
    writeFileSync(pem('decisions.jsonl'), '');
    expect(await outcome(() => run(certs()))).toEqual({ code: 'REVIEW_NO_STATE', errno: undefined });
    expect(await outcome(() => run([]))).toEqual({ code: SqlSessionErrorCode.Connect, errno: 1045 });
  });

  it('config init: writes the starting file with the client certificate, refused without it', async () => {
    await tls.query('CREATE DATABASE IF NOT EXISTS tlsinit');
    await tls.query('CREATE TABLE IF NOT EXISTS tlsinit.t (id INT PRIMARY KEY)');
    const out = new Capture();
    expect(await runConfigInit(['--target', url(), '--schemas', 'tlsinit', ...certs()], out, new Capture(), env)).toBe(0);
    expect(out.text).toContain('"tlsinit.t"');
    expect(await outcome(() => runConfigInit(['--target', url(), '--schemas', 'tlsinit'], new Capture(), new Capture(), env))).toEqual({ code: SqlSessionErrorCode.Connect, errno: 1045 });
  });
});

describe('a live source through TLS', () => {
  beforeAll(async () => {
    await tls.query('CREATE DATABASE IF NOT EXISTS lv');
    await tls.query('CREATE TABLE lv.t (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB');
    await tls.query("INSERT INTO lv.t VALUES (1, 'a'), (2, 'b')");
    // From here on the server takes no plain connection: a dump that did not use TLS would fail.
    await tls.query('SET GLOBAL require_secure_transport = ON');
  });
  afterAll(async () => {
    await tls.query('SET GLOBAL require_secure_transport = OFF');
  });

  it('the dump connection uses TLS as the source options ask (and the server refuses it plain)', async () => {
    const t = target(tls, { mode: 'VERIFY_CA', ca: pem('ca.pem') });
    const control = await openSession(t);
    try {
      let inserts = 0;
      for await (const batch of readLiveTransactions(t, { control, tls: tlsSocketOptions(t.tls, control.encrypted, t.host) })) {
        for (const item of batch.items) if (item.kind === 'transaction') inserts += item.tx.changes.filter((c) => c.op === 'insert').length;
      }
      expect(inserts).toBe(2);
      const plainDump = readLiveTransactions(t, { control, tls: null });
      await expect(plainDump.next()).rejects.toThrow(`cannot start reading binlogs from mysql://root@127.0.0.1:${tls.port}`);
    } finally {
      await control.end();
    }
  });

  it('plan --source over TLS reads the server and decides against the DR (here the same server: all already there)', async () => {
    const t = target(tls, { mode: 'REQUIRED' });
    const report = await salvage({ mode: 'plan', source: { target: t }, target: t, start: { kind: 'from-gtid', set: '' }, ddl: 'skip' });
    expect(report.source).toMatchObject({ kind: 'live' });
    // The CREATE TABLE left out by --ddl skip counts under the table it creates.
    expect(report.counts['lv.t']).toEqual({ ddl: { skipped: 1 }, 'already-applied': { skipped: 2 } });
  });

  it('inspect --source takes --source-ssl-mode: REQUIRED reads the server, DISABLED is refused by it', async () => {
    const run = async (mode: string): Promise<{ code: number | string; out: string }> => {
      const out = new Capture();
      try {
        return { code: await runInspect(['--source', `mysql://root@127.0.0.1:${tls.port}`, '--source-ssl-mode', mode, '--json', '--quiet'], out, new Capture(), {}), out: out.text };
      } catch (e) {
        return { code: e instanceof EngineError ? e.code : String(e), out: out.text };
      }
    };
    const required = await run('REQUIRED');
    expect(required.code).toBe(0);
    expect(required.out).toContain('"schema":"lv","table":"t"');
    expect((await run('DISABLED')).code).toBe(SqlSessionErrorCode.Connect);
  });

  it('the DR\'s own binlog read live (--dr-source) is dumped over TLS too', async () => {
    const t = target(tls, { mode: 'REQUIRED' });
    // The DR's history is read from the same server: it created the two rows the plan meets, as
    // its own, so each lost insert meets another record at its key, even with the same values
    // (insert-pk-taken; without a history they are already-applied, as above). Source and DR being
    // one server, the lost transactions carry the DR's own server id: the failover point is given
    // (DR_HISTORY_FAILOVER_NEEDED otherwise), here before everything, so all of it is the DR's own.
    const report = await salvage({ mode: 'plan', source: { target: t }, target: t, start: { kind: 'from-gtid', set: '' }, ddl: 'skip', drSource: { target: t }, failoverAt: { kind: 'time', seconds: 1 } });
    expect(report.counts['lv.t']).toEqual({ ddl: { skipped: 1 }, 'insert-pk-taken': { quarantined: 2 } });
    expect([report.withoutHistory, report.history?.complete]).toEqual([false, true]);
  });
});

describe('--ssl-capath, --ssl-cipher, --ssl-crl, --ssl-crlpath and --tls-version, as the mysql client names them', () => {
  const url = (): string => `mysql://root@127.0.0.1:${tls.port}`;
  /** The DR's connection built from these flags, as a command builds it. */
  const dr = (flags: Parameters<typeof connectionFrom>[6]): ConnectionTarget => connectionFrom(url(), undefined, undefined, {}, undefined, '--target', flags);
  /** The session's Ssl_version and Ssl_cipher, as the server reports them. */
  async function sslStatus(t: ConnectionTarget): Promise<Record<string, string>> {
    const s = await openSession(t);
    try {
      const { rows } = await s.query("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')");
      return Object.fromEntries(rows.map((r) => [String(r['Variable_name']), String(r['Value'])]));
    } finally {
      await s.end();
    }
  }

  it('--ssl-capath: a directory holding the CA verifies (VERIFY_CA by default), one without it is refused, saying which', async () => {
    const good = dr({ capath: pem('capath-ca') });
    expect(good.tls).toEqual({ mode: 'VERIFY_CA', capath: pem('capath-ca') });
    expect(await connectWith(good)).toMatchObject({ encrypted: true });
    const e = await failure(dr({ capath: pem('capath-other') }));
    expect([e.code, e.retryable, e.message]).toEqual([
      SqlSessionErrorCode.Tls,
      false,
      `cannot connect to mysql://root@127.0.0.1:${tls.port}: TLS: the server's certificate is not signed by the CAs in --ssl-capath (${pem('capath-other')}) (--ssl-mode VERIFY_CA): give the CA that signed the server's certificate; self-signed certificate in certificate chain`,
    ]);
  });

  it('--tls-version: TLSv1.3 alone gives a TLSv1.3 session, TLSv1.2 alone a TLSv1.2 one', async () => {
    expect((await sslStatus(dr({ mode: 'REQUIRED', tlsVersion: 'TLSv1.3' })))['Ssl_version']).toBe('TLSv1.3');
    expect((await sslStatus(dr({ mode: 'REQUIRED', tlsVersion: 'tlsv1.2' })))['Ssl_version']).toBe('TLSv1.2');
  });

  it('--ssl-cipher with --tls-version TLSv1.2: the session uses the cipher asked for', async () => {
    for (const cipher of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384']) {
      expect(await sslStatus(dr({ ca: pem('ca.pem'), cipher, tlsVersion: 'TLSv1.2' }))).toEqual({ Ssl_version: 'TLSv1.2', Ssl_cipher: cipher });
    }
  });

  it('--ssl-crl: a list without the server certificate passes; one revoking it, or from another CA, fails with DB_TLS', async () => {
    expect(await connectWith(dr({ ca: pem('ca.pem'), crl: pem('ca-empty.crl') }))).toMatchObject({ encrypted: true });
    const revoked = await failure(dr({ ca: pem('ca.pem'), crl: pem('revoked.crl') }));
    expect([revoked.code, revoked.retryable]).toEqual([SqlSessionErrorCode.Tls, false]);
    expect(revoked.message).toMatch(
      new RegExp(
        `^cannot connect to mysql://root@127\\.0\\.0\\.1:${tls.port}: TLS: the server's certificate fails the revocation check against --ssl-crl \\(${esc(pem('revoked.crl'))}\\) \\(--ssl-mode VERIFY_CA\\); certificate revoked: CN=server \\(serial [0-9A-F]+\\) is on the revocation list in ${esc(pem('revoked.crl'))}$`,
      ),
    );
    const other = await failure(dr({ ca: pem('ca.pem'), crl: pem('other-ca-empty.crl') }));
    expect([other.code, other.message]).toEqual([
      SqlSessionErrorCode.Tls,
      `cannot connect to mysql://root@127.0.0.1:${tls.port}: TLS: the server's certificate fails the revocation check against --ssl-crl (${pem('other-ca-empty.crl')}) (--ssl-mode VERIFY_CA); unable to get certificate CRL: no revocation list from the issuer of CN=server (serial ${revoked.message.match(/serial ([0-9A-F]+)/)![1]})`,
    ]);
  });

  it('--source-ssl-crlpath: the lists of a directory, for a live source (and the prefix in the message)', async () => {
    const source = connectionFrom(url(), undefined, undefined, {}, undefined, '--source', { ca: pem('ca.pem'), crlpath: pem('crlpath-revoked') });
    expect(source.tls).toEqual({ mode: 'VERIFY_CA', ca: pem('ca.pem'), crlpath: pem('crlpath-revoked'), flagPrefix: '--source-' });
    const e = await failure(source);
    expect([e.code, e.message.split(';')[0]]).toEqual([
      SqlSessionErrorCode.Tls,
      `cannot connect to mysql://root@127.0.0.1:${tls.port}: TLS: the server's certificate fails the revocation check against --source-ssl-crlpath (${pem('crlpath-revoked')}) (--source-ssl-mode VERIFY_CA)`,
    ]);
  });

  it('reads ssl-capath, ssl-cipher, ssl-crl, ssl-crlpath and tls-version from option files, for every connection; flags win', () => {
    expect(parseOptionFile('[client]\nssl-capath=/etc/cas\nssl_cipher=ECDHE-RSA-AES128-GCM-SHA256\nssl-crl="/c.crl"\nssl-crlpath=/crls\ntls_version=TLSv1.2,TLSv1.3\n')).toEqual({
      sslCapath: '/etc/cas',
      sslCipher: 'ECDHE-RSA-AES128-GCM-SHA256',
      sslCrl: '/c.crl',
      sslCrlpath: '/crls',
      tlsVersion: 'TLSv1.2,TLSv1.3',
    });
    const cnf = pem('more.cnf');
    writeFileSync(cnf, `[client]\nssl-capath=${pem('capath-ca')}\nssl-cipher=ECDHE-RSA-AES128-GCM-SHA256\nssl-crl=${pem('ca-empty.crl')}\nssl-crlpath=${pem('crlpath-revoked')}\ntls-version=TLSv1.3,TLSv1.2\n`);
    const fromFile = { capath: pem('capath-ca'), cipher: 'ECDHE-RSA-AES128-GCM-SHA256', crl: pem('ca-empty.crl'), crlpath: pem('crlpath-revoked'), tlsVersions: ['TLSv1.2', 'TLSv1.3'] };
    const tlsOf = (option: '--target' | '--source' | '--schema-from', flags = {}): unknown => connectionFrom(url(), undefined, cnf, {}, undefined, option, flags).tls;
    expect(tlsOf('--target')).toEqual({ mode: 'VERIFY_CA', ...fromFile });
    expect(tlsOf('--source')).toEqual({ mode: 'VERIFY_CA', ...fromFile, flagPrefix: '--source-' });
    expect(tlsOf('--schema-from')).toEqual({ mode: 'VERIFY_CA', ...fromFile, flagPrefix: '--schema-' });
    expect(tlsOf('--schema-from', { capath: pem('capath-other'), cipher: 'ECDHE-RSA-AES256-GCM-SHA384', crl: pem('revoked.crl'), tlsVersion: 'TLSv1.3' })).toEqual({
      ...fromFile,
      mode: 'VERIFY_CA',
      capath: pem('capath-other'),
      cipher: 'ECDHE-RSA-AES256-GCM-SHA384',
      crl: pem('revoked.crl'),
      tlsVersions: ['TLSv1.3'],
      flagPrefix: '--schema-',
    });
  });

  it('refuses what cannot be read or used, naming the option and the path (exit 2)', () => {
    const usage = (option: '--target' | '--source' | '--schema-from', flags: Parameters<typeof connectionFrom>[6]): string => {
      try {
        connectionFrom(url(), undefined, undefined, {}, undefined, option, flags);
      } catch (e) {
        if (e instanceof UsageError) return `${String(e.details.option)}: ${e.message}`;
        throw e;
      }
      throw new Error('expected a UsageError');
    };
    const missing = pem('missing');
    expect(usage('--source', { capath: missing })).toBe(`--source-ssl-capath: --source-ssl-capath: cannot read the directory ${missing}: ENOENT: no such file or directory, scandir '${missing}'`);
    expect(usage('--target', { capath: pem('empty-dir') })).toBe(`--ssl-capath: --ssl-capath: no PEM certificate (-----BEGIN CERTIFICATE-----) in ${pem('empty-dir')}`);
    expect(usage('--schema-from', { ca: pem('ca.pem'), crl: missing })).toBe(`--schema-ssl-crl: --schema-ssl-crl: cannot read ${missing}: ENOENT: no such file or directory, open '${missing}'`);
    expect(usage('--target', { ca: pem('ca.pem'), crl: pem('ca.pem') })).toBe(
      `--ssl-crl: --ssl-crl: cannot read a revocation list from ${pem('ca.pem')}: no PEM revocation list (-----BEGIN X509 CRL-----) in it`,
    );
    expect(usage('--source', { ca: pem('ca.pem'), crlpath: missing })).toBe(`--source-ssl-crlpath: --source-ssl-crlpath: cannot read the directory ${missing}: ENOENT: no such file or directory, scandir '${missing}'`);
    expect(usage('--target', { ca: pem('ca.pem'), crlpath: pem('capath-ca') })).toBe(`--ssl-crlpath: --ssl-crlpath: no PEM revocation list (-----BEGIN X509 CRL-----) in ${pem('capath-ca')}`);
    expect(usage('--target', { tlsVersion: 'TLSv1.4' })).toBe('--tls-version: --tls-version: TLSv1.4 is not a TLS version Node supports (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)');
    expect(usage('--source', { tlsVersion: 'TLSv1.1,TLSv1.3' })).toBe(
      '--source-tls-version: --source-tls-version TLSv1.1,TLSv1.3: Node allows a range of versions, and this one leaves out TLSv1.2: list it too, or leave out the versions around it',
    );
    expect(usage('--schema-from', { cipher: 'NO-SUCH-CIPHER' })).toMatch(/^--schema-ssl-cipher: --schema-ssl-cipher NO-SUCH-CIPHER: .*no cipher match/i);
    expect(usage('--target', { mode: 'REQUIRED', crl: pem('ca-empty.crl') })).toBe(
      "--ssl-crl: --ssl-crl checks the server's certificate, which --ssl-mode REQUIRED does not check: use VERIFY_CA or VERIFY_IDENTITY with --ssl-ca",
    );
    expect(usage('--target', { mode: 'DISABLED', capath: pem('capath-ca'), tlsVersion: 'TLSv1.3' })).toBe(
      '--ssl-mode: --ssl-mode DISABLED turns TLS off: leave out --ssl-capath and --tls-version, or choose another mode',
    );
  });

  it('every command takes the flags with its prefixes (an unknown flag would be a different usage error)', async () => {
    const env = { env: {}, home: undefined, isTty: false };
    const message = async (run: () => Promise<number>): Promise<string> => {
      try {
        await run();
      } catch (e) {
        if (e instanceof UsageError) return e.message;
        throw e;
      }
      throw new Error('expected a UsageError');
    };
    const missing = pem('missing');
    expect(await message(() => runInspect(['--schema-tls-version', 'TLSv1.3', pem('x.bin')], new Capture(), new Capture(), {}))).toBe('--schema-tls-version goes with --schema-from URL');
    expect(await message(() => runInspect(['--source-ssl-crlpath', missing, pem('x.bin')], new Capture(), new Capture(), {}))).toBe('--source-ssl-crlpath goes with --source URL');
    expect(await message(() => runInspect(['--source', url(), '--source-ssl-capath', missing], new Capture(), new Capture(), {}))).toMatch(/^--source-ssl-capath: cannot read the directory /);
    expect(await message(() => runInspect(['--schema-from', url(), '--schema-ssl-cipher', 'NOPE', pem('x.bin')], new Capture(), new Capture(), {}))).toMatch(/^--schema-ssl-cipher NOPE: /);
    expect(await message(() => runSalvageCommand('plan', ['--binlog', pem('x.bin'), '--target', url(), '--source-ssl-cipher', 'X'], new Capture(), new Capture(), env))).toBe('--source-ssl-cipher goes with --source URL');
    expect(await message(() => runSalvageCommand('apply', ['--source', url(), '--target', url(), '--ssl-crl', missing, '--ssl-ca', pem('ca.pem')], new Capture(), new Capture(), env))).toMatch(/^--ssl-crl: cannot read /);
    expect(await message(() => runSalvageCommand('plan', ['--source', url(), '--target', url(), '--source-tls-version', 'SSLv3'], new Capture(), new Capture(), env))).toMatch(/^--source-tls-version: SSLv3 is not/);
    expect(await message(() => runDoctor(['--target', url(), '--source', url(), '--source-ssl-crlpath', missing, '--source-ssl-ca', pem('ca.pem')], new Capture(), new Capture(), env))).toMatch(/^--source-ssl-crlpath: cannot read the directory /);
    expect(await message(() => runDoctor(['--target', url(), '--tls-version', 'TLSv9'], new Capture(), new Capture(), env))).toMatch(/^--tls-version: TLSv9 is not/);
    expect(await message(() => runQuarantine(['list', '--target', url(), '--ssl-capath', missing], new Capture(), new Capture(), env))).toMatch(/^--ssl-capath: cannot read the directory /);
    expect(await message(() => runConfigInit(['--target', url(), '--ssl-cipher', 'NOPE'], new Capture(), new Capture(), env))).toMatch(/^--ssl-cipher NOPE: /);
  });

  it('the revocation check, as OpenSSL makes it: a list out of its dates, or not signed by the issuer, fails', () => {
    const der = (f: string): Buffer => new X509Certificate(readFileSync(pem(f))).raw;
    const root = { raw: der('ca.pem') } as { raw: Buffer; issuerCertificate?: unknown };
    root.issuerCertificate = root; // Node links a root to itself
    const chain = { raw: der('server.pem'), issuerCertificate: root as { raw: Buffer } };
    const [list] = parseCrlPem(readFileSync(pem('ca-empty.crl'), 'utf8'), 'ca-empty.crl');
    expect(revocationFailure(chain, [list!])).toBeNull();
    const before = new Date(list!.thisUpdate.getTime() - 1000);
    expect(revocationFailure(chain, [list!], before)).toBe(`CRL is not yet valid: ca-empty.crl starts at ${list!.thisUpdate.toISOString()}`);
    const after = new Date(list!.nextUpdate!.getTime() + 1000);
    expect(revocationFailure(chain, [list!], after)).toBe(`CRL has expired: ca-empty.crl was due for renewal at ${list!.nextUpdate!.toISOString()}`);
    // The same list with one byte of its signed part changed: the issuer's key no longer verifies it.
    const forged = { ...list!, tbs: Buffer.from(list!.tbs).fill(0x41, list!.tbs.length - 1) };
    expect(revocationFailure(chain, [forged])).toMatch(/^CRL signature failure: the revocation list in ca-empty\.crl is not signed by the issuer of CN=server \(serial [0-9A-F]+\)$/);
    // Without a link to its issuer (a chain Node could not complete), nothing is taken as checked.
    expect(revocationFailure({ raw: der('server.pem') }, [list!])).toMatch(/^unable to get issuer certificate of CN=server/);
  });

  it('salvage doctor says the CA directory and revocation lists it checked against', async () => {
    const out = new Capture();
    await runDoctor(['--target', url(), '--ssl-capath', pem('capath-ca'), '--ssl-crl', pem('ca-empty.crl'), '--tls-version', 'TLSv1.3'], out, new Capture(), { env: {}, home: undefined, isTty: false });
    expect(out.text.split('\n').find((l) => l.includes('TLS:'))!.trim()).toMatch(
      new RegExp(`^✔ TLS: encrypted \\(TLSv1\\.3 TLS_\\w+\\), server certificate checked against ${esc(pem('capath-ca'))} and the revocation lists \\(--ssl-mode VERIFY_CA\\)$`),
    );
  });
});

function esc(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
