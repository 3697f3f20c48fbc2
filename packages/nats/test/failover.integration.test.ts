import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteStore } from '@vel/store/sqlite'
import { afterAll, describe, expect, it } from 'vitest'
import { createNatsClient } from '../src/index.ts'
import { connectNats, natsUrl, probeNats, uniquePrefix } from './support.ts'

const available = await probeNats()

/** Starts a worker process; resolves once it prints READY. `lines` collects its stdout lines. */
function startWorkerProcess(options: object): Promise<{ child: ChildProcess; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'worker-process.ts'), JSON.stringify(options)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const lines: string[] = []
    child.stdout?.on('data', (chunk: Buffer) => {
      lines.push(...chunk.toString().split('\n').filter(Boolean))
      if (lines.includes('READY')) resolve({ child, lines })
    })
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)))
  })
}

const waitFor = async <T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> => {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error('timed out waiting')
}

describe.skipIf(!available)('failover between worker processes (integration, SQLite, SIGKILL)', () => {
  const directory = mkdtempSync(join(tmpdir(), 'vel-failover-'))
  const children: ChildProcess[] = []
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    rmSync(directory, { recursive: true, force: true })
  })

  it('a worker killed mid-tool is replaced once its lease expires; the unsafe side effect happens once', async () => {
    const prefix = uniquePrefix('failover')
    const db = join(directory, 'runs.sqlite')
    const log = join(directory, 'side-effects.log')
    const common = { url: natsUrl, prefix, db, log, block: true, leaseTtlMs: 1000, recoverEveryMs: 250 }
    const first = await startWorkerProcess({ ...common, ownerId: 'worker-a' })
    children.push(first.child)

    const connection = await connectNats()
    const client = createNatsClient(connection, { prefix })
    const { runId } = await client.trigger('charger', 'charge me', { runId: 'failover-1' })
    const types: string[] = []
    const streamed = (async () => {
      for await (const part of client.events(runId)) types.push(part.type)
    })()
    await waitFor(() => (first.lines.includes('BLOCKED') ? true : undefined))

    const second = await startWorkerProcess({ ...common, ownerId: 'worker-b' })
    children.push(second.child)
    first.child.kill('SIGKILL')

    const store = createSqliteStore({ filename: db })
    const record = await waitFor(async () => {
      const run = await store.getRun(runId)
      return run?.status === 'completed' || run?.status === 'failed' ? run : undefined
    })
    expect(record.status).toBe('completed')
    // The charge was interrupted (unsafe: never re-run); the model went on with add(20, 22).
    expect(String(record.answer)).toMatch(/^charged:error:.*,42$/)
    const sideEffects = readFileSync(log, 'utf8').trim().split('\n')
    expect(sideEffects).toHaveLength(1)
    expect(sideEffects[0]).toContain(`pid=${first.child.pid}`)
    const journal = await store.read(runId)
    expect(journal.filter((entry) => entry.type === 'tool.interrupted')).toHaveLength(1)
    expect((await store.getLease(runId))?.ownerId ?? 'worker-b').toBe('worker-b')

    await streamed
    expect(types[0]).toBe('start')
    expect(types.at(-1)).toBe('finish')

    client.close()
    await connection.close()
    await store.close()
    second.child.kill('SIGTERM')
    await new Promise((resolve) => second.child.once('exit', resolve))
  }, 60_000)
})
