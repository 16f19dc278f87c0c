/** `salvage report --target URL [--run ID]`: the incident report of a past apply, rebuilt from the DR's state schema. */
import { writeFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { reportFromLedger } from '../pipeline/report-from-ledger.js';
import { renderHtmlReport } from '../sink/html-report.js';
import { renderMarkdownReport } from '../sink/markdown-report.js';
import { ExitCode } from './exit-codes.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, reviewReconnect } from './quarantine-command.js';
import { jsonText, reviewTargetArgs, shellWord, targetFrom, type SalvageCommandEnvironment } from './salvage-command.js';
import { tlsFlagsOf } from './option-file.js';
import { stateSchemaOption } from './state-schema-option.js';
import { notice } from './quiet-option.js';
import { parseCommandArgs, UsageError } from './usage-error.js';
import { VERSION } from './version.js';

export const REPORT_HELP = `salvage report --target URL [--run ID] [--html F | --markdown F | --json] [options]

The incident report of a past "salvage apply", rebuilt from what the DR's state schema keeps
(runs, ledger, key map, quarantine), without the binlogs: the changes per table × class × outcome
as the run left them, the keys it remapped, every change it quarantined with its row images and
reason, and what a review resolved since. What else the run knew (the rule that chose the start,
the commit times of the lost transactions, timings, the DR's history) it keeps in the runs table
when it ends; for a run killed before its end (or written by an older version) those are listed
as not recorded, never guessed: the run's own --report, --markdown and --html files have them.

  --run ID                  the run (an id of the state schema's runs table, as the apply printed
                            it); default: the latest apply (when it recorded no lost change,
                            a line on stderr names the latest run that did)
  --html F.html             write the report as one self-contained HTML page (loads nothing)
  --markdown F.md           write the report as Markdown
  --json                    print the rebuilt report as JSON on stdout: {report, quarantined}
  Without --html, --markdown or --json the Markdown is printed on stdout. With --html or
  --markdown a line on stderr says which run was written where (none under --quiet).

${CONNECTION_HELP}
Examples:
  salvage report --target mysql://salvage@dr:3306 --target-password-env DR_PASSWORD --html incident.html
  salvage report --target mysql://salvage@dr:3306 --target-password-env DR_PASSWORD --run 3 --markdown run-3.md
`;

/** Runs `salvage report`; returns the exit code. */
export async function runReport(args: string[], stdout: Writable, stderr: Writable, environment: SalvageCommandEnvironment): Promise<number> {
  const parsed = parseCommandArgs('report', { args, allowPositionals: false, options: { ...CONNECTION_OPTIONS, run: { type: 'string' }, html: { type: 'string' }, markdown: { type: 'string' }, json: { type: 'boolean' } } });
  const o = parsed.values;
  if (o.target === undefined) throw new UsageError('report: --target mysql://user@host:port (the DR) is required', '--target');
  if (o.run !== undefined && !/^[1-9]\d*$/.test(o.run)) throw new UsageError(`--run takes a run id (a number ≥ 1), got "${o.run}"`, '--run');
  const target = targetFrom(o.target, o['target-password-env'], o['defaults-file'], environment.env, environment.home, '--target', tlsFlagsOf(o, ''));
  const rebuilt = await reportFromLedger({ target, stateSchema: stateSchemaOption(o['state-schema']), runId: o.run === undefined ? undefined : Number(o.run), ...reviewReconnect(o, stderr) });
  const { report } = rebuilt;
  const written: string[] = [];
  if (o.html !== undefined) {
    await write(o.html, renderHtmlReport(report, rebuilt.quarantined, { generator: `binlog-salvage ${VERSION}` }), '--html');
    written.push(o.html);
  }
  if (o.markdown !== undefined) {
    await write(o.markdown, renderMarkdownReport(report, rebuilt.markdownQuarantined), '--markdown');
    written.push(o.markdown);
  }
  if (o.json) stdout.write(`${jsonText({ report, quarantined: rebuilt.quarantined })}\n`);
  else if (written.length === 0) stdout.write(renderMarkdownReport(report, rebuilt.markdownQuarantined));
  // A notice, not the result (the files are): a script asking for --quiet wants stderr for errors only.
  if (written.length > 0) notice(stderr, o.quiet, `salvage report: run ${report.runId} (${report.recorded.status}) written to ${written.join(' and ')}`);
  // The latest apply is the default; after a re-run that found nothing lost it is an empty report,
  // and the run a newcomer wants (the demo's first apply) is an earlier one.
  if (rebuilt.earlierWithChanges !== undefined) {
    // The command to paste: the same DR, state schema and output options, that run's id.
    const outputs = [...(o.html === undefined ? [] : ['--html', shellWord(o.html)]), ...(o.markdown === undefined ? [] : ['--markdown', shellWord(o.markdown)]), ...(o.json === true ? ['--json'] : [])];
    const again = ['salvage report', reviewTargetArgs(o, target, stateSchemaOption(o['state-schema'])), '--run', String(rebuilt.earlierWithChanges), ...outputs].join(' ');
    notice(stderr, o.quiet, `salvage report: run ${report.runId}, the latest apply, recorded no lost change; run ${rebuilt.earlierWithChanges} is the latest that did: ${again}`);
  }
  return ExitCode.Done;
}

async function write(path: string, text: string, option: string): Promise<void> {
  try {
    await writeFile(path, text);
  } catch (e) {
    throw new UsageError(`${option}: cannot write ${path}: ${(e as Error).message}`, option);
  }
}
