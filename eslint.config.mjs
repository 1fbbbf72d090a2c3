// Lint for src/, test/, bench/ and demo/ (typescript-eslint flat config).
// typescript-eslint's recommended rules, with the few exceptions below stated
// with their reason. Layout is Prettier's job (.prettierrc.json), not ESLint's.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-*/**', 'coverage/**', '.tap/**', 'node_modules/**'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      // The build is CommonJS, and require() is how optional or lazily loaded
      // modules (pino-pretty, applicationinsights, the demo routes, uWS's
      // `export =`) are reached without loading them at start.
      '@typescript-eslint/no-require-imports': 'off',
      // `_name` marks a parameter kept for a callback's shape.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests read JSON frames whose shape is the thing under test.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['demo/public/**/*.js'],
    languageOptions: { globals: globals.browser, sourceType: 'module' },
  },
  {
    files: ['demo/public/pcm-worklet.js'],
    languageOptions: { globals: globals.audioWorklet },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
);
