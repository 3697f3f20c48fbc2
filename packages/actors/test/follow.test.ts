import { defineTool, type JournalEntry, type Store } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { describe, expect, it } from 'vitest'
import { Agent, createRuntime } from '../src/index.ts'
import { gate, until } from './run-support.ts'
import { scripted } from './support.ts'

/**
 * `runtime.follow` is how a parent supervises its child (every child entry it reports comes from
 * it), so an entry it misses or delays is a part missing from, or late in, the parent's stream.
 */

/** A store whose calls for one run can be held by `hold(method, args)` until the promise it returns settles. */
const holding = (base: Store, hold: (method: string, args: unknown[]) => Promise<void> | undefined) =>
  new Proxy(base, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver)
      if (typeof value !== 'function') return value
      return async (...args: unknown[]) => {
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
        await hold(String(property), args)
        return result
      }
    },
  }) as Store

const collectInto = (entries: JournalEntry[], source: AsyncIterable<JournalEntry>) =>
  (async () => {
    for await (const entry of source) entries.push(entry)
  })()

describe('runtime.follow', () => {
  it('yields the last entries of a run that ends between its read of the journal and its status check', async () => {
    const base = createMemoryStore()
    const answer = gate()
    let runId = ''
    let held = false
    const store = holding(base, (method, args) => {
      // The first empty read after the run started: hold its answer until the run has ended.
      if (held || method !== 'read' || args[0] !== runId || runId === '') return undefined
      if ((args[1] as { afterSeq?: number } | undefined)?.afterSeq !== 1) return undefined
      held = true
      answer.open()
      return until(async () => (await base.getRun(runId))?.status === 'completed')
    })
    const agent = new Agent({
      id: 'ends-fast',
      model: scripted(async () => {
        await answer.promise
        return { text: 'done' }
      }),
      policies: { retry: false },
    })
    const runtime = createRuntime({ store, agents: [agent] })
    const handle = await runtime.spawn('ends-fast', 'go')
    runId = handle.runId
    const entries: JournalEntry[] = []
    await collectInto(entries, runtime.follow(runId))
    expect(held).toBe(true)
    expect(entries.map((entry) => entry.type)).toEqual(['run.started', 'model.responded'])
    await runtime.shutdown()
  })

  it('does not wait for the next commit when one came while it was checking the status', async () => {
    const base = createMemoryStore()
    const modelGate = gate()
    const toolGate = gate()
    const seen = gate()
    let runId = ''
    let emptyRead = false
    let heldCheck = false
    const store = holding(base, (method, args) => {
      if (runId === '' || args[0] !== runId) return undefined
      if (method === 'read' && !emptyRead && (args[1] as { afterSeq?: number } | undefined)?.afterSeq === 1) {
        // follow has read everything there is: only now does the model answer.
        emptyRead = true
        modelGate.open()
        return undefined
      }
      // follow's status check after that read: the model's response is committed while it waits.
      if (method === 'getRun' && emptyRead && !heldCheck) {
        heldCheck = true
        return seen.promise
      }
      return undefined
    })
    const agent = new Agent({
      id: 'slow-tool',
      model: scripted(async (request) => {
        if (request.messages.at(-1)?.role === 'tool') return { text: 'finished' }
        await modelGate.promise
        return { toolCalls: [{ id: 'slow-1', name: 'slow', input: {} }] }
      }),
      tools: [
        defineTool({
          name: 'slow',
          description: 'Waits.',
          input: { type: 'object' },
          sideEffects: 'none',
          handler: async () => {
            await toolGate.promise
            return 'ok'
          },
        }),
      ],
      policies: { retry: false },
    })
    const runtime = createRuntime({ store, agents: [agent] })
    const handle = await runtime.spawn('slow-tool', 'go')
    runId = handle.runId
    // A second reader of the outlet, subscribed first, tells when the response is committed.
    const reader = runtime.stream(runId)[Symbol.asyncIterator]()
    const committed = (async () => {
      for (let next = await reader.next(); !next.done; next = await reader.next())
        if (next.value.part.type === 'tool-input-available') return
    })()
    const entries: JournalEntry[] = []
    const following = collectInto(entries, runtime.follow(runId))
    await committed
    seen.open()
    // The tool still runs: the response arrives without waiting for the tool's result.
    await until(() => entries.some((entry) => entry.type === 'model.responded'))
    expect(heldCheck).toBe(true)
    toolGate.open()
    await following
    await reader.return?.()
    expect(entries.map((entry) => entry.type)).toEqual([
      'run.started',
      'model.responded',
      'tool.succeeded',
      'model.responded',
    ])
    await runtime.shutdown()
  })

  it('yields an entry without stream parts (a tool start) when it is committed', async () => {
    const base = createMemoryStore()
    const toolGate = gate()
    const released = gate()
    const entries: JournalEntry[] = []
    let runId = ''
    // The tool's start is journaled only once follow, having read the response, waits for more.
    const store = new Proxy(base, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver)
        if (typeof value !== 'function') return value
        return async (...args: unknown[]) => {
          const starting =
            property === 'append' &&
            (args[1] as ReadonlyArray<{ type: string }>).some((entry) => entry.type === 'tool.started')
          if (starting) await released.promise
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
          if (
            property === 'getRun' &&
            args[0] === runId &&
            entries.some((entry) => entry.type === 'model.responded')
          )
            setImmediate(released.open)
          return result
        }
      },
    }) as Store
    const agent = new Agent({
      id: 'unsafe-slow',
      model: scripted((request) =>
        request.messages.at(-1)?.role === 'tool'
          ? { text: 'finished' }
          : { toolCalls: [{ id: 'charge-1', name: 'charge', input: {} }] },
      ),
      tools: [
        defineTool({
          name: 'charge',
          description: 'Charges a card (unsafe: its start is journaled first).',
          input: { type: 'object' },
          handler: async () => {
            await toolGate.promise
            return 'charged'
          },
        }),
      ],
      policies: { retry: false },
    })
    const runtime = createRuntime({ store, agents: [agent] })
    const handle = await runtime.spawn('unsafe-slow', 'go')
    runId = handle.runId
    const following = collectInto(entries, runtime.follow(runId))
    // The tool still runs: its start arrives on its own commit, not with the tool's result.
    await until(() => entries.some((entry) => entry.type === 'tool.started'))
    toolGate.open()
    await following
    expect(entries.map((entry) => entry.type)).toEqual([
      'run.started',
      'model.responded',
      'tool.started',
      'tool.succeeded',
      'model.responded',
    ])
    await runtime.shutdown()
  })
})
