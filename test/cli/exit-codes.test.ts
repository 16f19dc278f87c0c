import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { EngineError } from '../../src/errors.js';
import { ReconcileError, ReconcileErrorCode } from '../../src/model/reconcile-error.js';
import { DrHistoryErrorCode } from '../../src/reconcile/dr-history-builder.js';
import { DrHistoryFollowError, DrHistoryFollowErrorCode, DrHistorySourceErrorCode } from '../../src/source/dr-history-reader.js';

describe('exitCodeFor', () => {
  it("gives 2 for the start rule's refusals (found by a review: RECONCILE_NO_GTID exited 1, \"a fault\", where help promises 2)", () => {
    for (const code of Object.values(ReconcileErrorCode).filter((c) => c !== ReconcileErrorCode.BadDrState)) expect([code, exitCodeFor(new ReconcileError(code, 'x'))]).toEqual([code, 2]);
  });

  // Found by a review against real servers: the DR-history input refusals added later exited 1, "a fault".
  it("gives 2 for every refusal of the DR's history input (--dr-binlog, --failover-at)", () => {
    const codes = [...Object.values(DrHistorySourceErrorCode), ...Object.values(DrHistoryErrorCode).filter((c) => c === 'DR_HISTORY_FAILOVER_NOT_FOUND' || c === 'DR_HISTORY_FAILOVER_OUTSIDE' || c === 'DR_HISTORY_FAILOVER_NEEDED')];
    for (const code of codes) expect([code, exitCodeFor(new EngineError(code, 'x'))]).toEqual([code, 2]);
    expect(exitCodeFor(new EngineError(DrHistoryErrorCode.NotPrepared, 'x'))).toBe(1);
    // A followed DR's binlog out of reach: a fault, resumable.
    expect(exitCodeFor(new DrHistoryFollowError(DrHistoryFollowErrorCode.Lost, 'x'))).toBe(1);
  });

  it('gives 1 for a fault, 2 for usage and input, 70 for anything else', () => {
    expect(exitCodeFor(new EngineError('DB_CONNECT', 'x'))).toBe(1);
    expect(exitCodeFor(new EngineError('INPUT_LEADING_GAP', 'x'))).toBe(2);
    expect(exitCodeFor(new UsageError('x'))).toBe(2);
    expect(exitCodeFor(new TypeError('x'))).toBe(70);
  });
});
