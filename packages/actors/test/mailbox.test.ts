import {
  assertWellFormedStream,
  type LanguageModel,
  type ModelPart,
  type PositionedPart,
  type Store,
  type StreamPart,
} from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { describe, expect, it } from 'vitest'
import { Agent, createInProcessBus, createRuntime } from '../src/index.ts'
import { approvalAgent, crashWindows, gate, intercept, storeBackends, until } from './run-support.ts'
import { scripted } from './support.ts'

const backends = storeBackends('vel-mailbox-')

describe('one owner per run', () => {
  it('recover() the moment the run is in the index finds it leased and starts no second owner', async () => {
    const base = createMemoryStore()
    let calls = 0
    let created = false
    let recovering: Promise<unknown> | undefined
    let leaseAtCreation: unknown
    let runtime: ReturnType<typeof createRuntime> | undefined
    const store = new Proxy(base, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver)
        if (property === 'createRun')
          return async (...args: Parameters<Store['createRun']>) => {
            const record = await target.createRun(...args)
            created = true
            // Before spawn sees the row: the run is in the index, `running`, and already leased.
            leaseAtCreation = await target.getLease(record.runId)
            recovering = runtime?.recover()
            return record
          }
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const model: LanguageModel = scripted(() => {
      calls += 1
      return { text: 'hello once' }
    })
    const agent = new Agent({ id: 'once', model, policies: { retry: false } })
    runtime = createRuntime({ store, agents: [agent], leaseTtlMs: 10_000 })
    const handle = await runtime.spawn('once', 'hi')
    expect(created).toBe(true)
    expect(leaseAtCreation).toMatchObject({ runId: handle.runId, epoch: 1 })
    expect(await recovering).toEqual([])
    expect(await handle.result).toBe('hello once')
    expect(calls).toBe(1)
    const parts: StreamPart[] = []
    for await (const part of runtime.handle(handle.runId).parts()) parts.push(part)
    const journal = await runtime.journal(handle.runId)
    expect(journal.filter((entry) => entry.type === 'model.responded')).toHaveLength(1)
  })

  it('an answer sent the moment the request is published, to another worker, is delivered', async () => {
    const store = createMemoryStore()
    const counter = { runs: 0 }
    // As under load, A's passivation is slow: A lets go of the lease only once B has found it held,
    // so the answer always meets a run another worker owns (on 4da5add it was refused).
    let foundHeld = false
    const storeA = intercept(store, {
      releaseLease: async (call) => {
        await until(() => foundHeld)
        return call()
      },
    })
    const storeB = intercept(store, {
      acquireLease: async (call) => {
        const lease = await call()
        if (lease === undefined) foundHeld = true
        return lease
      },
    })
    const busA = createInProcessBus()
    const a = createRuntime({
      store: storeA,
      agents: [approvalAgent('fast', counter)],
      bus: busA,
      leaseTtlMs: 2000,
    })
    const b = createRuntime({ store: storeB, agents: [approvalAgent('fast', counter)], leaseTtlMs: 2000 })
    const answered: Array<Promise<void>> = []
    // The human replies at once, through worker B, while A still holds the run (before passivation).
    busA.onRequest((message) =>
      answered.push(b.approve(message.runId, message.request.requestId, { by: 'fast' })),
    )
    const handle = await a.spawn('fast', 'pay')
    await until(() => answered.length === 1)
    await answered[0]
    expect(foundHeld).toBe(true)
    await until(async () => (await store.getRun(handle.runId))?.status === 'completed')
    expect((await store.getRun(handle.runId))?.answer).toContain('paid')
    expect(counter.runs).toBe(1)
  })
})

describe('one outlet: parts in order, live', () => {
  it("after a denial, the decision's parts come before the next model call's", async () => {
    const bus = createInProcessBus()
    const seen: PositionedPart[] = []
    bus.onParts((_runId, parts) => seen.push(...parts))
    const counter = { runs: 0 }
    const data = createMemoryStore()
    // As under load, marking the woken run `running` is slow: once the decision is journaled it
    // takes until the next model call has streamed (on 4da5add that call's parts then went first).
    const store = intercept(data, {
      updateRun: async (call, runId: string, patch: { status?: string }) => {
        const decided = (await data.read(runId)).some((entry) => entry.type === 'approval.decided')
        if (patch.status === 'running' && decided)
          await until(() => seen.some((positioned) => positioned.part.type === 'text-start'))
        return call()
      },
    })
    const runtime = createRuntime({ store, agents: [approvalAgent('deny', counter)], bus })
    const handle = await runtime.spawn('deny', 'pay')
    await until(async () => (await data.getRun(handle.runId))?.status === 'waiting')
    await runtime.deny(handle.runId, 'pay_1', { reason: 'no' })
    await handle.result
    const types = seen.map((positioned) => positioned.part.type)
    const denied = types.indexOf('tool-output-denied')
    const text = types.indexOf('text-start')
    expect(denied).toBeGreaterThan(0)
    expect(text).toBeGreaterThan(denied)
    expect(types.slice(denied, denied + 3)).toEqual(['tool-output-denied', 'finish-step', 'start-step'])
    assertWellFormedStream(seen.map((positioned) => positioned.part))
  })

  it('parts stream live from the first delta, and every reader ends with the same message', async () => {
    const released = gate()
    const model: LanguageModel = {
      provider: 'test',
      modelId: 'slow',
      async *stream(): AsyncGenerator<ModelPart> {
        yield { type: 'text-start', id: 't' }
        yield { type: 'text-delta', id: 't', delta: 'Hel' }
        await released.promise
        yield { type: 'text-delta', id: 't', delta: 'lo' }
        yield { type: 'text-end', id: 't' }
        yield {
          type: 'finish',
          finishReason: 'stop',
          usage: { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedInputTokens: 0 },
        }
      },
    }
    const runtime = createRuntime({
      store: createMemoryStore(),
      agents: [new Agent({ id: 'slow', model, policies: { retry: false } })],
    })
    const handle = await runtime.spawn('slow', 'hi')
    const early: StreamPart[] = []
    const reader = runtime.stream(handle.runId)[Symbol.asyncIterator]()
    while (!early.some((part) => part.type === 'text-delta')) early.push((await reader.next()).value.part)
    // The first delta is out while the model is still streaming.
    expect(early.at(-1)).toMatchObject({ type: 'text-delta', delta: 'Hel' })
    // A reader that joins mid-call gets the call's live parts so far, then the rest.
    const late = (async () => {
      const parts: StreamPart[] = []
      for await (const { part } of runtime.stream(handle.runId)) parts.push(part)
      return parts
    })()
    released.open()
    const rest: StreamPart[] = []
    for (let next = await reader.next(); !next.done; next = await reader.next()) rest.push(next.value.part)
    const whole = [...early, ...rest]
    assertWellFormedStream(whole)
    const joined = await late
    assertWellFormedStream(joined)
    expect(joined).toEqual(whole)
    // A reader after the end gets the journal's whole text: the same text.
    const replay: StreamPart[] = []
    for await (const { part } of runtime.stream(handle.runId)) replay.push(part)
    assertWellFormedStream(replay)
    const textOf = (parts: StreamPart[]) =>
      parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('')
    expect(textOf(replay)).toBe('Hello')
    expect(textOf(whole)).toBe('Hello')
  })

  it('text streamed before a model error reaches readers before the error, live and replayed', async () => {
    const model: LanguageModel = {
      provider: 'test',
      modelId: 'broken',
      async *stream(): AsyncGenerator<ModelPart> {
        yield { type: 'text-start', id: 't' }
        yield { type: 'text-delta', id: 't', delta: 'partial answer' }
        throw new Error('connection reset')
      },
    }
    const runtime = createRuntime({
      store: createMemoryStore(),
      agents: [new Agent({ id: 'broken', model, policies: { retry: false } })],
    })
    const handle = await runtime.spawn('broken', 'hi')
    const live: StreamPart[] = []
    for await (const part of handle.parts()) live.push(part)
    await expect(handle.result).rejects.toThrow()
    const replay: StreamPart[] = []
    for await (const { part } of runtime.stream(handle.runId)) replay.push(part)
    for (const parts of [live, replay]) {
      assertWellFormedStream(parts)
      const delta = parts.findIndex((part) => part.type === 'text-delta')
      const error = parts.findIndex((part) => part.type === 'error')
      expect(delta).toBeGreaterThan(0)
      expect(error).toBeGreaterThan(delta)
    }
  })
})

describe('shutdown', () => {
  it('with a model call in flight resolves, releases the lease, and another worker finishes at once', async () => {
    const store = createMemoryStore()
    let calls = 0
    const model: LanguageModel = {
      provider: 'test',
      modelId: 'hang-then-answer',
      async *stream(_request, options): AsyncGenerator<ModelPart> {
        calls += 1
        if (calls === 1) {
          yield { type: 'text-start', id: 't' }
          await new Promise((_resolve, reject) =>
            options?.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
          )
        }
        yield { type: 'text-start', id: 'u' }
        yield { type: 'text-delta', id: 'u', delta: 'done elsewhere' }
        yield { type: 'text-end', id: 'u' }
        yield {
          type: 'finish',
          finishReason: 'stop',
          usage: { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedInputTokens: 0 },
        }
      },
    }
    const agent = () => new Agent({ id: 'deploy', model, policies: { retry: false } })
    const first = createRuntime({ store, agents: [agent()], leaseTtlMs: 60_000 })
    const handle = await first.spawn('deploy', 'go')
    await until(() => calls === 1)
    await expect(first.shutdown({ graceMs: 100 })).resolves.toBeUndefined()
    expect(first.activeRuns).toBe(0)
    expect(await store.getLease(handle.runId)).toBeUndefined()
    // Not after the 60 s lease would have expired: at once.
    const second = createRuntime({ store, agents: [agent()], leaseTtlMs: 60_000 })
    expect(await second.recover()).toEqual([handle.runId])
    expect(await second.handle(handle.runId).result).toBe('done elsewhere')
    await second.shutdown()
  })
})

describe.each(backends)('crash windows (%s)', (name, open) => crashWindows(name, open))
