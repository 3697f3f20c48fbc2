#!/usr/bin/env node
// The `vel` command: registers tsx (so agent modules may be TypeScript) and runs the entry module:
// `dist/main.js` when installed, `src/main.ts` in the workspace (the `@vel/source` condition).
import { register } from 'tsx/esm/api'

register()
await import('#main')
