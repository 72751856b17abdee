import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'scratch/', 'test-artifacts/', 'src/dashboard/public/vendor/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
        setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly',
        performance: 'readonly', URL: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly',
      },
    },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The dashboard's front end runs in the browser (plain ES modules, no build step).
    files: ['src/dashboard/public/**/*.js'],
    languageOptions: {
      globals: { window: 'readonly', document: 'readonly', fetch: 'readonly', TextDecoderStream: 'readonly', cytoscape: 'readonly', uPlot: 'readonly' },
    },
  },
  {
    // The CLI, scripts, tests and benchmarks talk to people on stdout/stderr.
    files: ['src/cli/**', 'bin/**', 'test/**', 'bench/**', 'scripts/**', 'certs/**'],
    rules: { 'no-console': 'off' },
  },
)
