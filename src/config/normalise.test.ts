import { describe, expect, it } from 'vitest';
import { formatProblems } from './format-problems.js';
import { BUILT_IN_DEFAULTS, parseConfig } from './normalise.js';

/** The rendered problems of an invalid config (fails the test if it is valid). */
function problems(input: unknown): string {
  const r = parseConfig(input);
  if (r.ok) throw new Error('expected the config to be invalid');
  return formatProblems(r.problems);
}

describe('parseConfig: the messages people read', () => {
  it('names an unknown strategy and lists the known ones', () => {
    expect(problems({ tables: { 'crm.accounts': { onConflict: { 'update-diverged': 'latest' } } } })).toMatchInlineSnapshot(`"✖ unknown strategy "latest"; expected one of "apply", "skip", "source", "newest", "oldest", "max", "min", "merge", "delta", "remap", "link", "rewrite-unique", "delete-blocking", "quarantine", "fail", "custom" → at tables."crm.accounts".onConflict.update-diverged"`);
  });

  it('names an unknown strategy in object form at its "strategy" key', () => {
    expect(problems({ defaults: { onConflict: { 'update-diverged': { strategy: 'last-write-wins', column: 'updated_at' } } } })).toMatchInlineSnapshot(`"✖ unknown strategy "last-write-wins"; expected one of "apply", "skip", "source", "newest", "oldest", "max", "min", "merge", "delta", "remap", "link", "rewrite-unique", "delete-blocking", "quarantine", "fail", "custom" → at defaults.onConflict.update-diverged.strategy"`);
  });

  it('asks a bare newest for a column', () => {
    expect(problems({ defaults: { onConflict: { 'update-diverged': 'newest' } } })).toMatchInlineSnapshot(`"✖ "newest" needs a column to compare: write { "strategy": "newest", "column": "updated_at" } → at defaults.onConflict.update-diverged"`);
  });

  it('asks newest in object form for a column', () => {
    expect(problems({ tables: { 'crm.accounts': { onConflict: { 'insert-pk-same-record': { strategy: 'newest', tie: 'dr' } } } } })).toMatchInlineSnapshot(`"✖ "newest" needs "column": the timestamp or version column to compare → at tables."crm.accounts".onConflict.insert-pk-same-record.column"`);
  });

  it('suggests the close strategy name', () => {
    expect(problems({ defaults: { onConflict: { 'update-diverged': 'newset' } } })).toMatchInlineSnapshot(`"✖ unknown strategy "newset"; did you mean "newest"? → at defaults.onConflict.update-diverged"`);
  });

  it('rejects a misspelt conflict class', () => {
    expect(problems({ defaults: { onConflict: { 'insert-pk-takn': 'remap' } } })).toMatchInlineSnapshot(`"✖ unknown conflict class "insert-pk-takn"; did you mean "insert-pk-taken"? → at defaults.onConflict.insert-pk-takn"`);
  });

  it('rejects a table key that is not db.table', () => {
    expect(problems({ tables: { accounts: { naturalKey: ['email'] } } })).toMatchInlineSnapshot(`"✖ table key "accounts" must be "db.table" (globs * and ? allowed) → at tables.accounts"`);
  });

  it('rejects maxQuarantined given as a string', () => {
    expect(problems({ escalation: { maxQuarantined: '100', action: 'stop' } })).toMatchInlineSnapshot(`"✖ expected a whole number of quarantined changes → at escalation.maxQuarantined"`);
  });

  it('applies the cross-field rules: class fit, link needs a natural key, column strategies, groups, references', () => {
    expect(
      problems({
        tables: {
          'shop.orders': {
            onConflict: { 'update-pk-reused': 'source', 'insert-unique-taken': 'link' },
            columns: { customer_id: 'remap' },
            groups: [['street', 'city'], ['city', 'zip']],
            references: { customer_id: 'shop.customers' },
          },
        },
      }),
    ).toMatchInlineSnapshot(`
      "✖ reference "shop.customers" must be "db.table.column" → at tables."shop.orders".references.customer_id
      ✖ "source" does not apply to update-pk-reused; expected one of "quarantine", "skip", "fail", "custom" → at tables."shop.orders".onConflict.update-pk-reused
      ✖ "link" needs a natural key: set "naturalKey" on the table rule or in the strategy → at tables."shop.orders".onConflict.insert-unique-taken
      ✖ "remap" decides whole rows, not a column; expected one of "source", "skip", "newest", "oldest", "max", "min", "delta" → at tables."shop.orders".columns.customer_id
      ✖ column "city" is already in group 0 → at tables."shop.orders".groups[1][0]"
    `);
  });

  it('refuses "references" under a glob table key and a glob reference target; backticks keep * literal', () => {
    expect(problems({ tables: { 'shop.*': { references: { customer_id: 'shop.customers.id' } }, 'shop.orders': { references: { customer_id: 'shop.cust*.id' } } } })).toMatchInlineSnapshot(`
      "✖ "references" needs an exact table name, not a glob: give them under each table's own key (a name holding * or ? goes in backticks) → at tables."shop.*".references
      ✖ reference "shop.cust*.id" must name one table, not a glob (a name holding * or ? goes in backticks) → at tables."shop.orders".references.customer_id"
    `);
    expect(parseConfig({ tables: { 'shop.`a*`': { references: { customer_id: 'shop.`cust*`.id' } } } }).ok).toBe(true);
  });

  it('reports unknown settings and bad option values', () => {
    expect(
      problems({
        keepTransactionWhole: true,
        cascadeGuard: { allowUpTo: -1 },
        tables: { 'shop.*': { onConflict: { 'update-diverged': { strategy: 'newest', column: 'updated_at', threshold: '5 seconds' } } } },
      }),
    ).toMatchInlineSnapshot(`
      "✖ expected 0 or more cascaded rows → at cascadeGuard.allowUpTo
      ✖ expected a duration such as "500ms", "5s", "2m" or "1h" → at tables."shop.*".onConflict.update-diverged.threshold
      ✖ unknown setting "keepTransactionWhole" → at keepTransactionWhole"
    `);
  });
});

describe('parseConfig: the normalised form', () => {
  it('fills every default for an empty config', () => {
    expect(parseConfig({})).toEqual({
      ok: true,
      config: {
        stateSchema: 'salvage',
        keepTransactionsWhole: true,
        escalation: { maxQuarantined: null, action: 'stop' },
        cascadeGuard: { kind: 'forbid' },
        compare: 'changed',
        ignoreColumns: [],
        defaults: BUILT_IN_DEFAULTS,
        tables: [],
      },
    });
  });

  it('normalises a realistic config: global defaults over built-in ones, options filled in', () => {
    const r = parseConfig({
      $schema: './salvage.schema.json',
      stateSchema: 'salvage_incident_42',
      keepTransactionsWhole: false,
      escalation: { maxQuarantined: 500, action: 'suspend-table' },
      cascadeGuard: { allowUpTo: 10 },
      compare: 'all',
      ignoreColumns: ['modified_at'],
      defaults: { onConflict: { 'update-missing': 'skip', 'delete-diverged': 'fail' } },
      tables: {
        'crm.accounts': {
          onConflict: {
            'update-diverged': { strategy: 'newest', column: 'updated_at', threshold: '5s' },
            'insert-unique-taken': 'link',
            'insert-pk-same-record': { strategy: 'merge', bothChanged: 'quarantine', policy: { balance: 'delta' } },
          },
          columns: { balance: 'delta', last_login: { strategy: 'max', nulls: 'last' } },
          groups: [['street', 'city', 'zip']],
          references: { owner_id: 'crm.users.id' },
          naturalKey: ['email'],
          keyAllocation: { offset: 1_000_000 },
        },
        'shop.*': { onConflict: { 'update-unique-taken': { strategy: 'rewrite-unique' }, 'insert-unique-taken': { strategy: 'delete-blocking', maxChildren: 3 } }, keyAllocation: 'uuid-v7' },
      },
    });
    expect(r).toEqual({
      ok: true,
      config: {
        stateSchema: 'salvage_incident_42',
        keepTransactionsWhole: false,
        escalation: { maxQuarantined: 500, action: 'suspend-table' },
        cascadeGuard: { kind: 'allow-up-to', limit: 10 },
        compare: 'all',
        ignoreColumns: ['modified_at'],
        defaults: { ...BUILT_IN_DEFAULTS, 'update-missing': { strategy: 'skip' }, 'delete-diverged': { strategy: 'fail' } },
        tables: [
          {
            pattern: 'crm.accounts',
            onConflict: {
              'update-diverged': { strategy: 'newest', column: 'updated_at', tie: 'dr', thresholdMs: 5000 },
              'insert-unique-taken': { strategy: 'link', naturalKey: null },
              'insert-pk-same-record': { strategy: 'merge', bothChanged: 'quarantine', policy: { balance: 'delta' } },
            },
            columns: { balance: { strategy: 'delta' }, last_login: { strategy: 'max', column: null, nulls: 'last' } },
            groups: [['street', 'city', 'zip']],
            references: { owner_id: { schema: 'crm', table: 'users', column: 'id' } },
            naturalKey: ['email'],
            keyAllocation: { kind: 'offset', offset: 1_000_000 },
          },
          {
            pattern: 'shop.*',
            onConflict: {
              'update-unique-taken': { strategy: 'rewrite-unique', template: '{value}~salvaged-{n}' },
              'insert-unique-taken': { strategy: 'delete-blocking', maxChildren: 3 },
            },
            columns: {},
            groups: [],
            references: {},
            naturalKey: null,
            keyAllocation: { kind: 'uuid-v7' },
          },
        ],
      },
    });
  });

  it('keeps the built-in defaults safe: nothing deletes or overwrites a DR row', () => {
    const writes = Object.values(BUILT_IN_DEFAULTS).map((s) => s.strategy);
    expect(writes).not.toContain('source');
    expect(writes).not.toContain('delete-blocking');
    expect(BUILT_IN_DEFAULTS['update-pk-reused']).toEqual({ strategy: 'quarantine' });
    expect(BUILT_IN_DEFAULTS['delete-pk-reused']).toEqual({ strategy: 'quarantine' });
  });

  it('rejects a non-object', () => {
    expect(problems([])).toMatchInlineSnapshot(`"✖ the configuration must be a JSON object"`);
  });
});

describe('parseConfig: "$comment" notes', () => {
  it('accepts a "$comment" (a string or lines) in every object of settings and leaves it out of the normalised form', () => {
    const commented = parseConfig({
      $schema: './salvage.schema.json',
      $comment: ['written by salvage config init', 'edit freely'],
      escalation: { action: 'stop', $comment: 'stop at the first quarantined change' },
      cascadeGuard: { allowUpTo: 3, $comment: 'a few cascaded rows are expected' },
      defaults: { $comment: 'global', onConflict: { $comment: 'per class', 'update-diverged': { strategy: 'merge', bothChanged: 'dr', $comment: 'the DR wins' } } },
      tables: {
        'crm.accounts': {
          $comment: ['primary key (id)'],
          onConflict: { 'update-diverged': { strategy: 'newest', column: 'updated_at', $comment: 'later wins' }, 'insert-unique-taken': { strategy: 'link', $comment: 'same e-mail, same customer' } },
          columns: { balance: { strategy: 'max', $comment: 'never lower' }, credit: { strategy: 'delta', $comment: 'a counter' } },
          naturalKey: ['email'],
          keyAllocation: { offset: 1000, $comment: 'far above the DR' },
        },
      },
    });
    const plain = parseConfig({
      escalation: { action: 'stop' },
      cascadeGuard: { allowUpTo: 3 },
      defaults: { onConflict: { 'update-diverged': { strategy: 'merge', bothChanged: 'dr' } } },
      tables: {
        'crm.accounts': {
          onConflict: { 'update-diverged': { strategy: 'newest', column: 'updated_at' }, 'insert-unique-taken': { strategy: 'link' } },
          columns: { balance: { strategy: 'max' }, credit: { strategy: 'delta' } },
          naturalKey: ['email'],
          keyAllocation: { offset: 1000 },
        },
      },
    });
    expect(commented.ok).toBe(true);
    expect(commented).toEqual(plain);
    expect(JSON.stringify(commented)).not.toContain('comment');
  });

  it('says what a "$comment" may hold, and where it may not go', () => {
    expect(problems({ $comment: 42, tables: { $comment: {}, 'crm.accounts': { onConflict: { $comment: ['lines', 7] } } } })).toMatchInlineSnapshot(`
      "✖ a "$comment" is a string or an array of strings → at $comment
      ✖ the keys of "tables" are table names: put a "$comment" inside a table's rule, or at the top level → at tables.$comment
      ✖ a "$comment" is a string or an array of strings → at tables."crm.accounts".onConflict.$comment[1]"
    `);
  });
});
