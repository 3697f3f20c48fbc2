import { defineConfig } from 'vitest/config'

const packages = ['core', 'providers', 'store', 'actors', 'nats', 'adapters-http', 'cli', 'mcp']

export default defineConfig({
  test: {
    projects: [
      ...packages.map((name) => ({
        test: { name, root: `packages/${name}`, include: ['test/**/*.test.ts'], testTimeout: 30_000 },
      })),
      { test: { name: 'bench', root: 'bench', include: ['test/**/*.test.ts'], testTimeout: 60_000 } },
    ],
    coverage: { provider: 'v8', include: ['packages/*/src/**/*.ts'] },
  },
})
