import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type AppendOptions, defineTool, type JournalEntryInput, type Store } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { createSqliteStore } from '@vel/store/sqlite'
import { afterEach, expect, it } from 'vitest'
import { Agent, contactHuman, createRuntime } from '../src/index.ts'
import { scripted } from './support.ts'

/** Helpers for the mailbox and crash-window tests. */

/**
 * The stores a test runs over, for `describe.each`: memory, and SQLite in a temporary directory
 * (closed and removed after each test of the calling file).
 */
export function storeBackends(prefix: string): Array<[string, () => Promise<Store>]> {
  const opened: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const close of opened.splice(0)) await close()
  })
  return [
    ['memory', async () => createMemoryStore()],
    [
      'sqlite',
      async () => {
        const dir = mkdtempSync(join(tmpdir(), prefix))
        const store = createSqliteStore({ filename: join(dir, 'runs.db') })
        await store.migrate()
        opened.push(async () => {
          await store.close()
          rmSync(dir, { recursive: true, force: true })
        })
        return store
      },
    ],
  ]
}

export const gate = () => {
  let open!: () => void
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

export const until = async (check: () => boolean | Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/**
 * The store with some of its methods wrapped: `around[method](call, ...args)`, where `call()` makes
 * the real call. For delays injected on a condition (never on a clock) in race tests.
 */
export function intercept(
  store: Store,
  around: { readonly [method: string]: (call: () => Promise<unknown>, ...args: never[]) => Promise<unknown> },
): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver)
      const wrap = around[String(property)]
      if (typeof value !== 'function' || wrap === undefined) return value
      return (...args: unknown[]) =>
        wrap(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args), ...(args as never[]))
    },
  })
}

/** A tool that needs approval; counts its runs. */
export const approvalAgent = (id: string, counter: { runs: number }) =>
  new Agent({
    id,
    model: scripted((request) =>
      request.messages.at(-1)?.role === 'tool'
        ? { text: `after: ${JSON.stringify(request.messages.at(-1)?.content)}` }
        : { toolCalls: [{ id: 'pay_1', name: 'pay', input: { amount: 5 } }] },
    ),
    tools: [
      defineTool({
        name: 'pay',
        description: 'Pays.',
        input: { type: 'object' },
        needsApproval: true,
        handler: () => {
          counter.runs += 1
          return 'paid'
        },
      }),
    ],
    policies: { retry: false },
  })

/**
 * A store whose calls can be frozen from a given point on, as if the process died there: frozen
 * calls never settle, so nothing after them happens. Another runtime on the same data recovers.
 */
export function freezable(store: Store) {
  let frozen = false
  let before: ((method: string, args: unknown[]) => boolean) | undefined
  let after: ((method: string, args: unknown[]) => boolean) | undefined
  const never = () => new Promise<never>(() => undefined)
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver)
      if (typeof value !== 'function') return value
      return async (...args: unknown[]) => {
        if (frozen) return never()
        if (before?.(String(property), args)) {
          frozen = true
          return never()
        }
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
        if (after?.(String(property), args)) frozen = true
        return result
      }
    },
  })
  return {
    store: proxy,
    /** Whether it has frozen. */
    get frozen() {
      return frozen
    },
    /** Freezes at the first call for which `when` is true (that call does not happen). */
    dieAt(when: (method: string, args: unknown[]) => boolean) {
      before = when
    },
    /** Freezes right after the first append of an entry of this type has been made. */
    dieAfterAppend(type: string) {
      after = (method, args) =>
        method === 'append' &&
        (args[1] as ReadonlyArray<JournalEntryInput>).some((entry) => entry.type === type)
    },
    /** Freezes right after the first call for which `when` is true has been made. */
    dieAfter(when: (method: string, args: unknown[]) => boolean) {
      after = when
    },
  }
}

/**
 * The store as one written before `Store.features` and `AppendOptions.session`: it says nothing
 * of its features and ignores a session turn. The runtime must take the older ways with it.
 */
export const withoutFeatures = (store: Store): Store =>
  new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'features') return undefined
      if (property !== 'append') return Reflect.get(target, property, receiver)
      return (...[runId, entries, seq, options]: Parameters<Store['append']>) => {
        const { session: _ignored, ...known } = options ?? {}
        return target.append(runId, entries, seq, known)
      }
    },
  })

const chatAgent = () =>
  new Agent({
    id: 'chat',
    model: scripted(() => ({ text: 'hi there' })),
    tools: [contactHuman],
    policies: { retry: false },
  })

/**
 * SIGKILL-equivalent crash windows, on any store: the first runtime's store freezes at the exact call
 * (as if the process died there), and a second runtime on the same data recovers the run.
 */
export function crashWindows(_name: string, open: () => Promise<Store>): void {
  it('killed just before passivation: recover() leaves the run waiting with its request', async () => {
    const data = await open()
    const crash = freezable(data)
    const counter = { runs: 0 }
    const first = createRuntime({
      store: crash.store,
      agents: [approvalAgent('pre-passivate', counter)],
      leaseTtlMs: 50,
      onError: () => undefined,
    })
    crash.dieAt((method) => method === 'putSnapshot' || method === 'updateRun')
    const handle = await first.spawn('pre-passivate', 'pay')
    await until(async () => (await data.read(handle.runId)).length === 2)
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect((await data.getRun(handle.runId))?.status).toBe('running')
    const second = createRuntime({
      store: data,
      agents: [approvalAgent('pre-passivate', counter)],
      leaseTtlMs: 50,
    })
    await second.recover()
    await until(async () => (await data.getRun(handle.runId))?.status === 'waiting')
    expect((await data.getRun(handle.runId))?.pending).toMatchObject([
      { requestId: 'pay_1', kind: 'approval' },
    ])
    expect(second.isActive(handle.runId)).toBe(false)
    await second.approve(handle.runId, 'pay_1')
    expect(await second.handle(handle.runId).result).toContain('paid')
    await second.shutdown()
  })

  it('killed right after approval.decided is journaled: recover() finishes the run', async () => {
    const data = await open()
    const crash = freezable(data)
    const counter = { runs: 0 }
    const first = createRuntime({
      store: crash.store,
      agents: [approvalAgent('post-decision', counter)],
      leaseTtlMs: 50,
      onError: () => undefined,
    })
    const handle = await first.spawn('post-decision', 'pay')
    await until(async () => (await data.getRun(handle.runId))?.status === 'waiting')
    crash.dieAfterAppend('approval.decided')
    void first.approve(handle.runId, 'pay_1').catch(() => undefined)
    await until(async () =>
      (await data.read(handle.runId)).some((entry) => entry.type === 'approval.decided'),
    )
    await new Promise((resolve) => setTimeout(resolve, 80))
    const second = createRuntime({
      store: data,
      agents: [approvalAgent('post-decision', counter)],
      leaseTtlMs: 50,
    })
    expect(await second.recover()).toEqual([handle.runId])
    expect(await second.handle(handle.runId).result).toContain('paid')
    expect(counter.runs).toBe(1)
    await second.shutdown()
  })

  it.each([
    ['before the session append', 'appendSession'],
    // This window guards the order built for issue 13 (session first, then the index row, and the
    // append once per run id); 4da5add did the two the other way round, so a kill here passes there.
    ['after the session append, before the index update', 'updateRun'],
  ])(
    'killed %s (a store without the session-turn feature): the turn reaches the session exactly once',
    async (_when, method) => {
      const data = await open()
      const crash = freezable(withoutFeatures(data))
      const first = createRuntime({
        store: crash.store,
        agents: [chatAgent()],
        leaseTtlMs: 50,
        onError: () => undefined,
      })
      crash.dieAt(
        (called, args) =>
          called === method &&
          (method === 'appendSession' || (args[1] as { status?: string })?.status === 'completed'),
      )
      const handle = await first.spawn('chat', 'hello', { sessionId: `s-${method}` })
      await until(async () => crash.frozen)
      expect((await data.read(handle.runId)).length).toBe(2)
      await new Promise((resolve) => setTimeout(resolve, 80))
      const second = createRuntime({ store: data, agents: [chatAgent()], leaseTtlMs: 50 })
      // The run had journaled its end: waking it does the bookkeeping (it is not "resumed").
      expect(await second.recover()).toEqual([])
      await until(async () => (await data.getRun(handle.runId))?.status === 'completed')
      await second.recover()
      const session = await data.getSession(`s-${method}`)
      expect(session?.messages.map((message) => message.role)).toEqual(['user', 'assistant'])
      await second.shutdown()
    },
  )

  // With the feature, a run's last append carries its final row and its session turn (ADR 0127):
  // the windows are on either side of it.
  const lastAppend = (method: string, args: unknown[]) =>
    method === 'append' && (args[3] as AppendOptions | undefined)?.session !== undefined
  it.each([
    ['before the last append', 'before'],
    ['after the last append', 'after'],
  ] as const)('killed %s: the turn reaches the session exactly once', async (_when, side) => {
    const data = await open()
    const crash = freezable(data)
    const first = createRuntime({
      store: crash.store,
      agents: [chatAgent()],
      leaseTtlMs: 50,
      onError: () => undefined,
    })
    if (side === 'before') crash.dieAt(lastAppend)
    else crash.dieAfter(lastAppend)
    const handle = await first.spawn('chat', 'hello', { sessionId: `s-${side}` })
    await until(async () => crash.frozen)
    expect((await data.read(handle.runId)).length).toBe(side === 'before' ? 1 : 2)
    await new Promise((resolve) => setTimeout(resolve, 80))
    const second = createRuntime({ store: data, agents: [chatAgent()], leaseTtlMs: 50 })
    // Before: nothing of the last step was written, so the run is resumed; after: it is complete.
    expect(await second.recover()).toEqual(side === 'before' ? [handle.runId] : [])
    await until(async () => (await data.getRun(handle.runId))?.status === 'completed')
    await second.recover()
    expect((await data.read(handle.runId)).map((entry) => entry.type)).toEqual([
      'run.started',
      'model.responded',
    ])
    const session = await data.getSession(`s-${side}`)
    expect(session?.messages.map((message) => message.role)).toEqual(['user', 'assistant'])
    await second.shutdown()
  })
}
