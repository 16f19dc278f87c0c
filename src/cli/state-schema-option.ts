import { schemaNameProblem } from '../db/state-schema.js';
import { UsageError } from './usage-error.js';

/**
 * `--state-schema NAME` as given, checked before anything connects: a name the server would refuse
 * is the user's input to change (exit 2), for every command that takes it, not a fault met later.
 */
export function stateSchemaOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const problem = schemaNameProblem(value);
  if (problem !== undefined) throw new UsageError(`--state-schema: ${problem}`, '--state-schema');
  return value;
}
