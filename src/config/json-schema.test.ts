import { describe, expect, it } from 'vitest';
import { configJsonSchema } from './json-schema.js';

describe('configJsonSchema', () => {
  it('describes the file as written: draft 2020-12, no extra keys, every strategy name', () => {
    const s = configJsonSchema() as { $schema: string; type: string; additionalProperties: boolean; properties: Record<string, unknown> };
    expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(s.type).toBe('object');
    expect(s.additionalProperties).toBe(false);
    expect(Object.keys(s.properties).sort()).toEqual(['$comment', '$schema', 'cascadeGuard', 'compare', 'defaults', 'escalation', 'ignoreColumns', 'keepTransactionsWhole', 'stateSchema', 'tables']);
    const text = JSON.stringify(s);
    for (const name of ['rewrite-unique', 'delete-blocking', 'insert-pk-same-record', 'delete-pk-reused']) expect(text).toContain(`"${name}"`);
  });
});
