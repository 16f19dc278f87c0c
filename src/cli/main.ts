#!/usr/bin/env node
/**
 * The `salvage` command: a thin shell. It parses argv, calls the library, prints, and maps
 * every error to one exit code here and nowhere else.
 */
import type { EngineError } from '../errors.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { UsageError } from './usage-error.js';
import { VERSION } from './version.js';

const MAIN_HELP = `salvage ${VERSION} — recover the transactions a failed MySQL/MariaDB primary committed
after its DR last synced, and merge them into the DR.

Usage:
  salvage inspect (FILE… | --source URL) [--json | --stats] [filters]
                                           decode binlogs and print their transactions
  salvage plan  (--binlog FILE… | --source URL) --target URL
                                           dry run: what apply would do; writes nothing
  salvage apply (--binlog FILE… | --source URL [--follow]) --target URL
                                           merge the lost transactions into the DR, exactly once
  salvage quarantine list|show ID|export --target URL
                                           what apply held back; export writes the file to decide in
  salvage resolve --target URL FILE        carry out the reviewed decisions, exactly once
  salvage explain --target URL GTID[#N] [TABLE [KEY]]
                                           why one lost change ended as it did
  salvage report --target URL [--run ID] [--html F | --markdown F | --json]
                                           the incident report of a past apply, from the DR's ledger
  salvage doctor --target URL [--source URL] [--binlog FILE…]
                                           privileges and prerequisites: what would stop plan or apply
  salvage config check FILE | schema | init --target URL
                                           validate a configuration; print its JSON Schema; write a
                                           starting file for a DR
  salvage demo [--keep] [--quiet]          stage a failover on two throwaway MariaDB servers and
                                           salvage it (start here: npm run demo)
  salvage --version | --help

Run "salvage COMMAND --help" for a command's options and examples.
An option that takes a value is given once: given twice, it exits 2 (which one was meant is not
clear), except those a command's --help says add up (--binlog, --dr-binlog; inspect's --tables,
--include-gtids, --exclude-gtids).

Exit codes: 0 done; 1 stopped by a fault (database, file); 2 bad usage, input or configuration;
3 done with quarantined changes awaiting review (plan, apply, resolve); 70 internal error (a bug:
please report it).
`;

/** Errors the user fixes by changing the input, the options or the DR's schema (exit 2). */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(MAIN_HELP);
      return command === undefined ? ExitCode.BadInput : ExitCode.Done;
    case '--version':
    case '-V':
      process.stdout.write(`${VERSION}\n`);
      return ExitCode.Done;
    case 'inspect': {
      // `--stats` on files decodes on worker threads: the first one starts before the command's
      // modules load (stats-worker-start.ts), as each module loaded first delays it; the command
      // ends it if it decodes on this thread alone (a small input, --threads 1).
      if (rest.includes('--stats') && !rest.some((a) => a === '--source' || a.startsWith('--source=') || a === '--help' || a === '-h')) {
        (await import('../pipeline/stats-worker-start.js')).startStatsWorker();
      }
      // Loaded on demand like every command: for `inspect --stats` each module loaded before its
      // worker thread starts delays that thread (~1 ms a module, parsed on this thread).
      const { runInspect, INSPECT_HELP } = await import('./inspect-command.js');
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(INSPECT_HELP);
        return ExitCode.Done;
      }
      return runInspect(rest, process.stdout, process.stderr);
    }
    case 'plan':
    case 'apply': {
      const { APPLY_HELP, PLAN_HELP, runSalvageCommand } = await import('./salvage-command.js');
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(command === 'plan' ? PLAN_HELP : APPLY_HELP);
        return ExitCode.Done;
      }
      // Ctrl-C / SIGTERM: finish the window in progress (its commit is atomic), then stop with the resume point.
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        return await runSalvageCommand(command, rest, process.stdout, process.stderr, { env: process.env, home: process.env['HOME'], isTty: process.stderr.isTTY === true, signal: abort.signal });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    }
    case 'quarantine':
    case 'resolve':
    case 'explain':
    case 'report': {
      // Loaded on demand, like plan and apply: they reach the DR.
      const review = {
        quarantine: async () => {
          const m = await import('./quarantine-command.js');
          return { help: m.QUARANTINE_HELP, run: m.runQuarantine };
        },
        resolve: async () => {
          const m = await import('./resolve-command.js');
          return { help: m.RESOLVE_HELP, run: m.runResolve };
        },
        explain: async () => {
          const m = await import('./explain-command.js');
          return { help: m.EXPLAIN_HELP, run: m.runExplain };
        },
        report: async () => {
          const m = await import('./report-command.js');
          return { help: m.REPORT_HELP, run: m.runReport };
        },
      };
      const { help, run } = await review[command]();
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(help);
        return ExitCode.Done;
      }
      return run(rest, process.stdout, process.stderr, { env: process.env, home: process.env['HOME'], isTty: process.stderr.isTTY === true });
    }
    case 'doctor': {
      // Loaded on demand, like plan and apply: it reaches the DR.
      const { DOCTOR_HELP, runDoctor } = await import('./doctor-command.js');
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(DOCTOR_HELP);
        return ExitCode.Done;
      }
      return runDoctor(rest, process.stdout, process.stderr, { env: process.env, home: process.env['HOME'], isTty: process.stderr.isTTY === true });
    }
    case 'config': {
      const { runConfig } = await import('./config-command.js');
      return runConfig(rest, process.stdout, process.stderr);
    }
    case 'demo': {
      // Loaded on demand: the demo's server driver (mysql2) costs start-up time inspect does not need.
      const { DEMO_HELP, invocationFor, runDemo } = await import('./demo-command.js');
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(DEMO_HELP);
        return ExitCode.Done;
      }
      return runDemo(rest, process.stdout, process.stderr, {
        host: process,
        searchPath: process.env['PATH'],
        invocation: invocationFor(process.argv[1], process.cwd()),
      });
    }
    default:
      throw new UsageError(`unknown command "${command}"; run "salvage --help" for the list`);
  }
}

// A reader that stops early (`salvage inspect … | head`) closes the pipe: stop quietly, as Unix
// tools do, instead of dying on an unhandled EPIPE. Exit handlers still clean up (demo servers).
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(ExitCode.Done);
  throw e;
});

// Node exits with code 0 once nothing is left to run, even while the command still awaits a
// promise that nothing can settle now: such a run would end silently, as if it had succeeded. Say
// so and exit 70 instead. (Commands that load user code guard their own waits: config-file.ts.)
let settled = false;
let reported = false;
const unfinished = (): void => {
  if (settled || reported) return;
  reported = true;
  process.stderr.write(`salvage: internal error (a bug — please report it with this output): the command stopped before it finished, waiting for something that can never happen (nothing was left running); what it had not done by then was not done\n  salvage ${VERSION}, node ${process.version}, salvage ${process.argv.slice(2, 3).join(' ')}\n`);
  process.exitCode = ExitCode.Internal;
};
// One turn later: a guard of the command's own (config-file.ts) answers the same event with its
// error, which then settles the command first.
process.on('beforeExit', () => {
  if (!settled && !reported) setImmediate(unfinished);
});

main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
  },
  async (e: unknown) => {
    settled = true;
    // Loaded only on failure: nothing else on the way to a command needs it.
    const { redact } = await import('../db/connection-url.js');
    const code = exitCodeFor(e);
    if (code === ExitCode.Internal) {
      process.stderr.write(`salvage: internal error (a bug — please report it with this output)\n  salvage ${VERSION}, node ${process.version}\n${redact((e as Error)?.stack ?? String(e))}\n`);
    } else {
      const err = e as EngineError;
      process.stderr.write(`salvage: ${redact(err.message)}${err.code ? ` [${err.code}]` : ''}\n`);
    }
    process.exitCode = code;
  },
);
