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
