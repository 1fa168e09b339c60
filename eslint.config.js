// Lint rules: the recommended sets, type-aware, plus the habits of this codebase
// (no floating promises: every stream and request is awaited or handled).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.spaaza-sync/', 'bin/', 'scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // A function longer than this is doing more than one job: split it (the simulator's request
    // routers, one branch per route, are the exception).
    files: ['src/**/*.ts'],
    ignores: ['src/simulator/**'],
    rules: { 'max-lines-per-function': ['error', { max: 90, skipBlankLines: true, skipComments: true }] },
  },
  {
    files: ['src/cli/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  ...stageBorders(),
);

/**
 * The stages' borders (docs/architecture.md): extract, transform and load never import one
 * another, nor anything above them; src/voucher, which every stage reads, imports no stage. Only
 * sync (and cli, schedule above it) joins stages.
 */
function stageBorders() {
  const above = ['sync', 'cli', 'schedule', 'simulator'];
  const stages = ['extract', 'transform', 'load'];
  const rule = (folder, forbidden) => ({
    files: [`src/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+(${forbidden.join('|')})/`,
              message: `src/${folder} may not import ${forbidden.map((f) => `src/${f}`).join(', ')}: stages meet only in src/sync, through the contract in src/voucher (see docs/architecture.md).`,
            },
          ],
        },
      ],
    },
  });
  return [
    ...stages.map((stage) => rule(stage, [...stages.filter((s) => s !== stage), ...above])),
    rule('voucher', [...stages, ...above]),
  ];
}
