/**
 * `salvage config check FILE` and `salvage config schema`: validate a configuration file and
 * print every problem with the one renderer, or print the JSON Schema for editors.
 */
import { readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { configJsonSchema } from '../config/json-schema.js';
import { formatProblems } from '../config/format-problems.js';
import { parseConfig } from '../config/normalise.js';
import { ExitCode } from './exit-codes.js';
import { UsageError } from './usage-error.js';

export const CONFIG_HELP = `salvage config check FILE | schema

  check FILE   validate a configuration file; prints "✔ FILE is valid" (exit 0) or
               every problem as "✖ message → at path" (exit 2)
  schema       print the JSON Schema of the configuration file (for editors: "$schema")

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

  salvage config check salvage.json
  salvage config schema > salvage.schema.json
`;

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

/** Runs `salvage config …`; returns the exit code. */
export async function runConfig(args: string[], stdout: Writable, stderr: Writable): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    stdout.write(CONFIG_HELP);
    return sub === undefined ? ExitCode.BadInput : ExitCode.Done;
  }
  switch (sub) {
    case 'check': {
      const [file, ...extra] = rest;
      if (file === undefined) throw new UsageError('salvage config check needs a FILE');
      if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
      const json = await readJson(file);
      if (!json.ok) {
        stderr.write(`✖ ${json.message}\n`);
        return ExitCode.BadInput;
      }
      const r = parseConfig(json.value);
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
    default:
      throw new UsageError(`unknown config command "${sub}"; expected "check FILE" or "schema"`);
  }
}
