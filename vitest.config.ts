import { defineConfig } from 'vitest/config'

const packages = ['core', 'providers', 'store', 'actors', 'nats', 'adapters-http', 'cli', 'mcp']

/**
 * Inside the workspace every `@vel/*` import resolves to its TypeScript sources through the
 * `@vel/source` export condition, so no test needs a build. Vite resolves the test files' imports;
 * child processes the tests spawn (`node --import tsx ...`) get the condition from NODE_OPTIONS.
 */
const conditions = ['@vel/source', 'module', 'node', 'development|production']
const nodeOptions = [process.env.NODE_OPTIONS, '--conditions=@vel/source'].filter(Boolean).join(' ')
const sources = {
  resolve: { conditions },
  ssr: { resolve: { conditions } },
}

export default defineConfig({
  test: {
    projects: [
      ...packages.map((name) => ({
        ...sources,
        test: {
          name,
          root: `packages/${name}`,
          include: ['test/**/*.test.ts'],
          testTimeout: 30_000,
          env: { NODE_OPTIONS: nodeOptions },
        },
      })),
      {
        ...sources,
        test: {
          name: 'bench',
          root: 'bench',
          include: ['test/**/*.test.ts'],
          testTimeout: 60_000,
          env: { NODE_OPTIONS: nodeOptions },
        },
      },
      // Cross-package end-to-end tests. Their imports resolve to sources as the packages' do; the
      // consumer test packs and installs the compiled build, and runs it in child processes.
      {
        ...sources,
        test: {
          name: 'e2e',
          root: 'test',
          include: ['**/*.test.ts'],
          exclude: ['browser/**', '**/node_modules/**'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      // Real-browser tests (Debian's chromium through playwright-core) over the workspace sources.
      {
        ...sources,
        test: {
          name: 'browser',
          root: 'test/browser',
          include: ['**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // A page under a loaded CI machine can take seconds to change; 1 s (the default) is too short.
          expect: { poll: { timeout: 60_000 } },
          env: { NODE_OPTIONS: nodeOptions },
        },
      },
    ],
    coverage: { provider: 'v8', include: ['packages/*/src/**/*.ts'] },
  },
})
