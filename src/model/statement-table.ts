/**
 * The table a logged SQL statement writes, read from its text, for the ledger, the quarantine and
 * the report (a statement has no table map). Best effort: the first table named after the verb;
 * a statement this does not recognise is filed under its default database, as before.
 */

const IDENT = '(?:`(?:[^`]|``)+`|[A-Za-z0-9_$\\u0080-\\uFFFF]+)';
const NAME = `(${IDENT})(?:\\s*\\.\\s*(${IDENT}))?`;
const LEAD = '^(?:\\s|/\\*[\\s\\S]*?\\*/)*';
const FORMS = [
  `(?:INSERT|REPLACE)(?:\\s+(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE))*(?:\\s+INTO)?\\s+${NAME}`,
  `UPDATE(?:\\s+(?:LOW_PRIORITY|IGNORE))*\\s+${NAME}`,
  `DELETE(?:\\s+(?:LOW_PRIORITY|QUICK|IGNORE))*\\s+FROM\\s+${NAME}`,
  `(?:CREATE(?:\\s+OR\\s+REPLACE)?(?:\\s+TEMPORARY)?|ALTER(?:\\s+ONLINE|\\s+IGNORE)*|DROP(?:\\s+TEMPORARY)?|TRUNCATE)\\s+TABLE(?:\\s+IF\\s+(?:NOT\\s+)?EXISTS)?\\s+${NAME}`,
  `TRUNCATE\\s+${NAME}`,
  `LOAD\\s+DATA\\b[\\s\\S]*?\\bINTO\\s+TABLE\\s+${NAME}`,
].map((form) => new RegExp(`${LEAD}${form}`, 'i'));

function unquote(ident: string): string {
  return ident.startsWith('`') ? ident.slice(1, -1).replace(/``/g, '`') : ident;
}

/** `db.table` for the table `sql` writes (qualified by `schema`, its default database, when it names none), else `schema`. */
export function statementTable(sql: string, schema: string): string {
  for (const form of FORMS) {
    const m = form.exec(sql);
    if (m === null) continue;
    const first = unquote(m[1]!);
    if (m[2] !== undefined) return `${first}.${unquote(m[2])}`;
    return schema === '' ? first : `${schema}.${first}`;
  }
  return schema;
}
