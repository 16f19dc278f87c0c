import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EngineError } from '../errors.js';

/** Bad command-line usage: unknown option, missing argument. Exit code 2. */
export class UsageError extends EngineError {
  constructor(message: string, option?: string) {
    super('USAGE', message, option === undefined ? {} : { option });
  }
}

/** `parseArgs` for `salvage COMMAND`: a bad argument is a usage error that names the command and its --help. */
export function parseCommandArgs<T extends ParseArgsConfig>(command: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    const see = `see "salvage ${command.split(' ')[0]!} --help"`;
    // Where positionals are allowed, Node's message for an unknown option goes on to advise giving it
    // as a positional after "--" (its quote left open), which a mistyped flag never wants: name it alone.
    if ((e as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const options = config.options ?? {};
      const { tokens } = parseArgs({ args: config.args ?? [], options, strict: false, allowPositionals: true, tokens: true });
      const unknown = tokens.find((t) => t.kind === 'option' && !Object.hasOwn(options, t.name));
      if (unknown?.kind === 'option') throw new UsageError(`${command}: unknown option ${unknown.rawName}; ${see}`, unknown.rawName);
    }
    throw new UsageError(`${command}: ${(e as Error).message}; ${see}`);
  }
}
