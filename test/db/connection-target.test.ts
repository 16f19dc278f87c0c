/**
 * Connection URLs and option files as a DBA writes them: percent escapes, IPv6 literals, the
 * option file's host, port and socket, and a real connection through a Unix socket.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectionFrom } from '../../src/cli/option-file.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { parseConnectionUrl, redactUrlArgument } from '../../src/db/connection-url.js';
import { openSession } from '../../src/db/sql-session.js';
import { withMariadb } from '../harness/mariadb-server.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

async function withOptionFile<T>(text: string, fn: (path: string) => Promise<T> | T): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'salvage-cnf-'));
  try {
    const path = join(dir, 'my.cnf');
    await writeFile(path, text);
    return await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('connection URLs', () => {
  it('a % that is not a %XX escape (password, user, database) is bad input naming the option, with the %25 hint', () => {
    for (const url of ['mysql://sv:p%zz@127.0.0.1:3306', 'mysql://s%v@127.0.0.1:3306', 'mysql://root@127.0.0.1:3306/sh%zzop']) {
      const e = thrown(() => parseConnectionUrl(url, '--target'));
      expect(exitCodeFor(e)).toBe(2);
      expect((e as Error).message).toMatch(/^--target: .*write % as %25/);
      expect((e as Error).message).not.toContain('zz@');
    }
    expect(parseConnectionUrl('mysql://sv:p%25zz@127.0.0.1:3306', '--target').password).toBe('p%zz');
  });

  it('a password holding / # ? that breaks the URL gets the percent-encoding hint, and never shows', () => {
    const e = thrown(() => parseConnectionUrl('mysql://sv:se#cret@127.0.0.1:3306', '--target'));
    expect(exitCodeFor(e)).toBe(2);
    expect((e as Error).message).toMatch(/percent-encode .*--target-password-env/);
    expect((e as Error).message).not.toContain('se#cret');
  });

  it('a URL that does not parse never shows its password: spaces, @, a % error, or no host at all', () => {
    const cases: [url: string, secret: string[], shown: string][] = [
      // A space keeps the free-text redact() from reaching the '@': the argument is one URL all the same.
      ['mysql://sv:Amber Quartz#7@127.0.0.1:3306', ['Amber', 'Quartz'], '"mysql://sv:***@127.0.0.1:3306"'],
      ['mysql://sv:Amber@Quartz Ember#7@127.0.0.1:3306', ['Amber', 'Quartz', 'Ember'], '"mysql://sv:***@127.0.0.1:3306"'],
      ['mysql://sv:Amber Qu%zzartz@127.0.0.1:3306', ['Amber', 'Qu%zz'], '"mysql://sv:***@127.0.0.1:3306"'],
      // No '@': the host was forgotten, so what follows the ':' may be the password.
      ['mysql://root:Quokka7', ['Quokka7'], '"mysql://root:***"'],
      ['mysql://root:Quokka7/shop', ['Quokka7'], '"mysql://root:***"'],
    ];
    for (const [url, secret, shown] of cases) {
      const e = thrown(() => parseConnectionUrl(url, '--target'));
      expect(exitCodeFor(e)).toBe(2);
      expect((e as Error).message).toContain(shown);
      for (const piece of secret) expect((e as Error).message).not.toContain(piece);
    }
    // A mistyped port cannot be told from a password, so it is hidden too; a port stays.
    expect((thrown(() => parseConnectionUrl('mysql://127.0.0.1:33o6', '--target')) as Error).message).toContain('"mysql://127.0.0.1:***"');
    expect(redactUrlArgument('mysql://127.0.0.1:3306/shop#x')).toBe('mysql://127.0.0.1:3306/shop#x');
    expect(redactUrlArgument('mysql://root@127.0.0.1:3306/sh%zzop')).toBe('mysql://root@127.0.0.1:3306/sh%zzop');
  });

  it('an IPv6 literal loses its brackets for the driver and keeps them in messages', () => {
    const t = parseConnectionUrl('mysql://root@[::1]:3307', '--target');
    expect(t).toMatchObject({ host: '::1', port: 3307, redacted: 'mysql://root@[::1]:3307' });
  });

  it('?socket=PATH connects through a Unix socket', () => {
    expect(parseConnectionUrl('mysql://root@localhost/shop?socket=/run/mysqld/mysqld.sock', '--target')).toMatchObject({
      host: 'localhost',
      socket: '/run/mysqld/mysqld.sock',
      database: 'shop',
      redacted: 'mysql://root@localhost/shop?socket=/run/mysqld/mysqld.sock',
    });
    expect(parseConnectionUrl('mysql://root@127.0.0.1:3306', '--target').socket).toBeUndefined();
  });
});

describe('the option file fills what the URL leaves out', () => {
  it('host and port, also for a URL that gives neither (mysql://)', async () => {
    await withOptionFile('[client]\nuser=dba\nhost=127.0.0.2\nport=35919\n', (cnf) => {
      expect(connectionFrom('mysql://', undefined, cnf, {}, undefined)).toMatchObject({ user: 'dba', host: '127.0.0.2', port: 35919 });
      // The URL's own host and port win.
      expect(connectionFrom('mysql://10.0.0.1:3307', undefined, cnf, {}, undefined)).toMatchObject({ user: 'dba', host: '10.0.0.1', port: 3307 });
    });
  });

  it('the socket, for host localhost or none (as the mysql client uses it), not for another host', async () => {
    await withOptionFile('[client]\nsocket=/tmp/dr.sock\n', (cnf) => {
      expect(connectionFrom('mysql://root@localhost:3306', undefined, cnf, {}, undefined).socket).toBe('/tmp/dr.sock');
      expect(connectionFrom('mysql://', undefined, cnf, {}, undefined)).toMatchObject({ host: 'localhost', socket: '/tmp/dr.sock' });
      expect(connectionFrom('mysql://root@127.0.0.1:3306', undefined, cnf, {}, undefined).socket).toBeUndefined();
    });
  });

  it('a real connection goes through the option file socket (the port in the URL answers nothing)', async () => {
    await withMariadb({}, async (server) => {
      await withOptionFile(`[client]\nuser=root\nsocket=${server.socketPath}\n`, async (cnf) => {
        const target = connectionFrom('mysql://localhost:1', undefined, cnf, {}, undefined);
        const session = await openSession(target, { connectTimeoutMs: 5000 });
        try {
          const { rows } = await session.query('SELECT @@port AS port');
          expect(Number(rows[0]!['port'])).toBe(server.port);
        } finally {
          await session.end();
        }
      });
    });
  }, 120_000);
});
