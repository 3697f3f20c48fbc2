import { createPostgresStore } from '../src/index.ts'
import { describeStore } from '../src/testing.ts'
import { fixtures } from './fixtures.ts'
import { createPostgresScratch } from './postgres-scratch.ts'
import { probePostgres } from './services.ts'

const reachable = await probePostgres()
const scratch = createPostgresScratch('conformance')

// Every store gets its own pool, so two stores of one test are two independent connections.
describeStore(
  'postgres',
  ({ now }) =>
    createPostgresStore({ connectionString: scratch.url, schema: scratch.schema, now, maxConnections: 2 }),
  {
    skip: !reachable,
    fixtures,
    corrupt: async ({ kind, id, seq }) => {
      const [table, column, key, position] =
        kind === 'journal'
          ? ['journal', 'data', 'run_id', 'seq']
          : kind === 'snapshot'
            ? ['snapshots', 'state', 'run_id', 'seq']
            : ['session_messages', 'message', 'session_id', 'position']
      const sql = `update ${scratch.schema}.${table} set ${column} = '{"cut' where ${key} = $1 and ${position} = $2`
      const result = await scratch.query(sql, [id, seq])
      if (result.rowCount !== 1) throw new Error(`no ${kind} row ${id}#${seq}`)
    },
  },
)
