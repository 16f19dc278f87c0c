import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harnessBinaries } from '../../test/harness/mariadb-binaries.js';
import { cutLastCommit, DemoErrorCode, stageIncident } from './stage-incident.js';

/** A v4 event of `size` bytes: timestamp, type, server id, size, next position, flags, then filler. */
function event(type: number, size: number, at: number): Buffer {
  const b = Buffer.alloc(size, 0xab);
  b.writeUInt32LE(0, 0);
  b[4] = type;
  b.writeUInt32LE(1, 5);
  b.writeUInt32LE(size, 9);
  b.writeUInt32LE(at + size, 13);
  b.writeUInt16LE(0, 17);
  return b;
}

function binlog(...events: [type: number, size: number][]): Buffer {
  const parts: Buffer[] = [Buffer.from([0xfe, 0x62, 0x69, 0x6e])];
  let at = 4;
  for (const [type, size] of events) {
    parts.push(event(type, size, at));
    at += size;
  }
  return Buffer.concat(parts);
}

describe('cutLastCommit', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'salvage-cut-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the header and half the body of the last XID event, and drops what follows', async () => {
    const file = join(dir, 'a.bin');
    // FORMAT_DESCRIPTION, XID, GTID, XID, BINLOG_CHECKPOINT written late.
    await writeFile(file, binlog([0x0f, 40], [0x10, 31], [0xa2, 38], [0x10, 31], [0xa1, 29]));
    const cut = await cutLastCommit(file);
    expect(cut).toEqual({ file, eventOffset: 4 + 40 + 31 + 38, eventSize: 31, keptBytes: 25, sizeBefore: 4 + 40 + 31 + 38 + 31 + 29, sizeAfter: 113 + 25 });
    expect((await readFile(file)).length).toBe(138);
  });

  it('refuses a file without a commit event', async () => {
    const file = join(dir, 'b.bin');
    await writeFile(file, binlog([0x0f, 40]));
    await expect(cutLastCommit(file)).rejects.toMatchObject({ code: DemoErrorCode.NoCommitEvent, details: { file } });
  });
});

describe('stageIncident', () => {
  it('stops the server and removes its folder when a step fails', async () => {
    const said: string[] = [];
    const run = stageIncident({
      context: { host: process, binaries: harnessBinaries() },
      filesDir: '/nonexistent/salvage-demo-target', // the copy step fails: ENOENT
      keepServer: false,
      progress: (m) => said.push(m),
    });
    await expect(run).rejects.toMatchObject({ code: 'ENOENT' });
    const folder = /folder (\S+)\)/.exec(said.join('\n'))?.[1] ?? '';
    expect(folder).toMatch(/binlog-salvage-mdb-demo-primary-/);
    expect(existsSync(folder)).toBe(false);
    const holders = readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(folder);
        } catch {
          return false;
        }
      });
    expect(holders).toEqual([]);
  });
});
