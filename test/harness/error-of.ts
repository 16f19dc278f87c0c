import { BinlogError } from '../../src/errors.js';

/** Runs `fn` and returns the BinlogError it throws; anything else (or nothing) fails the test. */
export function errorOf(fn: () => unknown): BinlogError {
  try {
    fn();
  } catch (err) {
    if (err instanceof BinlogError) return err;
    throw err;
  }
  throw new Error('expected a BinlogError');
}


/** The error `p` rejects with, whatever it is; fails the test when it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}
