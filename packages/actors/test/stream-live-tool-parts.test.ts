import { comparePositions, defineTool, type PositionedPart, type Store, type StreamPart } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { Agent, createRuntime, type Runtime } from '../src/index.ts'
import { gate, intercept, storeBackends, until } from './run-support.ts'
import { scripted } from './support.ts'

/**
 * A tool's `context.emit` parts are live only (not journaled): a reader that follows the run from
 * its start, or that joins while the tool still runs, must get every one of them, in order, once,
 * between the tool's input and its result, then the run's finish.
 */

const backends = storeBackends('vel-live-tool-')
const N = 40

type Pause = 'timeout' | 'microtask' | 'none'
const pause = (kind: Pause): Promise<void> | undefined =>
  kind === 'timeout'
    ? new Promise((resolve) => setTimeout(resolve, 0))
    : kind === 'microtask'
      ? Promise.resolve()
      : undefined

/** Calls `ticker` once, then answers. */
const model = () =>
  scripted((request) =>
    request.messages.at(-1)?.role === 'tool'
      ? { text: 'done' }
      : { toolCalls: [{ id: 'call_1', name: 'ticker', input: {} }] },
  )

const ticker = (
  sideEffects: 'none' | 'unsafe',
  kind: Pause,
  /** Awaited before tick `at` (a reader joins then). */
  hold?: { readonly at: number; readonly reached: () => void; readonly go: Promise<void> },
) =>
  defineTool({
    name: 'ticker',
    description: 'Emits ticks.',
    input: { type: 'object', properties: {}, additionalProperties: false },
    sideEffects,
    handler: async (_input: Record<string, never>, context) => {
      for (let i = 0; i < N; i++) {
        if (hold?.at === i) {
          hold.reached()
          await hold.go
        }
        context.emit?.([{ type: 'data-tick', data: { i } } as StreamPart])
        await pause(kind)
      }
      return 'ticked'
    },
  })

const ticksOf = (parts: ReadonlyArray<PositionedPart>): number[] =>
  parts.flatMap(({ part }) => (part.type === 'data-tick' ? [(part.data as { i: number }).i] : []))

const read = async (runtime: Runtime, runId: string): Promise<PositionedPart[]> => {
  const all: PositionedPart[] = []
  for await (const positioned of runtime.stream(runId)) all.push(positioned)
  return all
}

/** Every tick once, in order, after the tool's input and before its result; the run's finish last. */
const expectWhole = (parts: ReadonlyArray<PositionedPart>) => {
  expect(ticksOf(parts)).toEqual(Array.from({ length: N }, (_, i) => i))
  const types = parts.map(({ part }) => part.type)
  const input = types.indexOf('tool-input-available')
  const output = types.indexOf('tool-output-available')
  const firstTick = types.indexOf('data-tick')
  const lastTick = types.lastIndexOf('data-tick')
  expect(input).toBeGreaterThanOrEqual(0)
  expect(firstTick).toBeGreaterThan(input)
  expect(output).toBeGreaterThan(lastTick)
  expect(types.at(-1)).toBe('finish')
  expect(types.filter((type) => type === 'finish')).toHaveLength(1)
  expect(types.filter((type) => type === 'start')).toHaveLength(1)
}

const cases: Array<['none' | 'unsafe', Pause]> = [
  ['none', 'timeout'],
  ['none', 'microtask'],
  ['none', 'none'],
  ['unsafe', 'timeout'],
  ['unsafe', 'microtask'],
  ['unsafe', 'none'],
]

describe.each(backends)("a tool's live parts in runtime.stream, %s", (_name, open) => {
  it.each(cases)(
    'reach a reader that follows from the spawn (%s tool, %s pause)',
    async (sideEffects, kind) => {
      const agent = new Agent({ id: 'ticks', model: model(), tools: [ticker(sideEffects, kind)] })
      const runtime = createRuntime({ store: await open(), agents: [agent] })
      const handle = await runtime.spawn('ticks', 'tick')
      // Two readers as clients make them: runtime.stream and the handle's parts, both right after spawn.
      const [streamed, handled] = await Promise.all([
        read(runtime, handle.runId),
        (async () => {
          const all: StreamPart[] = []
          for await (const part of handle.parts()) all.push(part)
          return all
        })(),
      ])
      expect(await handle.result).toBe('done')
      expectWhole(streamed)
      expect(handled.map((part) => part.type)).toEqual(streamed.map(({ part }) => part.type))
      // Positions strictly increase: no duplicates.
      const keys = streamed.map(
        ({ position }) => `${position.seq}/${position.live ? 'l' : 'j'}/${position.index}`,
      )
      expect(new Set(keys).size).toBe(keys.length)
      await runtime.shutdown()
    },
  )

  it.each(cases)(
    'reach a reader that joins while the tool runs (%s tool, %s pause)',
    async (sideEffects, kind) => {
      let reached!: () => void
      const atHold = new Promise<void>((resolve) => {
        reached = resolve
      })
      const go = gate()
      const agent = new Agent({
        id: 'ticks',
        model: model(),
        tools: [ticker(sideEffects, kind, { at: N / 2, reached, go: go.promise })],
      })
      const runtime = createRuntime({ store: await open(), agents: [agent] })
      const handle = await runtime.spawn('ticks', 'tick')
      await atHold
      const reading = read(runtime, handle.runId)
      // The reader has read the journal and waits for live parts before the tool goes on.
      await new Promise((resolve) => setTimeout(resolve, 20))
      go.open()
      const parts = await reading
      expect(await handle.result).toBe('done')
      expectWhole(parts)
      await runtime.shutdown()
    },
  )

  it.each(cases)(
    "reach a reader whose first journal read returns after the tool's result (%s tool, %s pause)",
    async (sideEffects, kind) => {
      const store = await open()
      let slow = true
      // The reader's first read of the journal is slow (a store under load): it returns the journal
      // with the tool's result in it, while the ticks it was sent live wait in its queue.
      const reading: Store = intercept(store, {
        read: async (call, _runId: string, options?: { afterSeq?: number }) => {
          if (slow && (options?.afterSeq ?? 0) === 0) {
            slow = false
            await until(async () =>
              (await store.read(runId)).some((entry) => entry.type === 'tool.succeeded'),
            )
          }
          return call()
        },
      })
      const agent = new Agent({ id: 'ticks', model: model(), tools: [ticker(sideEffects, kind)] })
      const runtime = createRuntime({ store: reading, agents: [agent] })
      const handle = await runtime.spawn('ticks', 'tick')
      const runId = handle.runId
      const parts = await read(runtime, runId)
      expect(await handle.result).toBe('done')
      expectWhole(parts)
      await runtime.shutdown()
    },
  )

  it.each(['none', 'unsafe'] as const)(
    "reach a reader in order while another tool's entries are journaled (%s ticker)",
    async (sideEffects) => {
      // `ticker` emits on every microtask while `other` (with effects: its start and its result are
      // journaled) runs beside it: ticks go out while appends return and their entries commit.
      const other = defineTool({
        name: 'other',
        description: 'Takes a few turns.',
        input: { type: 'object', properties: {}, additionalProperties: false },
        sideEffects: 'unsafe',
        handler: async () => {
          for (let i = 0; i < 5; i++) await Promise.resolve()
          return 'other'
        },
      })
      const both = scripted((request) =>
        request.messages.at(-1)?.role === 'tool'
          ? { text: 'done' }
          : {
              toolCalls: [
                { id: 'call_1', name: 'ticker', input: {} },
                { id: 'call_2', name: 'other', input: {} },
              ],
            },
      )
      const agent = new Agent({ id: 'ticks', model: both, tools: [ticker(sideEffects, 'microtask'), other] })
      const runtime = createRuntime({ store: await open(), agents: [agent] })
      const handle = await runtime.spawn('ticks', 'tick')
      const parts = await read(runtime, handle.runId)
      expect(await handle.result).toBe('done')
      expect(ticksOf(parts)).toEqual(Array.from({ length: N }, (_, i) => i))
      expect(parts.filter(({ part }) => part.type === 'tool-output-available')).toHaveLength(2)
      expect(parts.at(-1)?.part.type).toBe('finish')
      // In position order, each position once.
      for (let index = 1; index < parts.length; index++)
        expect(
          comparePositions(
            (parts[index - 1] as PositionedPart).position,
            (parts[index] as PositionedPart).position,
          ),
        ).toBeLessThan(0)
      await runtime.shutdown()
    },
  )
})

describe.each(backends)('a model step in runtime.stream, %s', (_name, open) => {
  it('reaches a reader whose first journal read returns after the response whole, as the journal has it', async () => {
    const store = await open()
    let slow = true
    let runId = ''
    // The first read of the journal returns only once the answer is journaled: meanwhile the live
    // parts of the model call (its step's start, the text deltas) wait in the reader's queue.
    const reading: Store = intercept(store, {
      read: async (call, _runId: string, options?: { afterSeq?: number }) => {
        if (slow && (options?.afterSeq ?? 0) === 0) {
          slow = false
          await until(async () => (await store.read(runId)).some((entry) => entry.type === 'model.responded'))
        }
        return call()
      },
    })
    const agent = new Agent({ id: 'talks', model: scripted(() => ({ text: 'hello there' })) })
    const runtime = createRuntime({ store: reading, agents: [agent] })
    const handle = await runtime.spawn('talks', 'hi')
    runId = handle.runId
    const parts = await read(runtime, runId)
    expect(await handle.result).toBe('hello there')
    // The same parts as a reader of the finished run gets from the journal alone.
    const replayed: PositionedPart[] = []
    for await (const positioned of runtime.stream(runId)) replayed.push(positioned)
    expect(parts.map(({ part }) => part.type)).toEqual(replayed.map(({ part }) => part.type))
    expect(parts.filter(({ part }) => part.type === 'start-step')).toHaveLength(1)
    await runtime.shutdown()
  })
})
