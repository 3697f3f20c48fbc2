/**
 * Writes the JSON Schema of every NATS payload to `packages/nats/schemas/<name>.json`, generated
 * from the Effect Schemas in `src/schemas.ts`. Run: `npx tsx packages/nats/scripts/generate-schemas.ts`.
 * A test fails when the committed files differ from what this produces.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as JSONSchema from 'effect/JSONSchema'
import type * as Schema from 'effect/Schema'
import { payloadSchemas } from '../src/schemas.ts'

/** Where the files go. */
export const schemasDirectory = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas')

/** The file name and text of each payload's JSON Schema. */
export function jsonSchemaFiles(): Array<{ file: string; text: string }> {
  return Object.entries(payloadSchemas).map(([name, schema]) => {
    const document = {
      $id: `https://vel.dev/schemas/nats/${name}.json`,
      ...JSONSchema.make(schema as Schema.Schema.AnyNoContext),
    }
    return { file: `${name}.json`, text: `${JSON.stringify(document, null, 2)}\n` }
  })
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(schemasDirectory, { recursive: true })
  for (const { file, text } of jsonSchemaFiles()) writeFileSync(join(schemasDirectory, file), text)
  console.log(`wrote ${Object.keys(payloadSchemas).length} schemas to ${schemasDirectory}`)
}
