/**
 * A worker process for the SIGKILL crash-window tests (window-kill.integration.test.ts). It runs
 * one run against SQLite or Postgres and, in `run` mode, stops dead at a crash window: its own
 * store (wrapped here, in the test, so production code carries no hook) prints KILLPOINT and never
 * settles the call at the window, and the parent SIGKILLs the process there. In `recover` mode it
 * waits for the dead worker's lease to run out, recovers, finishes the run (approving it if it
 * waits) and prints RESULT with what the store holds.
 */
import { appendFileSync } from 'node:fs'
import { type AppendOptions, defineTool, type JournalEntryInput, type Store } from '@vel/core'
import { createPostgresStore } from '@vel/store/postgres'
import { createSqliteStore } from '@vel/store/sqlite'
import { Agent, contactHuman, createRuntime } from '../src/index.ts'
import { scripted } from './support.ts'

/** Where the first process dies. */
export type Window =
  | 'before-passivation'
  | 'after-decision'
  /** The run's last append, which carries its final row and session turn (ADR 0127). */
  | 'before-final-append'
  | 'after-final-append'
  /** A store without `features.sessionTurn`: the turn, then the row, after the last append. */
  | 'before-session-append'
  | 'after-session-append'

interface Options {
  readonly backend: 'sqlite' | 'postgres'
  readonly db: string
  readonly schema?: string
  readonly log: string
  readonly mode: 'run' | 'recover'
  readonly window: Window
  readonly runId: string
  readonly sessionId?: string
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options
const leaseTtlMs = 300

const open = async (): Promise<Store> => {
  const store =
    options.backend === 'sqlite'
      ? createSqliteStore({ filename: options.db })
      : createPostgresStore({
          connectionString: options.db,
          maxConnections: 2,
          ...(options.schema ? { schema: options.schema } : {}),
        })
  await store.migrate()
  return store
}

const killHere = (): Promise<never> => {
  process.stdout.write('KILLPOINT\n')
  // Parked until the parent's SIGKILL: a timer keeps the event loop alive meanwhile. Without it a
  // worker with nothing else pending (Postgres's idle pool) left its top-level await unsettled and
  // exited by itself with code 13 before a loaded parent got to kill it.
  setInterval(() => undefined, 60_000)
  return new Promise<never>(() => undefined)
}

/** Stops the process dead at the window: before or after the store call that opens it. */
function dieAtWindow(store: Store, window: Window): Store {
  const appended = (args: unknown[], type: string) =>
    (args[1] as ReadonlyArray<JournalEntryInput>).some((entry) => entry.type === type)
  const withTurn = (args: unknown[]) => (args[3] as AppendOptions | undefined)?.session !== undefined
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'features' && window.endsWith('session-append')) return undefined
      const value = Reflect.get(target, property, receiver)
      if (typeof value !== 'function') return value
      const call = (...args: unknown[]) =>
        (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
      switch (`${window}:${String(property)}`) {
        case 'before-passivation:putSnapshot':
          return killHere
        case 'before-passivation:updateRun':
          return (...args: unknown[]) =>
            (args[1] as { status?: string }).status === 'waiting' ? killHere() : call(...args)
        case 'after-decision:append':
          return async (...args: unknown[]) => {
            const seq = await call(...args)
            if (appended(args, 'approval.decided')) await killHere()
            return seq
          }
        case 'before-final-append:append':
          return (...args: unknown[]) => (withTurn(args) ? killHere() : call(...args))
        case 'after-final-append:append':
          return async (...args: unknown[]) => {
            const seq = await call(...args)
            if (withTurn(args)) await killHere()
            return seq
          }
        case 'before-session-append:appendSession':
          return killHere
        case 'after-session-append:appendSession':
          return async (...args: unknown[]) => {
            await call(...args)
            return killHere()
          }
        default:
          return call
      }
    },
  })
}

const pay = defineTool({
  name: 'pay',
  description: 'Pays, once.',
  input: { type: 'object' },
  needsApproval: true,
  sideEffects: 'unsafe',
  handler: (_input, context) => {
    appendFileSync(options.log, `${context.idempotencyKey} pay pid=${process.pid}\n`)
    return 'paid'
  },
})
const approvals = new Agent({
  id: 'pay',
  model: scripted((request) =>
    request.messages.at(-1)?.role === 'tool'
      ? { text: `after: ${JSON.stringify(request.messages.at(-1)?.content)}` }
      : { toolCalls: [{ id: 'pay_1', name: 'pay', input: { amount: 5 } }] },
  ),
  tools: [pay],
  policies: { retry: false },
})
const chat = new Agent({
  id: 'chat',
  model: scripted(() => ({ text: 'hi there' })),
  tools: [contactHuman],
  policies: { retry: false },
})

const data = await open()
const store = options.mode === 'run' ? dieAtWindow(data, options.window) : data
const runtime = createRuntime({ store, agents: [approvals, chat], leaseTtlMs, onError: () => undefined })
const session = options.window.endsWith('final-append') || options.window.endsWith('session-append')

if (options.mode === 'run') {
  const handle = await runtime.spawn(session ? 'chat' : 'pay', session ? 'hello' : 'pay 5', {
    runId: options.runId,
    ...(options.sessionId ? { sessionId: options.sessionId } : {}),
  })
  if (options.window === 'after-decision') {
    // Wait until the run has passivated (its index row says so), then approve here.
    for (;;) {
      const record = await data.getRun(handle.runId)
      if (record?.status === 'waiting' && !runtime.isActive(handle.runId)) break
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await runtime.approve(handle.runId, 'pay_1', { by: 'first-process' })
  }
  // Killed at the window: until then the process stays up (a pending promise alone would not keep it).
  setInterval(() => undefined, 60_000)
} else {
  // The dead worker's lease runs out (it never renews again); then this worker recovers.
  while ((await data.getLease(options.runId)) !== undefined)
    await new Promise((resolve) => setTimeout(resolve, 20))
  const resumed = await runtime.recover()
  // Until the run has ended or settled into waiting (passivated: out of memory, its row updated).
  let after = await data.getRun(options.runId)
  while (after?.status === 'running' || (after?.status === 'waiting' && runtime.isActive(options.runId))) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    after = await data.getRun(options.runId)
  }
  const waiting = after?.status === 'waiting' ? after : undefined
  if (waiting !== undefined) {
    // Waiting correctly: with its request, out of memory. Approve it now.
    process.stdout.write(
      `WAITING ${JSON.stringify({ pending: waiting.pending, active: runtime.isActive(options.runId) })}\n`,
    )
    await runtime.approve(options.runId, 'pay_1', { by: 'second-process' })
  }
  const answer = await runtime.handle(options.runId).result
  const record = await data.getRun(options.runId)
  const sessionRecord = options.sessionId ? await data.getSession(options.sessionId) : undefined
  const journal = await data.read(options.runId)
  process.stdout.write(
    `RESULT ${JSON.stringify({
      resumed,
      answer,
      status: record?.status,
      session: sessionRecord?.messages.map((message) => message.role) ?? null,
      journal: journal.map((entry) => entry.type),
    })}\n`,
  )
  await runtime.shutdown()
  await data.close()
}
