// Folder boundaries from DESIGN.md ("Layout"): dependencies point one way,
// cli → pipeline → (source, reconcile, sink) → (binlog, db, model).
import tseslint from 'typescript-eslint';

// Tests beside the code may read fixtures and start servers; the boundaries bind the code itself.
const restrict = (files, patterns, extra = []) => ({
  files,
  ignores: ['**/*.test.ts'],
  rules: {
    'no-restricted-imports': ['error', { patterns: [...patterns, ...extra] }],
  },
});

const up = (folder) => ({ group: [`../${folder}/*`, `../../${folder}/*`], message: `this folder may not import src/${folder}/ (DESIGN.md layout)` });
const pkg = (name, why) => ({ group: [name, `${name}/*`], message: why });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tmp/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The decoder is pure: nothing of the project but errors.ts, no I/O, no drivers.
  restrict(['src/binlog/**/*.ts'], [
    up('model'), up('source'), up('reconcile'), up('db'), up('sink'), up('pipeline'), up('config'), up('cli'),
    pkg('mysql2', 'src/binlog is pure: no driver'), pkg('@vlasky/zongji', 'src/binlog is pure: no driver'),
    pkg('node:fs', 'src/binlog is pure: no I/O'), pkg('node:net', 'src/binlog is pure: no I/O'),
  ]),
  restrict(['src/model/**/*.ts'], [
    up('source'), up('reconcile'), up('db'), up('sink'), up('pipeline'), up('config'), up('cli'),
    pkg('mysql2', 'only src/db imports mysql2'), pkg('@vlasky/zongji', 'only src/source/live-source.ts imports zongji'),
  ]),
  restrict(['src/reconcile/**/*.ts'], [
    up('db'), up('source'), up('sink'), up('pipeline'), up('cli'),
    pkg('mysql2', 'reconcile sees the DR only through model ports'), pkg('@vlasky/zongji', 'zongji lives in src/source/'),
  ]),
  restrict(['src/source/**/*.ts'], [
    up('reconcile'), up('db'), up('sink'), up('pipeline'), up('cli'), pkg('mysql2', 'only src/db imports mysql2'),
    pkg('@vlasky/zongji', 'only src/source/live-source.ts imports zongji: it turns its push into a pull bounded by bytes'),
  ]),
  // The one file that may import zongji (the same boundaries otherwise).
  restrict(['src/source/live-source.ts'], [up('reconcile'), up('db'), up('sink'), up('pipeline'), up('cli'), pkg('mysql2', 'only src/db imports mysql2')]),
  restrict(['src/db/**/*.ts'], [up('reconcile'), up('source'), up('sink'), up('pipeline'), up('cli'), pkg('@vlasky/zongji', 'zongji lives in src/source/')]),
  // sink and reconcile are siblings: what both need (decisions, canonical rows, folds, GTID lists) is in src/model/.
  restrict(['src/sink/**/*.ts'], [up('reconcile'), up('source'), up('pipeline'), up('cli'), pkg('@vlasky/zongji', 'zongji lives in src/source/')]),
  restrict(['src/pipeline/**/*.ts'], [up('cli'), pkg('mysql2', 'only src/db imports mysql2'), pkg('@vlasky/zongji', 'zongji lives in src/source/')]),
  // `salvage demo`'s throwaway servers: they reach a server only through src/db.
  restrict(['src/demo/**/*.ts'], [
    up('cli'), up('pipeline'), up('reconcile'), up('sink'), up('source'),
    pkg('mysql2', 'only src/db imports mysql2'), pkg('@vlasky/zongji', 'zongji lives in src/source/'),
  ]),
  // reconcile reads the normalised config: config may not reach back into it.
  restrict(['src/config/**/*.ts'], [
    up('source'), up('reconcile'), up('db'), up('sink'), up('pipeline'), up('cli'), pkg('mysql2', 'only src/db imports mysql2'),
    pkg('@vlasky/zongji', 'only src/source/live-source.ts imports zongji'),
  ]),
  restrict(['src/cli/**/*.ts', 'src/*.ts'], [pkg('@vlasky/zongji', 'only src/source/live-source.ts imports zongji')]),
  // Only the CLI touches process.
  // The CommonJS entry points that `require('binlog-salvage')` meets: require() is their whole job.
  {
    files: ['cjs/**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**/*.ts', 'src/**/*.test.ts'],
    rules: { 'no-restricted-globals': ['error', { name: 'process', message: 'only src/cli/ touches process (DESIGN.md)' }] },
  },
  // zod loads on first use (~70 ms an import of the library need not pay), through one instance.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts', 'src/config/zod.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { paths: [{ name: 'zod', allowTypeImports: true, message: 'zod loads on first use: call zod() from src/config/zod.ts; import its types with "import type"' }] },
      ],
    },
  },
);
