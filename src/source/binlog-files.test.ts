import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveBinlogFiles } from './binlog-files.js';

let dir: string | null = null;

afterEach(async () => {
  if (dir !== null) await rm(dir, { recursive: true, force: true });
  dir = null;
});

describe('resolveBinlogFiles with an .index file', () => {
  it('takes the copy beside the index over the path the index names, which may be another server\'s file on this host', async () => {
    // Found on real servers: run on the DR host, where both servers keep /var/lib/mysql/mysql-bin.*,
    // the recovered index named the DR's own binlogs, and the lost set came out empty.
    dir = await mkdtemp(join(tmpdir(), 'binlog-files-'));
    const live = join(dir, 'datadir');
    const copy = join(dir, 'recovered');
    await mkdir(live);
    await mkdir(copy);
    await writeFile(join(live, 'mysql-bin.000001'), 'the DR host file');
    await writeFile(join(copy, 'mysql-bin.000001'), 'the recovered copy');
    await writeFile(join(copy, 'mysql-bin.index'), `${join(live, 'mysql-bin.000001')}\n`);
    expect(await resolveBinlogFiles([join(copy, 'mysql-bin.index')])).toEqual([{ path: join(copy, 'mysql-bin.000001'), size: 18 }]);
  });

  it('takes the named path when no copy sits beside the index, and a relative name beside it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'binlog-files-'));
    const live = join(dir, 'datadir');
    await mkdir(live);
    await writeFile(join(live, 'mysql-bin.000001'), 'x');
    await writeFile(join(dir, 'mysql-bin.000002'), 'yy');
    await writeFile(join(dir, 'mysql-bin.index'), `${join(live, 'mysql-bin.000001')}\n./mysql-bin.000002\n`);
    expect(await resolveBinlogFiles([join(dir, 'mysql-bin.index')])).toEqual([
      { path: join(live, 'mysql-bin.000001'), size: 1 },
      { path: join(dir, 'mysql-bin.000002'), size: 2 },
    ]);
  });

  it('refuses an index whose files were copied beside it only in part, naming the file not copied (never reads its listed path)', async () => {
    // The listed path of the file not copied is, on the DR host, the DR's own binlog: it was read
    // into the primary's sequence without a word.
    dir = await mkdtemp(join(tmpdir(), 'binlog-files-'));
    const live = join(dir, 'datadir');
    const copy = join(dir, 'recovered');
    await mkdir(live);
    await mkdir(copy);
    await writeFile(join(live, 'mysql-bin.000001'), 'the DR host file');
    await writeFile(join(live, 'mysql-bin.000002'), 'the DR host file');
    await writeFile(join(copy, 'mysql-bin.000002'), 'the recovered copy');
    const index = join(copy, 'mysql-bin.index');
    await writeFile(index, `${join(live, 'mysql-bin.000001')}\n${join(live, 'mysql-bin.000002')}\n`);
    const e = await resolveBinlogFiles([index]).then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toMatchObject({ code: 'SOURCE_FILE_NOT_COPIED', details: { file: join(live, 'mysql-bin.000001'), index } });
    expect((e as Error).message).toContain(`${join(copy, 'mysql-bin.000001')}`);
  });
});
