import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EngineError } from '../errors.js';

/** Bad command-line usage: unknown option, missing argument. Exit code 2. */
export class UsageError extends EngineError {
  constructor(message: string, option?: string) {
    super('USAGE', message, option === undefined ? {} : { option });
  }
}

/**
 * `parseArgs` for `salvage COMMAND`: a bad argument is a usage error that names the command and its
 * --help, and an option that takes one value given twice is refused (refuseRepeats).
 */
export function parseCommandArgs<T extends ParseArgsConfig>(command: string, config: T): ReturnType<typeof parseArgs<T>> {
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(config);
  } catch (e) {
    const see = `see "salvage ${command.split(' ')[0]!} --help"`;
    // Where positionals are allowed, Node's message for an unknown option goes on to advise giving it
    // as a positional after "--" (its quote left open), which a mistyped flag never wants: name it alone.
    if ((e as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const options = config.options ?? {};
      const unknown = lenientTokens(config).find((t) => t.kind === 'option' && !Object.hasOwn(options, t.name));
      if (unknown?.kind === 'option') throw new UsageError(`${command}: unknown option ${unknown.rawName}; ${see}`, unknown.rawName);
    }
    throw new UsageError(`${command}: ${(e as Error).message}; ${see}`);
  }
  refuseRepeats(config);
  return parsed;
}

/**
 * Refuses an option that takes one value given twice: parseArgs keeps the last one silently, and
 * which was meant (`--start-datetime A --start-datetime B`, `--target DR --target PRIMARY`) is not
 * clear. Repeatable options are declared `multiple`; a repeated flag (`--json --json`) means the
 * same as one.
 */
function refuseRepeats(config: ParseArgsConfig): void {
  const options = config.options ?? {};
  // The arguments already parsed strictly, so this pass meets no error.
  const seen = new Set<string>();
  for (const t of lenientTokens(config)) {
    if (t.kind !== 'option' || t.value === undefined || options[t.name]?.multiple === true) continue;
    if (seen.has(t.name)) throw new UsageError(`--${t.name} was given twice; give it once`, `--${t.name}`);
    seen.add(t.name);
  }
}

/**
 * The tokens of `config`'s arguments, parsed again without failing on what the strict parse refused:
 * the caller's own result keeps the shape its config asks for, so it holds none.
 */
function lenientTokens(config: ParseArgsConfig): NonNullable<ReturnType<typeof parseArgs>['tokens']> {
  return parseArgs({ args: config.args ?? [], options: config.options ?? {}, strict: false, allowPositionals: true, tokens: true }).tokens;
}
