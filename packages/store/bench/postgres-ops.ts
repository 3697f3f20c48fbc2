// Postgres cost of a run's bookkeeping, one call at a time: getRun, updateRun, acquireLease then
// releaseLease, getSession (a session of one message). Prints wall and client CPU (user + system)
// µs per call, after a warm-up; ADR 0121 compares them before and after its prepared statements.
// Run: npx tsx packages/store/bench/postgres-ops.ts [calls=3000]
import pg from 'pg'
import { createPostgresStore } from '../src/postgres/index.ts'

const postgresUrl = process.env.VEL_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const calls = Number(process.argv[2] ?? 3000)
const warmup = 300

const schema = `vel_bench_ops_${process.pid}`
const store = createPostgresStore({ connectionString: postgresUrl, schema, maxConnections: 2 })
try {
  await store.migrate()
  for (let i = 0; i < calls; i++) await store.createRun({ runId: `r${i}`, agentId: 'bench' })
  await store.appendSession('s', [{ role: 'user', content: 'hello' }])
  const operations: Record<string, (i: number) => Promise<unknown>> = {
    getRun: (i) => store.getRun(`r${i}`),
    updateRun: (i) => store.updateRun(`r${i}`, { status: 'completed', answer: { text: 'ok' } }),
    'acquireLease + releaseLease': async (i) => {
      const lease = await store.acquireLease(`r${i}`, 'bench', 60_000)
      if (lease === undefined) throw new Error('no lease')
      await store.releaseLease(lease)
    },
    getSession: () => store.getSession('s'),
  }
  console.log(`Postgres, ${calls} sequential calls each (µs per call):`)
  for (const [name, call] of Object.entries(operations)) {
    for (let i = 0; i < warmup; i++) await call(i)
    const cpu = process.cpuUsage()
    const started = performance.now()
    for (let i = 0; i < calls; i++) await call(i)
    const used = process.cpuUsage(cpu)
    const wall = ((performance.now() - started) * 1000) / calls
    console.log(
      `  ${name.padEnd(28)} wall ${wall.toFixed(0).padStart(5)}  cpu ${((used.user + used.system) / calls).toFixed(0).padStart(5)}`,
    )
  }
} finally {
  await store.close()
  const admin = new pg.Client({ connectionString: postgresUrl })
  await admin.connect()
  await admin.query(`drop schema if exists ${schema} cascade`)
  await admin.end()
}
