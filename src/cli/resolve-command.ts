/** `salvage resolve --target URL FILE`: carry out the decisions of a reviewed quarantine export. */
import type { Writable } from 'node:stream';
import { deadResolveWarning, resolveQuarantine, ReviewError, ReviewErrorCode, type ResolveReport } from '../pipeline/resolve.js';
import { ExitCode } from './exit-codes.js';
import { columns, CONNECTION_HELP, CONNECTION_OPTIONS, reviewReconnect } from './quarantine-command.js';
import { targetFrom, type SalvageCommandEnvironment } from './salvage-command.js';
import { tlsFlagsOf } from './option-file.js';
import { stallNotices } from './progress.js';
import { noticeStyle } from './quiet-option.js';
import { stallNoticeOption } from './stall-option.js';
import { stateSchemaOption } from './state-schema-option.js';
import { parseCommandArgs, UsageError } from './usage-error.js';

export const RESOLVE_HELP = `salvage resolve --target URL FILE [options]

Carry out the decisions of a reviewed quarantine export (salvage quarantine export > FILE), each
entry exactly once, in a DR transaction of its own: the entry is locked and must still be pending;
the DR rows it touches are re-read with SELECT … FOR UPDATE and must still be what the change met
when it was quarantined (the "dr" image), or the entry is refused and stays pending; then the row is
written, the ledger records the decision (outcome, "resolved by review: …") and the entry is marked
resolved, all in one commit. Running the same file again does nothing more.

The decision of each line ("decision" in the exported JSON; lines left null stay pending):
  {"action":"apply"}                   apply the change as logged: an update sets only the columns
                                       it changed; one whose row the DR no longer has (class
                                       update-missing) inserts the row as the change left it
  {"action":"apply","row":{…}}         apply it with this after image instead (edit the exported
                                       "after": column name → value, canonical JSON); an update
                                       sets every column of it the DR row holds differently; a
                                       changed primary key moves the row there (key map)
  {"action":"link","key":[…]}          the lost row IS the DR row with this primary key: record the
                                       key map old → new, write nothing; later changes of the row
                                       and its children follow the DR row
  {"action":"skip"}                    leave the DR as it is
  any of them may add "note":"…", kept in the ledger's reason.
Values are in source terms, like the images: keys that were remapped or linked are rewritten
through the key map before writing. An entry held back because of another (see "origin" in
salvage quarantine show) is refused until that one is resolved; entries are carried out so that
an origin decided in the same file comes first. So is a row whose parent (by its primary key or
another unique key) is the insert of another entry, pending ("resolve N first") or skipped, or an
insert a rule skipped during apply (the parent was never written). apply is refused for
update-pk-reused / delete-pk-reused (the id is the DR's own record: decide skip), and for a delete
while DR rows still point at its row (ON DELETE CASCADE would take them: deal with them first).
On a table without a primary key an update or delete is found by its before image and written
"… WHERE <before image> LIMIT 1" (one row, as apply writes it); it is refused when no DR row equals
that image any more, or rows the server takes as equal differ; link is refused there (no key).
Keys are followed through the DR's declared
foreign keys and the logical references (configuration "references") of the run that quarantined
the entry, which the run kept in the state schema. Foreign keys are checked by the DR.

${CONNECTION_HELP}  --json                    print the report as JSON
  --allow-triggers          let the DR's triggers on the tables the decisions write fire on
                            resolve's writes; without it such a file is refused before any entry
                            is carried out (2), naming the triggers, as apply refuses them
  --stall-notice S          a DR statement still waiting after S seconds (default 30; 0: never)
                            gets a warning line saying why: its state on the DR and the
                            connections holding the lock it waits for (as apply's --stall-notice)

Exit codes: 0 every decided entry was carried out and nothing is pending; 3 some entries were
refused or remain pending (the summary says which and why); 2 a bad file (every problem, by line;
nothing is applied); 1 a fault (entries carried out before it stay resolved: run again).

Example:
  salvage quarantine export --target mysql://salvage@dr:3306 --target-password-env DR_PASSWORD > decisions.jsonl
  # edit decisions.jsonl: "decision": null → {"action":"link","key":[4]} …
  salvage resolve --target mysql://salvage@dr:3306 --target-password-env DR_PASSWORD decisions.jsonl
`;

function line(out: Writable, s = ''): void {
  out.write(`${s}\n`);
}

/** Runs `salvage resolve`; returns the exit code. */
export async function runResolve(args: string[], stdout: Writable, stderr: Writable, environment: SalvageCommandEnvironment): Promise<number> {
  const parsed = parseCommandArgs('resolve', { args, allowPositionals: true, options: { ...CONNECTION_OPTIONS, json: { type: 'boolean' }, 'allow-triggers': { type: 'boolean' }, 'stall-notice': { type: 'string' } } });
  const o = parsed.values;
  if (parsed.positionals.length !== 1) throw new UsageError('resolve: give one decisions file (from "salvage quarantine export"): salvage resolve --target URL decisions.jsonl');
  if (o.target === undefined) throw new UsageError('resolve: --target mysql://user@host:port (the DR) is required', '--target');
  const target = targetFrom(o.target, o['target-password-env'], o['defaults-file'], environment.env, environment.home, '--target', tlsFlagsOf(o, ''));
  let report: ResolveReport;
  try {
    report = await resolveQuarantine({ target, stateSchema: stateSchemaOption(o['state-schema']), file: parsed.positionals[0]!, ...(o['allow-triggers'] === true ? { allowTriggers: true } : {}), onStall: stallNotices(stderr, noticeStyle(o.quiet)), stallNoticeMs: stallNoticeOption(o['stall-notice']), ...reviewReconnect(o, stderr) });
  } catch (e) {
    if (e instanceof ReviewError && e.code === ReviewErrorCode.BadFile) {
      line(stderr, `salvage: ${e.message}`);
      return ExitCode.BadInput;
    }
    throw e;
  }
  if (o.json) line(stdout, JSON.stringify(report, null, 2));
  else for (const l of summary(report)) line(stdout, l);
  return report.counts.refused > 0 || report.stillPending > 0 ? ExitCode.DoneWithQuarantine : ExitCode.Done;
}

/** The human report: one line per entry, then the counts. */
export function summary(r: ResolveReport): string[] {
  const out = [`salvage resolve: ${r.file} on ${r.target}${r.runId === null ? '' : `, run ${r.runId}`}`];
  if (r.entries.length > 0) {
    const rows = r.entries.map((e) => [String(e.id), e.label, e.table, e.op, e.action ?? '-', e.result === 'done' ? `done (${e.outcome ?? ''})` : e.result, e.message]);
    out.push(...columns([['entry', 'change', 'table', 'op', 'decision', 'result', ''], ...rows]).map((l) => `  ${l}`));
  }
  if (r.killedRuns.length > 0) out.push(deadResolveWarning(r.killedRuns));
  const c = r.counts;
  out.push(`done ${c.done}, refused ${c.refused}, already resolved ${c['already-resolved']}, undecided ${c.undecided}; ${r.stillPending} entr${r.stillPending === 1 ? 'y' : 'ies'} still pending on the DR`);
  if (c.refused > 0) out.push('refused entries stay pending: see why above, then export again and decide them on what the DR holds now');
  return out;
}
