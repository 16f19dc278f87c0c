import { describe, expect, it } from 'vitest';
import { formatPath, formatProblems } from './format-problems.js';

describe('formatPath', () => {
  it('quotes keys with dots or special characters, not hyphenated class names', () => {
    expect(formatPath(['tables', 'crm.accounts', 'onConflict', 'insert-pk-taken'])).toBe('tables."crm.accounts".onConflict.insert-pk-taken');
    expect(formatPath(['tables', 'shop.*', 'groups', 1, 0])).toBe('tables."shop.*".groups[1][0]');
    expect(formatPath(['tables', 'a.b', 'columns', 'first name'])).toBe('tables."a.b".columns."first name"');
    expect(formatPath(['x', ''])).toBe('x.""');
  });
});

describe('formatProblems', () => {
  it('renders one line per problem, the root without a path', () => {
    expect(formatProblems([{ message: 'expected object', path: [] }, { message: 'bad', path: ['escalation', 'action'] }])).toBe('✖ expected object\n✖ bad → at escalation.action');
  });
});
