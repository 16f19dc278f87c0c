/**
 * `db.table` and `db.table.column` as the configuration writes them. A part is either bare (no
 * dot, not starting with a backtick; in table keys `*` and `?` are globs) or quoted with backticks
 * as in SQL (`` `shop.v2`.`cust.tbl` ``, a backtick inside doubled), and then literal: the only way
 * to name a database, table or column whose name holds a dot, a glob character, or spaces at an end.
 */

/** One part of a qualified name: its text (unquoted) and whether it was quoted (literal, never a glob). */
export interface NamePart {
  readonly text: string;
  readonly quoted: boolean;
}

/**
 * The `count` parts of `written`, or null when it is not exactly `count` non-empty parts: a quoted
 * part must be closed and followed by a dot or the end; a bare part runs to the next dot.
 */
export function parseQualified(written: string, count: number): NamePart[] | null {
  const parts: NamePart[] = [];
  let i = 0;
  for (;;) {
    if (written[i] === '`') {
      let text = '';
      let j = i + 1;
      for (;;) {
        const at = written.indexOf('`', j);
        if (at === -1) return null;
        text += written.slice(j, at);
        if (written[at + 1] === '`') {
          text += '`';
          j = at + 2;
          continue;
        }
        i = at + 1;
        break;
      }
      if (text === '') return null;
      parts.push({ text, quoted: true });
    } else {
      const dot = written.indexOf('.', i);
      const end = dot === -1 ? written.length : dot;
      if (end === i) return null;
      parts.push({ text: written.slice(i, end), quoted: false });
      i = end;
    }
    if (i === written.length) break;
    if (written[i] !== '.') return null;
    i++;
  }
  return parts.length === count ? parts : null;
}

/** Names a bare part may hold as they are: no dot, glob character or leading backtick, no space at either end. */
const BARE = /^(?![\s`])[^.*?]*[^.*?\s]$/;

/** `name` as one part of a configuration name: bare when it can be, else quoted. */
export function quoteName(name: string): string {
  return BARE.test(name) ? name : '`' + name.replaceAll('`', '``') + '`';
}

/** `db.table` (or `db.table.column`) written so that parseQualified gives back exactly these names. */
export function qualifiedName(...names: readonly string[]): string {
  return names.map(quoteName).join('.');
}
