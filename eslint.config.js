// The JavaScript linter of `npm test` (scripts/test.sh): ESLint's recommended rules over the
// browser code (page, widget, worker), the scripts, the benchmarks and the test suites.
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['www/pkg/', 'www/pkg-cpu/', 'www/pkg-cpu-relaxed/', 'www/pkg-profile/', 'www/pkg-probe/', 'www/vendor/', 'target/', 'node_modules/', 'test-results/'] },
  js.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2024, sourceType: 'module' },
    rules: {
      'no-unused-vars': ['error', { args: 'after-used', argsIgnorePattern: '^_', caughtErrors: 'none' }],
      eqeqeq: ['error', 'smart'],
      'prefer-const': 'error',
      'no-var': 'error',
    },
  },
  { files: ['www/**/*.js', 'bench/**/*.js'], languageOptions: { globals: { ...globals.browser } } },
  { files: ['www/worker.js', 'www/worker/**/*.js'], languageOptions: { globals: { ...globals.worker } } },
  { files: ['scripts/**/*.mjs', 'tests/**/*.mjs', 'bench/**/*.mjs', 'eslint.config.js'], languageOptions: { globals: { ...globals.node, ...globals.browser } } },
];
