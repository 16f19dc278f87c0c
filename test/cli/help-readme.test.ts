/**
 * Every flag a command's --help lists is documented in README.md: the README is where a DBA reads
 * what a flag does at length, and a flag added to --help alone was found more than once by hand.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = resolve(ROOT, 'dist/cli/main.js');
const COMMANDS = ['inspect', 'plan', 'apply', 'quarantine', 'resolve', 'explain', 'report', 'doctor', 'config', 'demo'] as const;

/** The flags a help text names: `--word` and `--word-word`, not a longer flag's prefix. */
function flagsOf(text: string): string[] {
  return [...new Set([...text.matchAll(/(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*/g)].map((m) => m[0]))].sort();
}

describe('README documents every flag of every --help', () => {
  const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
  const documented = new Set(flagsOf(readme));

  for (const command of COMMANDS) {
    it(`salvage ${command} --help`, () => {
      const help = execFileSync(process.execPath, [CLI, command, '--help'], { encoding: 'utf8' });
      const flags = flagsOf(help);
      expect(flags.length).toBeGreaterThan(0);
      expect(flags.filter((f) => !documented.has(f))).toEqual([]);
    });
  }

  it('the top-level --help', () => {
    const help = execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    expect(flagsOf(help).filter((f) => !documented.has(f))).toEqual([]);
  });
});
