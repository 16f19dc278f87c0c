/**
 * A command left waiting for a promise nothing can settle any more: Node then exits with code 0 as
 * if all went well (found: `salvage plan --config F.mjs` whose module awaited such a promise printed
 * nothing and exited 0). Through the built command (`npm test` builds first).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../dist/cli/main.js');
const BINLOG = resolve(import.meta.dirname, '../../../shared/fixtures/real-binlogs/local-mariadb-10.11/failover/primary/primary-bin.000001');

async function salvage(nodeArgs: string[], ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...nodeArgs, CLI, ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'salvage-unfinished-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a command that can never finish', () => {
  it('a configuration module whose top-level await never settles: exit 2 naming the file, before anything is done', async () => {
    const config = join(dir, 'hang.mjs');
    await writeFile(config, 'await new Promise(() => {});\nexport default {};\n');
    const message = `${config} never finished loading: its top-level await waits for something that can never happen (nothing else is left running that could settle it); the command did nothing`;
    const check = await salvage([], 'config', 'check', config);
    expect(check.code).toBe(2);
    expect(check.stderr).toBe(`✖ ${message}\n`);
    // plan loads the configuration before it connects: the DR named here is never reached.
    const plan = await salvage([], 'plan', '--binlog', BINLOG, '--target', 'mysql://root@127.0.0.1:9', '--config', config, '--quiet');
    expect(plan.code).toBe(2);
    expect(plan.stderr).toBe(`salvage: --config: ${message} [USAGE]\n`);
  });

  it('any other wait nothing can end: an internal error (exit 70), never a silent exit 0', async () => {
    // A stand-in for such a bug: every file the process opens through fs/promises waits forever.
    const preload = join(dir, 'stuck-open.cjs');
    await writeFile(preload, "const fsp = require('node:fs/promises');\nfsp.open = () => new Promise(() => {});\nrequire('node:module').syncBuiltinESMExports();\n");
    const r = await salvage(['--require', preload], 'inspect', '--json', '--quiet', BINLOG);
    expect(r.code).toBe(70);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^salvage: internal error \(a bug — please report it with this output\): the command stopped before it finished, waiting for something that can never happen \(nothing was left running\); what it had not done by then was not done\n {2}salvage \S+, node v\d+\.\d+\.\d+, salvage inspect\n$/);
  });
});
