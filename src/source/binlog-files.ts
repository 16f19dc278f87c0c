/**
 * Which files to read, in which order: the names given, or the list in a MariaDB/MySQL `.index`
 * file (one path per line, relative to the index's folder unless absolute).
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { FormatDescription } from '../binlog/event.js';
import { EngineError } from '../errors.js';

/** Stable codes of SourceError. */
export const SourceErrorCode = {
  FileNotFound: 'SOURCE_FILE_NOT_FOUND',
  /** An `.index` names files elsewhere, some copied beside it and this one not. */
  FileNotCopied: 'SOURCE_FILE_NOT_COPIED',
  NotAFile: 'SOURCE_NOT_A_FILE',
  BadIndex: 'SOURCE_BAD_INDEX',
  Read: 'SOURCE_READ_FAILED',
  /** A read option out of range (`chunkSize` below 1). */
  BadOption: 'BAD_OPTION',
  /** The read's `signal` aborted; `cause` is the signal's reason. */
  Aborted: 'SOURCE_ABORTED',
} as const;
export type SourceErrorCode = (typeof SourceErrorCode)[keyof typeof SourceErrorCode];

/** A source file could not be found, opened or read. */
export class SourceError extends EngineError {}

/** One file to read, with its size at the time it was listed. */
export interface BinlogFile {
  readonly path: string;
  readonly size: number;
  /**
   * Read only [start, end) of the file (parallel decoding): `start` must be an event boundary at a
   * transaction start, and `formatDescription` the file's FDE, since the range holds neither the
   * magic nor the FDE. Absent: the whole file.
   */
  readonly range?: { readonly start: number; readonly end: number; readonly formatDescription: FormatDescription | null };
}

async function describe(path: string): Promise<BinlogFile> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new SourceError(SourceErrorCode.NotAFile, `${path} is not a regular file`, { file: path });
    return { path, size: s.size };
  } catch (e) {
    if (e instanceof SourceError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SourceError(SourceErrorCode.FileNotFound, `binlog file not found: ${path}`, { file: path }, { cause: e });
    throw new SourceError(SourceErrorCode.Read, `cannot read ${path}: ${(e as Error).message}`, { file: path }, { cause: e });
  }
}

/** Reads an `.index` file into absolute paths. */
export async function readIndexFile(indexPath: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(indexPath, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SourceError(code === 'ENOENT' ? SourceErrorCode.FileNotFound : SourceErrorCode.Read, `cannot read index file ${indexPath}: ${(e as Error).message}`, { file: indexPath }, { cause: e });
  }
  const base = dirname(resolve(indexPath));
  const files = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => (isAbsolute(l) ? l : join(base, l.replace(/^\.\//, ''))));
  if (files.length === 0) throw new SourceError(SourceErrorCode.BadIndex, `index file ${indexPath} lists no binlog files`, { file: indexPath });
  return files;
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Expands the arguments (files and `.index` files) into the ordered list of files to read. */
export async function resolveBinlogFiles(args: readonly string[]): Promise<BinlogFile[]> {
  const paths: string[] = [];
  for (const a of args) {
    if (!a.endsWith('.index')) {
      paths.push(a);
      continue;
    }
    const dir = dirname(resolve(a));
    const listed = await readIndexFile(a);
    // Servers write absolute paths or paths relative to their datadir. A file of that name beside
    // the index wins: files copied off the failed host together with their index are meant, even
    // when the listed path exists here (on the DR host it is likely the DR's own binlog).
    const beside = listed.map((l) => join(dir, basename(l)));
    const found = await Promise.all(beside.map(exists));
    // Once one listed file elsewhere was copied beside the index, the index is a copy: a file
    // not copied must not be read at its listed path, which is another server's file (the same
    // reason as above), mixed silently into the sequence. Refused, naming it.
    const copied = listed.some((l, i) => found[i] === true && beside[i] !== resolve(l));
    for (let i = 0; i < listed.length; i++) {
      const l = listed[i]!;
      if (found[i] === true) paths.push(beside[i]!);
      else if (copied && beside[i] !== resolve(l)) {
        throw new SourceError(
          SourceErrorCode.FileNotCopied,
          `index file ${a} lists ${l}, which was not copied beside it (${beside[i]!}) although other files it lists were: ` +
            `its listed path may be another server's binlog on this host (the DR's own), so it is not read. ` +
            `Copy it beside the index, or give the files to read by name instead of the index`,
          { file: l, index: a },
        );
      } else paths.push(l);
    }
  }
  const out: BinlogFile[] = [];
  for (const p of paths) out.push(await describe(p));
  return out;
}
