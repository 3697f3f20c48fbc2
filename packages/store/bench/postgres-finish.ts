// Postgres cost of ending a run: the last journal entry (fenced by the lease) then the final index
// row. `separate` is append then updateRun (two round trips), `combined` is append with the `run`
// option (one statement, ADR 0117). Prints the median µs per run over batches, interleaved.
// Run: npx tsx packages/store/bench/postgres-finish.ts [runs=200] [batches=7]
import type { Lease, RunPatch } from '@vel/core'
import pg from 'pg'
import { createPostgresStore } from '../src/postgres/index.ts'

const postgresUrl = process.env.VEL_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const runs = Number(process.argv[2] ?? 200)
const batches = Number(process.argv[3] ?? 7)

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const final: RunPatch = { status: 'completed', answer: { text: 'done' }, error: null, pending: [] }
const entries = [{ type: 'run.finished', data: { type: 'run.finished', answer: { text: 'done' } } }]

type Variant = 'separate' | 'combined'

async function batch(variant: Variant, index: number): Promise<number> {
  const ready: Array<{ runId: string; lease: Lease }> = []
  for (let run = 0; run < runs; run++) {
    const runId = `finish-${process.pid}-${variant}-${index}-${run}`
    await store.createRun({ runId, agentId: 'bench' })
    const lease = await store.acquireLease(runId, 'bench', 60_000)
    if (lease === undefined) throw new Error('no lease')
    await store.append(runId, [{ type: 'run.started', data: {} }], 0, { lease })
    ready.push({ runId, lease })
  }
  const started = process.hrtime.bigint()
  for (const { runId, lease } of ready)
    if (variant === 'separate') {
      await store.append(runId, entries, 1, { lease })
      await store.updateRun(runId, final)
    } else await store.append(runId, entries, 1, { lease, run: final })
  const elapsed = Number(process.hrtime.bigint() - started) / 1000 / runs
  for (const { runId } of ready) await store.deleteRun(runId)
  return elapsed
}

const schema = `vel_bench_finish_${process.pid}`
const store = createPostgresStore({ connectionString: postgresUrl, schema, maxConnections: 2 })
await store.migrate()
const variants: Variant[] = ['separate', 'combined']
const results = new Map<Variant, number[]>(variants.map((variant) => [variant, []]))
for (let index = -1; index < batches; index++)
  for (const variant of variants) {
    const perRun = await batch(variant, index)
    if (index >= 0) results.get(variant)?.push(perRun)
  }
await store.close()
const admin = new pg.Client({ connectionString: postgresUrl })
await admin.connect()
await admin.query(`drop schema ${schema} cascade`)
await admin.end()
console.log(`Postgres per run end (${runs} runs x ${batches} batches, median µs/run):`)
for (const [variant, values] of results) console.log(`  ${variant.padEnd(9)} ${median(values).toFixed(0)}`)
