/**
 * The one renderer of configuration problems, in zod's `✖ message → at path` form
 * (STYLE.md rule 8): `✖ unknown strategy "latest" → at tables."crm.accounts".onConflict.update-diverged`.
 */
import type { ConfigProblem } from './normalise.js';

// Keys made of these characters read unambiguously without quotes; class names have hyphens.
const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** Renders a path as `a."b.c".d[0]`, quoting keys that hold dots or other special characters. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const key = PLAIN_KEY.test(seg) ? seg : JSON.stringify(seg);
      out += out === '' ? key : `.${key}`;
    }
  }
  return out;
}

/** Renders one problem as `✖ message → at path` (no `→ at` for the root). */
export function formatProblem(p: ConfigProblem): string {
  return p.path.length === 0 ? `✖ ${p.message}` : `✖ ${p.message} → at ${formatPath(p.path)}`;
}

/** Renders every problem, one block per problem, in the order found. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map(formatProblem).join('\n');
}
