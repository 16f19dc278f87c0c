/** Exit codes of the `salvage` command (DESIGN.md, "The command line"). */
export const ExitCode = {
  Done: 0,
  Fault: 1,
  BadInput: 2,
  DoneWithQuarantine: 3,
  Internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
