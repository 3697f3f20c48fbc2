import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { killAtKillpoint, printed, startWorker } from '../../../test/support/child-process.ts'
import type { Window } from './window-worker.ts'

/*
 * SIGKILL of a real worker process at each crash window of the run actor (issue 13), on SQLite and
 * Postgres: just before passivation, right after `approval.decided` is journaled, and on either
 * side of the run's last append, which carries its session turn (ADR 0127). The worker stops dead at the exact store call of the window
 * (window-worker.ts wraps its own store: no hook in production code) and the parent kills it
 * there; a new process recovers. The run must then finish, or wait correctly, and the session must
 * hold the turn exactly once. Postgres fails loudly under VEL_REQUIRE_SERVICES=1 when it is down.
 */

const script = fileURLToPath(new URL('./window-worker.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'vel-windows-'))
const url = process.env.VEL_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const schemas: string[] = []

const probe = async (): Promise<boolean> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    return true
  } catch (error) {
    if (process.env.VEL_REQUIRE_SERVICES === '1')
      throw new Error(
        `Postgres at ${url} is unreachable (${String(error)}), and VEL_REQUIRE_SERVICES=1 requires it`,
      )
    console.warn(`[skip] Postgres at ${url} is unreachable: skipping the Postgres SIGKILL windows`)
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}
const postgres = await probe()

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  if (schemas.length === 0) return
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  for (const schema of schemas) await admin.query(`drop schema if exists ${schema} cascade`)
  await admin.end()
})

interface Result {
  resumed: string[]
  answer: string
  status: string
  session: string[] | null
  journal: string[]
}

async function killAtWindow(backend: 'sqlite' | 'postgres', window: Window) {
  const name = `${backend}-${window}`
  const schema = backend === 'postgres' ? `vel_test_kill_${randomBytes(5).toString('hex')}` : undefined
  if (schema) schemas.push(schema)
  const options = {
    backend,
    db: backend === 'sqlite' ? join(dir, `${name}.db`) : url,
    ...(schema ? { schema } : {}),
    log: join(dir, `${name}.log`),
    window,
    runId: `run-${name}`,
    ...(window.endsWith('append') ? { sessionId: `session-${name}` } : {}),
  }
  await killAtKillpoint(startWorker(script, { ...options, mode: 'run' }))
  const stdout = await startWorker(script, { ...options, mode: 'recover' }).output
  const log = existsSync(options.log) ? readFileSync(options.log, 'utf8').trim().split('\n') : []
  return { result: printed<Result>(stdout, 'RESULT'), stdout, log, runId: options.runId }
}

const suite = (backend: 'sqlite' | 'postgres') => {
  it('killed just before passivation: after recover() the run waits with its request, then finishes', async () => {
    const { result, stdout, log, runId } = await killAtWindow(backend, 'before-passivation')
    // Recovered into `waiting` with the request, out of memory: not `running` with nothing pending.
    expect(printed(stdout, 'WAITING')).toEqual({
      pending: [expect.objectContaining({ requestId: 'pay_1', kind: 'approval' })],
      active: false,
    })
    expect(result.resumed).toEqual([runId])
    expect(result.status).toBe('completed')
    expect(result.answer).toContain('paid')
    expect(log).toEqual([`${runId}:pay_1 pay pid=${log[0]?.split('pid=')[1]}`])
  })

  it('killed right after approval.decided is journaled: recover() finishes the run, the tool runs once', async () => {
    const { result, stdout, log, runId } = await killAtWindow(backend, 'after-decision')
    expect(stdout).not.toContain('WAITING')
    expect(result.resumed).toEqual([runId])
    expect(result.status).toBe('completed')
    expect(result.answer).toContain('paid')
    expect(result.journal.filter((type) => type === 'approval.decided')).toHaveLength(1)
    expect(log).toHaveLength(1)
  })

  it('killed just before the last append: recover() runs the step again, the turn lands once', async () => {
    const { result, runId } = await killAtWindow(backend, 'before-final-append')
    // Nothing of the last step was written: the run is resumed and calls the model again.
    expect(result.resumed).toEqual([runId])
    expect(result.journal.filter((type) => type === 'model.responded')).toHaveLength(1)
    expect(result.status).toBe('completed')
    expect(result.answer).toBe('hi there')
    expect(result.session).toEqual(['user', 'assistant'])
  })

  it.each<Window>(['before-session-append', 'after-session-append'])(
    'killed %s (a store without the session-turn feature): after recover() the turn is in the session exactly once',
    async (window) => {
      const { result } = await killAtWindow(backend, window)
      // The run had journaled its end: waking it does the bookkeeping (it is not "resumed").
      expect(result.resumed).toEqual([])
      expect(result.journal.at(-1)).toBe('model.responded')
      expect(result.status).toBe('completed')
      expect(result.answer).toBe('hi there')
      expect(result.session).toEqual(['user', 'assistant'])
    },
  )

  it('killed right after the last append: the run is complete, its turn in the session once', async () => {
    const { result } = await killAtWindow(backend, 'after-final-append')
    // Entry, final row and turn were one write: nothing is left to resume or to finish.
    expect(result.resumed).toEqual([])
    expect(result.journal.at(-1)).toBe('model.responded')
    expect(result.status).toBe('completed')
    expect(result.answer).toBe('hi there')
    expect(result.session).toEqual(['user', 'assistant'])
  })
}

describe('SIGKILL at the crash windows (SQLite)', () => suite('sqlite'))
describe.skipIf(!postgres)('SIGKILL at the crash windows (Postgres)', () => suite('postgres'))
