/** `salvage explain --target URL GTID [TABLE KEY]`: why one lost change ended as it did. */
import type { Writable } from 'node:stream';
import { stringifyCanonical } from '../binlog/values/canonical-json.js';
import { explainChange, neverWritten, shortLabel, type ExplainedChange } from '../pipeline/resolve.js';
import { ExitCode } from './exit-codes.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, imageTable, multilineField, reviewReconnect } from './quarantine-command.js';
import { targetFrom, type SalvageCommandEnvironment } from './salvage-command.js';
import { tlsFlagsOf } from './option-file.js';
import { stateSchemaOption } from './state-schema-option.js';
import { parseCommandArgs, UsageError } from './usage-error.js';

export const EXPLAIN_HELP = `salvage explain --target URL GTID[#INDEX] [TABLE [KEY]] [options]

Why lost changes ended as they did, from the DR's ledger: for each change of the transaction GTID
(or FILE:POS for a source without GTIDs; #INDEX, TABLE and KEY narrow it to one), its class, outcome,
reason, the configuration rule that decided it and the key the row has on the DR; its before and
after images, the DR row it met, and the DR row at that key now (read as you run this); and whether
it waits in the quarantine, with the SQL statement that made it when the binlog logged that.

  KEY                       the row's primary key, source or DR key: 5, bob@x, or a JSON array for a
                            composite key: '["eu",5]'

${CONNECTION_HELP}  --json                    one JSON object per change and line

Examples:
  salvage explain --target mysql://salvage@dr:3306 --target-password-env DR_PASSWORD 0-1-1042
  salvage explain --target mysql://salvage@dr:3306 --target-password-env DR_PASSWORD 0-1-1042 shop.orders 77
`;

function line(out: Writable, s = ''): void {
  out.write(`${s}\n`);
}

/** Runs `salvage explain`; returns the exit code. */
export async function runExplain(args: string[], stdout: Writable, stderr: Writable, environment: SalvageCommandEnvironment): Promise<number> {
  const parsed = parseCommandArgs('explain', { args, allowPositionals: true, options: { ...CONNECTION_OPTIONS, json: { type: 'boolean' } } });
  const o = parsed.values;
  const [change, table, key, ...extra] = parsed.positionals;
  if (change === undefined || extra.length > 0) throw new UsageError('explain: give a GTID (or FILE:POS), optionally a table and a key: salvage explain --target URL 0-1-1042 shop.orders 77');
  if (o.target === undefined) throw new UsageError('explain: --target mysql://user@host:port (the DR) is required', '--target');
  const target = targetFrom(o.target, o['target-password-env'], o['defaults-file'], environment.env, environment.home, '--target', tlsFlagsOf(o, ''));
  const changes = await explainChange({ target, stateSchema: stateSchemaOption(o['state-schema']), change, table, key, ...reviewReconnect(o, stderr) });
  if (o.json) {
    for (const c of changes) line(stdout, stringifyCanonical(c as unknown as Record<string, unknown>));
    return ExitCode.Done;
  }
  changes.forEach((c, i) => {
    if (i > 0) line(stdout);
    for (const l of explainLines(c)) line(stdout, l);
  });
  return ExitCode.Done;
}

/** The lines of one explained change. */
export function explainLines(c: ExplainedChange): string[] {
  const key = c.key === null ? '' : `  key ${stringifyCanonical(c.key)}`;
  const out = [`${shortLabel(c.label)}  ${c.table} ${c.op}${key}`];
  const field = (name: string, value: string): void => {
    out.push(`  ${`${name}:`.padEnd(12)} ${value}`);
  };
  field('class', c.class);
  field('outcome', c.outcome);
  field('reason', c.reason ?? '-');
  // Recorded with quarantined changes only, where the binlog logged it.
  if (c.statement !== undefined) out.push(...multilineField('statement', c.statement, '  '));
  field('rule', c.rulePath ?? '-');
  field('new key', c.newKey === null ? '-' : stringifyCanonical(c.newKey));
  field('recorded', `run ${c.runId}, source ${c.sourceId}`);
  field('quarantine', c.quarantine === null ? 'no' : `entry ${c.quarantine.id}, ${c.quarantine.status}${c.quarantine.status === 'pending' ? ` (salvage quarantine show ${c.quarantine.id})` : ''}`);
  field('DR row now', c.drKey === null ? (neverWritten(c) ? '- (the lost row was never written; the DR row at its key, if any, is another record)' : '-') : `${stringifyCanonical(c.drKey)}${c.now === null ? ' (none)' : ''}`);
  const rows = imageTable([
    { title: 'before', row: c.before },
    { title: 'after', row: c.after },
    { title: 'dr', row: c.dr },
    { title: 'now', row: c.now },
  ]);
  out.push(...rows.map((l) => `  ${l}`));
  return out;
}
