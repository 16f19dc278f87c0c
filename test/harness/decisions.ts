/** A reviewed decisions file, as a person writes it: each exported quarantine line with its decision. */
import { exportLine, type QuarantineEntry } from '../../src/pipeline/resolve.js';

/** `held` exported as `salvage quarantine export` does, line i decided `chosen[i]`. */
export function decisionsFile(held: readonly QuarantineEntry[], chosen: readonly unknown[]): string {
  return held.map((e, i) => JSON.stringify({ ...(JSON.parse(exportLine(e)) as object), decision: chosen[i] })).join('\n') + '\n';
}
