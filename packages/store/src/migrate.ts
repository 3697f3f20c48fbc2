import { StoreError } from '@vel/core'
import type { Kysely, Migration } from 'kysely'
import { toStoreError } from './map-error.ts'

/**
 * Brings the schema to the latest migration through Kysely's `Migrator`. A database that has run
 * migrations this code does not know is newer than the code: `schema-too-new`, nothing changes.
 * On Postgres pass `schema`: the migrator then keeps its tables there and looks nowhere else.
 */
export async function migrateToLatest(
  // biome-ignore lint/suspicious/noExplicitAny: migrations run against an unknown schema
  db: Kysely<any>,
  migrations: Readonly<Record<string, Migration>>,
  schema?: string,
): Promise<void> {
  checkKnown(await executedMigrations(db, schema), migrations)
  const { Migrator } = await import('./kysely.ts')
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...migrations }) },
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  })
  const { error } = await migrator.migrateToLatest()
  if (error !== undefined) throw toStoreError(error, 'migrate')
}

/**
 * Whether every migration in `migrations` has run, given the names the database recorded; a name
 * this code does not know is `schema-too-new`.
 */
export function checkKnown(
  executed: ReadonlyArray<string>,
  migrations: Readonly<Record<string, Migration>>,
): boolean {
  const unknown = executed.filter((name) => !(name in migrations))
  if (unknown.length > 0)
    throw new StoreError(
      'schema-too-new',
      `the database schema is newer than this code (unknown migrations: ${unknown.join(', ')}); upgrade @vel/store`,
    )
  return Object.keys(migrations).every((name) => executed.includes(name))
}

// biome-ignore lint/suspicious/noExplicitAny: the migration table is not part of the typed schema
async function executedMigrations(db: Kysely<any>, schema: string | undefined): Promise<string[]> {
  const scoped = schema === undefined ? db : db.withSchema(schema)
  try {
    const rows = await scoped.selectFrom('kysely_migration').select('name').execute()
    return rows.map((row: { name: string }) => row.name)
  } catch (error) {
    const mapped = toStoreError(error, 'migrate')
    // No migration table yet: a fresh database.
    if (/schema missing/.test(mapped.message)) return []
    throw mapped
  }
}
