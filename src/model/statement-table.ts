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

/**
 * The database and name of the table `sql` writes (the database `schema`, its default, when the
 * text names none), or null when the text does not say (a statement of a form not recognised).
 */
export function statementTableName(sql: string, schema: string): { readonly schema: string; readonly table: string } | null {
  for (const form of FORMS) {
    const m = form.exec(sql);
    if (m === null) continue;
    const first = unquote(m[1]!);
    return m[2] !== undefined ? { schema: first, table: unquote(m[2]) } : { schema, table: first };
  }
  return null;
}

/** `db.table` for the table `sql` writes (qualified by `schema`, its default database, when it names none), else `schema`. */
export function statementTable(sql: string, schema: string): string {
  const t = statementTableName(sql, schema);
  if (t === null) return schema;
  return t.schema === '' ? t.table : `${t.schema}.${t.table}`;
}
