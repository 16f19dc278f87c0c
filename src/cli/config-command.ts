/**
 * `salvage config check FILE`, `salvage config schema` and `salvage config init`: validate a
 * configuration file and print every problem with the one renderer, print the JSON Schema for
 * editors, or write a starting file for the DR it is pointed at.
 */
import { access, readFile, writeFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { configInitDocument } from '../config/init.js';
import { configJsonSchema } from '../config/json-schema.js';
import { formatProblems } from '../config/format-problems.js';
import type { SchemaCatalog } from '../model/table-schema.js';
import { DR_TLS_HELP, DR_TLS_OPTIONS, tlsFlagsOf } from './option-file.js';
import { ExitCode } from './exit-codes.js';
import { RECONNECT_HELP, reconnectOption } from './reconnect-option.js';
import { parseCommandArgs, UsageError } from './usage-error.js';

export const CONFIG_HELP = `salvage config check FILE | schema | init --target URL [options]

  check FILE   validate a configuration file (JSON, or a .mjs / .ts module with custom
               strategies: it is loaded, so it runs); prints "✔ FILE is valid" (exit 0) or
               every problem as "✖ message → at path" (exit 2)
  schema       print the JSON Schema of the configuration file (for editors: "$schema")
  init         read the DR's tables and write a starting file: the run-level defaults spelled
               out, and per table its keys, "references" guessed from <table>_id columns the
               DR declares no foreign key for (active: check them), and for columns that look
               like timestamps, versions or counters a suggested strategy in its "$comment"
               (not active: guesses from names and types, for you to copy where they fit)

Options of init:
  --target URL              mysql://user@host:port of the DR
  --target-password-env VAR read the password from this environment variable
  --defaults-file F         read user/password/host/port/socket from this option file ([client]);
                            without it, ~/.my.cnf is read when present (ssl-mode, ssl-ca, … too)
${DR_TLS_HELP}${RECONNECT_HELP}  --schemas a,b             the schemas to read (default: every schema but the server's own)
  --output FILE             write the file here (default: stdout); an existing FILE is kept
  --force                   overwrite an existing --output FILE
  --quiet                   no warning or notice lines on stderr (reconnect attempts, the summary
                            line after a file written to stdout); the file, the exit code and an
                            error's message stay as they are

"$comment" keys (a string or an array of lines) are notes for people: salvage ignores them in
every object of settings.

Example (salvage.json):
  {
    "escalation": { "maxQuarantined": 100, "action": "stop" },
    "defaults": { "onConflict": { "update-diverged": "merge" } },
    "tables": {
      "crm.accounts": {
        "onConflict": { "update-diverged": { "strategy": "newest", "column": "updated_at", "tie": "dr" } },
        "columns": { "balance": "delta" }
      }
    }
  }

  salvage config init --target mysql://salvage@dr:3306 --target-password-env DR_PASSWORD \\
      --schemas shop,crm --output salvage.json
  salvage config check salvage.json
  salvage config schema > salvage.schema.json
`;

/** Where `config init` finds the DR's password and option files. */
export interface ConfigCommandEnvironment {
  readonly env: NodeJS.ProcessEnv;
  readonly home: string | undefined;
}

/** Reads and parses a JSON file, turning a missing file or bad JSON into exit code 2 messages. */
async function readJson(file: string): Promise<{ ok: true; value: unknown } | { ok: false; message: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, message: code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read (${code ?? String(e)})` };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, message: `${file}: not valid JSON (${(e as Error).message})` };
  }
}

/** `--schemas a,b` → the names; empty items are a usage error rather than a schema called "". */
function schemaList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw new UsageError(`--schemas takes names separated by commas, got "${text}"`, '--schemas');
  return [...new Set(names)];
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Runs `salvage config init`: introspects the DR and writes the starting file; returns the exit code. */
export async function runConfigInit(args: string[], stdout: Writable, stderr: Writable, environment: ConfigCommandEnvironment): Promise<number> {
  const parsed = parseCommandArgs('config init', {
    args,
    options: {
      target: { type: 'string' },
      'target-password-env': { type: 'string' },
      'defaults-file': { type: 'string' },
      ...DR_TLS_OPTIONS,
      'reconnect-attempts': { type: 'string' },
      schemas: { type: 'string' },
      output: { type: 'string' },
      force: { type: 'boolean' },
      quiet: { type: 'boolean' },
    },
  });
  const o = parsed.values;
  if (o.target === undefined) throw new UsageError('config init: --target mysql://user@host:port (the DR) is required', '--target');
  if (o.force === true && o.output === undefined) throw new UsageError('--force only applies with --output FILE', '--force');
  const schemas = schemaList(o.schemas);
  const reconnect = reconnectOption(o['reconnect-attempts']);
  // Checked before connecting, so a kept file costs no introspection; the write below re-checks atomically.
  if (o.output !== undefined && o.force !== true && (await exists(o.output))) {
    throw new UsageError(`--output: ${o.output} exists; add --force to overwrite it`, '--output');
  }
  // Loaded here: check and schema need neither the driver nor the pipeline behind salvage-command.
  const [{ targetFrom }, { ReopenedSession }, { introspectSchemas }, { quietableReconnectNotices, notice }] = await Promise.all([
    import('./salvage-command.js'),
    import('../db/first-connection.js'),
    import('../db/introspect.js'),
    import('./quiet-option.js'),
  ]);
  const target = targetFrom(o.target, o['target-password-env'], o['defaults-file'], environment.env, environment.home, '--target', tlsFlagsOf(o, ''));
  // A DR not answering yet, or lost during the read, is tried again as by the review commands.
  const dr = new ReopenedSession(target, { ...(reconnect === undefined ? {} : { reconnect }), notify: quietableReconnectNotices(stderr, o.quiet), option: '--target' });
  const catalog: SchemaCatalog = await dr.run('read', (session) => introspectSchemas(session, schemas));
  const empty = (schemas ?? []).filter((s) => !catalog.tables.some((t) => t.schema === s));
  if (empty.length > 0) throw new UsageError(`--schemas: the DR has no tables in ${empty.map((s) => `"${s}"`).join(', ')}`, '--schemas');

  const doc = configInitDocument(catalog, { source: target.redacted });
  const text = `${JSON.stringify(doc, null, 2)}\n`;
  const tables = Object.values(doc.tables ?? {});
  const references = tables.reduce((n, t) => n + Object.keys(t.references ?? {}).length, 0);
  const summary = `${tables.length} table${tables.length === 1 ? '' : 's'}, ${references} guessed reference${references === 1 ? '' : 's'}`;
  if (o.output === undefined) {
    stdout.write(text);
    notice(stderr, o.quiet, `salvage config init: ${summary} from ${target.redacted}`);
    return ExitCode.Done;
  }
  try {
    // "wx" fails when the file appeared since the check above: never overwrite without --force.
    await writeFile(o.output, text, { flag: o.force === true ? 'w' : 'wx' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UsageError(`--output: ${o.output} exists; add --force to overwrite it`, '--output');
    throw new UsageError(`--output: cannot write ${o.output} (${code ?? String(e)})`, '--output');
  }
  stdout.write(`✔ wrote ${o.output}: ${summary} from ${target.redacted}; check it with: salvage config check ${o.output}\n`);
  return ExitCode.Done;
}

/** Runs `salvage config …`; returns the exit code. */
export async function runConfig(
  args: string[],
  stdout: Writable,
  stderr: Writable,
  environment: ConfigCommandEnvironment = { env: process.env, home: process.env['HOME'] },
): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    stdout.write(CONFIG_HELP);
    return sub === undefined ? ExitCode.BadInput : ExitCode.Done;
  }
  switch (sub) {
    case 'check': {
      // Parsed as the other commands' arguments are: a mistyped flag (--bogus=1) was taken for the FILE.
      const [file, ...extra] = parseCommandArgs('config check', { args: rest, allowPositionals: true, options: {} }).positionals;
      if (file === undefined) throw new UsageError('salvage config check needs a FILE');
      if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
      if (/\.(mjs|js|cjs|ts|mts|cts)$/i.test(file)) {
        // A module runs when it is loaded: the same loader as --config, with its custom functions.
        const { loadConfigFile } = await import('./config-file.js');
        try {
          const loaded = await loadConfigFile(file);
          const names = Object.keys(loaded.strategies);
          stdout.write(`✔ ${file} is valid${names.length === 0 ? '' : ` (custom strategies: ${names.join(', ')})`}\n`);
          return ExitCode.Done;
        } catch (e) {
          if (!(e instanceof UsageError)) throw e;
          // The loader speaks as --config: here the file is the subject.
          const text = e.message.replace(/^--config: /, '');
          stderr.write(`${text.startsWith('✖') || text.includes('\n✖') ? text : `✖ ${text}`}\n`);
          return ExitCode.BadInput;
        }
      }
      const json = await readJson(file);
      if (!json.ok) {
        stderr.write(`✖ ${json.message}\n`);
        return ExitCode.BadInput;
      }
      // The same validation as --config: a file check passes, plan and apply accept.
      const { validateConfigValue } = await import('./config-file.js');
      const r = validateConfigValue(json.value);
      if (r.ok) {
        stdout.write(`✔ ${file} is valid\n`);
        return ExitCode.Done;
      }
      stderr.write(`${file}: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}\n${formatProblems(r.problems)}\n`);
      return ExitCode.BadInput;
    }
    case 'schema':
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
      return ExitCode.Done;
    case 'init':
      return runConfigInit(rest, stdout, stderr, environment);
    default:
      throw new UsageError(`unknown config command "${sub}"; expected "check FILE", "schema" or "init --target URL"`);
  }
}
