// Lint rules, including the architecture's two hard lines: the core and the CLI never
// import electron (they must run in plain Node), and the renderer never imports Node.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeModules = ['fs', 'net', 'http', 'child_process', 'os', 'path', 'crypto'];

export default tseslint.config(
  { ignores: ['dist/', 'release/', 'node_modules/', 'test-output/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/cli/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'electron',
              message:
                'plain Node code must not load electron (it downloads its binary on first require)',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/renderer/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', ...nodeModules, 'electron'],
              message: 'the renderer talks to main only through the preload API',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['scripts/**/*.mjs', 'eslint.config.mjs'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly' } },
  },
);
