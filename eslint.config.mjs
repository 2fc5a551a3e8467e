// Lint rules that keep the layers and habits of ARCHITECTURE.md: import boundaries, no floating
// promises, no unused code. Type-aware (typescript-eslint's project service reads tsconfig.json).
import tseslint from 'typescript-eslint';

const taskLib = { group: ['azure-pipelines-task-lib', 'azure-pipelines-task-lib/*'], message: 'only tasks/agent and the task adapters talk to the agent (task-lib)' };
const agent = { group: ['**/agent', '**/agent/*'], message: 'tasks/agent is the Azure Pipelines glue: core and the CLI do not import it' };
const cli = { group: ['**/cli/*', '**/cli'], message: 'core and the agent glue do not import the CLI' };

export default tseslint.config(
  { ignores: ['**/dist/**', 'node_modules/**', '.tools/**', 'test/fixtures/**', '**/*.mjs', '**/*.js'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    // Being split on another branch (Fabrikate install/generate); drop this once that is merged.
    files: ['tasks/core/render/generate.ts', 'test/core/render/generate.test.ts'],
    rules: { '@typescript-eslint/no-unused-vars': 'off' },
  },
  {
    files: ['tasks/core/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [taskLib, agent, cli] }] },
  },
  {
    files: ['tasks/agent/**/*.ts', 'tasks/*/index.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [cli] }] },
  },
  {
    files: ['cli/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [taskLib, agent] }] },
  },
);
