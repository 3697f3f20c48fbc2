// Postgres cost of one run step: the journal entry (fenced by the run's lease), alone and with a
// snapshot of the run state. `separate` is append then putSnapshot (two calls), `combined` is
// append with the `snapshot` option (one statement), `roundtrip` a bare `select 1` through pg (the
// floor: one network round trip). Prints the median µs per step over batches, interleaved.
// Run: npx tsx packages/store/bench/postgres-step.ts [steps=200] [batches=7]
import type { JsonValue, Store } from '@vel/core'
import pg from 'pg'
import { createPostgresStore } from '../src/postgres/index.ts'

const postgresUrl = process.env.VEL_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const steps = Number(process.argv[2] ?? 200)
const batches = Number(process.argv[3] ?? 7)
const mode = (process.argv[4] ?? 'all') as 'all' | 'old'

/** A model.responded-like event of about 2 KB. */
const stepEvent = (step: number): JsonValue => ({
  message: {
    role: 'assistant',
    content: [
      { type: 'text', text: `Step ${step}: ${'the quick brown fox jumps over the lazy dog '.repeat(30)}` },
      { type: 'tool-call', id: `call_${step}`, name: 'search', input: { query: `question ${step}` } },
    ],
  },
  usage: { inputTokens: 1200 + step, outputTokens: 150 },
  finishReason: 'tool-calls',
})

/** A run state of about 4 KB. */
const runState = (step: number): JsonValue => ({
  version: 1,
  phase: 'acting',
  step,
  messages: Array.from({ length: 12 }, (_, index) => ({
    role: index % 2 === 0 ? 'user' : 'assistant',
    content: `message ${index} ${'lorem ipsum dolor sit amet '.repeat(10)}`,
  })),
})

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

type Variant = 'roundtrip' | 'append' | 'separate' | 'combined'

async function batch(store: Store, variant: Variant, index: number): Promise<number> {
  if (variant === 'roundtrip') {
    const started = process.hrtime.bigint()
    for (let step = 1; step <= steps; step++) await pool.query('select 1')
    return Number(process.hrtime.bigint() - started) / 1000 / steps
  }
  const runId = `step-${process.pid}-${variant}-${index}-${Date.now()}`
  const lease = await store.acquireLease(runId, 'bench', 60_000)
  if (lease === undefined) throw new Error('no lease')
  let seq = 0
  const started = process.hrtime.bigint()
  for (let step = 1; step <= steps; step++) {
    const entries = [{ type: 'model.responded', data: stepEvent(step) }]
    if (variant === 'append') seq = await store.append(runId, entries, seq, { lease })
    else if (variant === 'separate') {
      seq = await store.append(runId, entries, seq, { lease })
      await store.putSnapshot(runId, seq, runState(step), 1)
    } else
      seq = await store.append(runId, entries, seq, {
        lease,
        snapshot: { state: runState(step), schemaVersion: 1 },
      })
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1000 / steps
  await store.deleteRun(runId)
  return elapsed
}

const schema = `vel_bench_step_${process.pid}`
const pool = new pg.Pool({ connectionString: postgresUrl, max: 1 })
const store = createPostgresStore({ connectionString: postgresUrl, schema, maxConnections: 2 })
await store.migrate()
const variants: Variant[] =
  mode === 'old' ? ['roundtrip', 'append', 'separate'] : ['roundtrip', 'append', 'separate', 'combined']
const results = new Map<Variant, number[]>(variants.map((variant) => [variant, []]))
for (let index = -1; index < batches; index++)
  for (const variant of variants) {
    const perStep = await batch(store, variant, index)
    if (index >= 0) results.get(variant)?.push(perStep)
  }
await store.close()
await pool.end()
const admin = new pg.Client({ connectionString: postgresUrl })
await admin.connect()
await admin.query(`drop schema ${schema} cascade`)
await admin.end()
console.log(`Postgres per step (${steps} steps x ${batches} batches, median µs/step):`)
for (const [variant, values] of results) console.log(`  ${variant.padEnd(9)} ${median(values).toFixed(0)}`)
