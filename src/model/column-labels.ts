/**
 * The labels of an ENUM or SET column, from the type the server prints (`enum('a','b''c')`): shared
 * by the schema hints the decoder takes (src/db) and the reader of canonical JSON (src/reconcile).
 */

/** Parses the label list of `enum('a','b''c')` / `set(...)`. */
export function parseLabels(columnType: string): string[] {
  const open = columnType.indexOf('(');
  const labels: string[] = [];
  let i = open + 1;
  while (i < columnType.length && columnType[i] === "'") {
    let s = '';
    i++;
    for (;;) {
      const ch = columnType[i];
      if (ch === undefined) return labels;
      if (ch === "'" && columnType[i + 1] === "'") {
        s += "'";
        i += 2;
      } else if (ch === "'") {
        i++;
        break;
      } else if (ch === '\\' && columnType[i + 1] !== undefined) {
        s += columnType[i + 1];
        i += 2;
      } else {
        s += ch;
        i++;
      }
    }
    labels.push(s);
    if (columnType[i] === ',') i++;
  }
  return labels;
}
