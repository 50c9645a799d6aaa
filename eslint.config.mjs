// @ts-check
import { builtinModules } from 'node:module';
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

// Mirrors @temporalio/worker's bundler: workflow code may use only these Node built-ins.
const workflowAllowedBuiltins = ['assert', 'url', 'util'];
const workflowForbiddenModules = [
  ...builtinModules.filter((m) => !workflowAllowedBuiltins.includes(m)),
  ...builtinModules.map((m) => `node:${m}`),
  '@temporalio/activity',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/common/lib/internal-non-workflow',
  'openai',
  'csv-parse',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'output/**', '.data/**', '**/*.js', '**/*.mjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: workflowForbiddenModules.map((name) => ({
            name,
            message: 'Workflow code runs in the deterministic sandbox: this module is not allowed there.',
            allowTypeImports: true,
          })),
          patterns: [
            {
              group: ['../activities/*', '../activities', '../simulators/*', '../cli/*', '../client', '../worker'],
              message: 'Workflows import activity types only, never activity or client code.',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // The command line, simulators, scripts and tests talk to the terminal on purpose.
    files: [
      'src/cli/**/*.ts',
      'src/simulators/**/*.ts',
      'src/bench/**/*.ts',
      'scripts/**/*.ts',
      'bench/**/*.ts',
      'test/**/*.ts',
    ],
    rules: { 'no-console': 'off' },
  },
);
