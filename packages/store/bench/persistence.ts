// Per-step persistence cost: one journal append of a typical step (~2 KB) plus a snapshot of the
// run state every 10 steps, for memory, SQLite (NORMAL and FULL, against a bare insert) and
// Postgres. Prints the median per-step time over batches. Run: npx tsx packages/store/bench/persistence.ts
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { JsonValue, Store } from '@vel/core'
import Database from 'better-sqlite3'
import pg from 'pg'
import { createMemoryStore } from '../src/index.ts'
import { createPostgresStore } from '../src/postgres/index.ts'
import { createSqliteStore } from '../src/sqlite/index.ts'

const snapshotEvery = 10
const postgresUrl = process.env.VEL_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** A model.responded-like event of about 2 KB. */
const stepEvent = (step: number): JsonValue => ({
  type: 'model.responded',
  message: {
    role: 'assistant',
    content: [
      { type: 'text', text: `Step ${step}: ${'the quick brown fox jumps over the lazy dog '.repeat(30)}` },
      {
        type: 'tool-call',
        id: `call_${step}`,
        name: 'search',
        input: { query: `question ${step}`, limit: 5 },
      },
    ],
  },
  usage: { inputTokens: 1200 + step, outputTokens: 150, reasoningTokens: 0, cachedInputTokens: 800 },
  finishReason: 'tool-calls',
  plan: [{ toolCallId: `call_${step}`, action: 'execute', sideEffects: 'none' }],
})

/** A run state with `messages` messages (the snapshot grows with the run, as in practice). */
const runState = (messages: number): JsonValue => ({
  version: 1,
  runId: 'bench',
  agentId: 'agent',
  phase: 'acting',
  step: messages,
  messages: Array.from({ length: messages }, (_, index) => ({
    role: index % 2 === 0 ? 'user' : 'assistant',
    content: `message ${index} ${'lorem ipsum dolor sit amet '.repeat(8)}`,
  })),
  toolCalls: [],
  pending: [],
  usage: { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedInputTokens: 0 },
})

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

/** Runs `batches` batches of `steps` steps on fresh runs; returns the median µs per step. */
async function measure(
  store: Store,
  batches: number,
  steps: number,
): Promise<{ step: number; append: number }> {
  await store.migrate()
  const perStep: number[] = []
  const perAppend: number[] = []
  const state = runState(40) // ~12 KB
  for (let batch = -1; batch < batches; batch++) {
    const runId = `bench-${process.pid}-${Date.now()}-${batch}`
    const event = stepEvent(batch)
    let seq = 0
    const started = process.hrtime.bigint()
    let snapshotTime = 0n
    for (let step = 1; step <= steps; step++) {
      seq = await store.append(runId, [{ type: 'model.responded', data: event }], seq)
      if (step % snapshotEvery === 0) {
        const before = process.hrtime.bigint()
        await store.putSnapshot(runId, seq, state, 1)
        snapshotTime += process.hrtime.bigint() - before
      }
    }
    const elapsed = process.hrtime.bigint() - started
    await store.deleteRun(runId)
    if (batch < 0) continue // warm-up
    perStep.push(Number(elapsed) / 1000 / steps)
    perAppend.push(Number(elapsed - snapshotTime) / 1000 / steps)
  }
  await store.close()
  return { step: median(perStep), append: median(perAppend) }
}

/** The floor: a bare prepared better-sqlite3 insert of the same row, no checks, no snapshot. */
function bareInsert(filename: string, batches: number, steps: number): { step: number; append: number } {
  const connection = new Database(filename)
  connection.pragma('journal_mode = WAL')
  connection.pragma('synchronous = NORMAL')
  connection.exec(
    'create table journal (run_id text, seq integer, type text, at integer, data text, primary key (run_id, seq))',
  )
  const insert = connection.prepare('insert into journal values (?, ?, ?, ?, ?)')
  const perStep: number[] = []
  for (let batch = -1; batch < batches; batch++) {
    const data = JSON.stringify(stepEvent(batch))
    const started = process.hrtime.bigint()
    for (let step = 1; step <= steps; step++)
      insert.run(`run-${batch}`, step, 'model.responded', Date.now(), data)
    if (batch >= 0) perStep.push(Number(process.hrtime.bigint() - started) / 1000 / steps)
  }
  connection.close()
  return { step: median(perStep), append: median(perStep) }
}

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

const directory = mkdtempSync(join(tmpdir(), 'vel-bench-'))
const schema = `vel_bench_${process.pid}`
const rows: Array<[string, { step: number; append: number } | string]> = []
try {
  rows.push(['memory', await measure(createMemoryStore(), 30, 1000)])
  rows.push([
    'sqlite NORMAL',
    await measure(createSqliteStore({ filename: join(directory, 'n.db') }), 30, 1000),
  ])
  rows.push(['bare better-sqlite3 insert (floor)', bareInsert(join(directory, 'b.db'), 30, 1000)])
  rows.push([
    'sqlite FULL',
    await measure(createSqliteStore({ filename: join(directory, 'f.db'), synchronous: 'FULL' }), 30, 1000),
  ])
  if (await postgresReachable()) {
    rows.push([
      'postgres',
      await measure(createPostgresStore({ connectionString: postgresUrl, schema }), 15, 200),
    ])
  } else rows.push(['postgres', `skipped: ${postgresUrl} unreachable`])
} finally {
  rmSync(directory, { recursive: true, force: true })
  if (await postgresReachable()) {
    const pool = new pg.Pool({ connectionString: postgresUrl })
    await pool.query(`drop schema if exists ${schema} cascade`)
    await pool.end()
  }
}

console.log(
  `per step: one ~2 KB append + a ~12 KB snapshot every ${snapshotEvery} steps (median over batches)`,
)
for (const [name, result] of rows)
  console.log(
    typeof result === 'string'
      ? `${name.padEnd(28)} ${result}`
      : `${name.padEnd(28)} ${result.step.toFixed(1).padStart(8)} µs/step   (appends alone ${result.append.toFixed(1)} µs)`,
  )
