// Lint: typescript-eslint strict rules, and the import boundaries of ../shared/house-style.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** What the web may import (house-style: it never talks to a device, a CA or a DNS provider itself). */
const webPatterns = [
  { group: ['**/workflows/**'], message: 'The web never imports workflow code: use temporal/contract.' },
  { group: ['**/worker/**'], message: 'The web does not import the worker.' },
  { group: ['**/scripts/**'], message: 'Dev tooling (scripts/) stays out of the production path.' },
  {
    group: [
      '**/activities/*',
      '!**/activities/db',
      '!**/activities/domain',
      '!**/activities/crypto',
      '!**/activities/dns-providers',
      '!**/activities/deployers',
    ],
    message: 'The web may import only repositories, domain rules, crypto helpers and descriptors from activities/.',
  },
  {
    group: [
      '**/activities/dns-providers/*',
      '!**/activities/dns-providers/descriptors',
      '!**/activities/dns-providers/types',
    ],
    message: 'The web may import provider descriptors only.',
  },
  {
    group: ['**/activities/deployers/*', '!**/activities/deployers/descriptors', '!**/activities/deployers/types'],
    message: 'The web may import vendor descriptors only: it never talks to a device itself.',
  },
  {
    group: ['acme-client', 'cloudflare', 'undici', 'ssh2', 'basic-ftp', 'nodemailer'],
    message: 'The web never talks to devices, CAs or DNS providers itself.',
  },
];

const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'test-output/**', 'web/public/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  // The type-checked rules (typescript-eslint's recommendedTypeChecked): a forgotten await in a workflow is
  // a determinism bug, so floating and misused promises are errors, as in Temporal's samples.
  ...tseslint.configs.recommendedTypeChecked.map((config) => ({ ...config, files: ['**/*.ts'] })),
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      // node:test's describe/it return promises the runner awaits itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      // Async functions without await are how our interfaces are met (Deployer steps, fakes' handlers): their
      // callers await a promise either way, and the floating/misused promise rules above catch what matters.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: restrict([
      {
        group: ['**/activities', '**/activities/**'],
        allowTypeImports: true,
        message: 'Workflows may only import activity types.',
      },
      {
        group: ['**/web/**', '**/worker/**', '**/temporal/connection', '**/temporal/schedules', '**/scripts/**'],
        message: 'Workflows stay deterministic: no I/O modules.',
      },
      { group: ['node:*', 'pg', 'acme-client', 'cloudflare', 'nodemailer', 'undici'], message: 'No I/O in workflows.' },
    ]),
  },
  {
    files: ['activities/**/*.ts'],
    rules: restrict([
      {
        group: ['**/workflows/**', '**/web/**', '**/worker/**'],
        message: 'Activities import neither workflows, web nor worker.',
      },
      { group: ['**/scripts/**'], message: 'Dev tooling (scripts/) stays out of the production path.' },
      {
        group: ['**/temporal/connection', '**/temporal/schedules'],
        message: 'Activities do not use the Temporal client.',
      },
    ]),
  },
  {
    files: ['web/**/*.ts'],
    rules: restrict([
      ...webPatterns,
      {
        group: ['@temporalio/client', '@temporalio/common'],
        allowTypeImports: true,
        message: 'Temporal starts, signals, queries and lists go through deps.commands (web/commands).',
      },
    ]),
  },
  {
    // The console's Temporal commands, and the Temporal error mapping of the error handler.
    files: ['web/commands/**/*.ts', 'web/http-error.ts'],
    rules: restrict(webPatterns),
  },
  {
    files: ['worker/**/*.ts', 'temporal/**/*.ts', 'config/**/*.ts'],
    rules: restrict([
      {
        group: ['**/scripts/**'],
        message:
          'Dev tooling (scripts/) stays out of the production path: temporal/ keeps only what talks to Temporal.',
      },
    ]),
  },
);
