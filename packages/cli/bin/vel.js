#!/usr/bin/env node
// The `vel` command: registers tsx (so agent modules may be TypeScript) and runs src/main.ts.
import { register } from 'tsx/esm/api'

register()
await import('../src/main.ts')
