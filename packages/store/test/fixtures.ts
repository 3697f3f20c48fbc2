import { readdirSync, readFileSync } from 'node:fs'
import type { SnapshotFixture } from '../src/testing.ts'

const directory = new URL('./__fixtures__/', import.meta.url)

/** Every checked-in snapshot fixture: `run-state-v<version>-<name>.json`. */
export const fixtures: SnapshotFixture[] = readdirSync(directory)
  .filter((file) => /^run-state-v\d+-.+\.json$/.test(file))
  .sort()
  .map((file) => ({
    name: file.replace(/\.json$/, ''),
    schemaVersion: Number(/^run-state-v(\d+)-/.exec(file)![1]),
    state: JSON.parse(readFileSync(new URL(file, directory), 'utf8')) as unknown,
  }))
