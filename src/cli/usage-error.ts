import { EngineError } from '../errors.js';

/** Bad command-line usage: unknown option, missing argument. Exit code 2. */
export class UsageError extends EngineError {
  constructor(message: string, option?: string) {
    super('USAGE', message, option === undefined ? {} : { option });
  }
}
