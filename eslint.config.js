// Lint rules. Workflow code runs in Temporal's deterministic sandbox, so workflow files may not
// import Node built-ins or anything that touches the outside world; that is enforced here rather
// than discovered at replay time.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'assert',
  'async_hooks',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'tools/**', 'coverage/**', 'scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's test() returns a promise the runner itself awaits.
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'it', 'describe', 'suite', 'before', 'after'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      // Activities and interface implementations are async by contract even when their body is not.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({
              name,
              message: 'Workflow code must be deterministic: no Node built-ins.',
            })),
            ...nodeBuiltins.map((name) => ({
              name: `node:${name}`,
              message: 'Workflow code must be deterministic: no Node built-ins.',
            })),
            { name: '@temporalio/activity', message: 'Activities run outside the workflow sandbox.' },
            { name: '@temporalio/worker', message: 'Workers run outside the workflow sandbox.' },
            { name: '@temporalio/client', message: 'Use child workflows or activities instead.' },
            {
              name: '@kubernetes/client-node',
              message: 'Talk to Kubernetes from activities, not workflows.',
            },
          ],
          patterns: [
            {
              group: ['../runtime/**', '../api/*', '../worker/*', '../devenv/*', '../processes/*'],
              allowTypeImports: true,
              message: 'Workflows may import only types from these modules.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setInterval', message: 'Use sleep() or condition() from @temporalio/workflow.' },
        { name: 'process', message: 'Workflow code must not read the process environment.' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
