import { defineTool, StoreError } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { describe, expect, it } from 'vitest'
import { Agent, createRuntime } from '../src/index.ts'
import { scripted } from './support.ts'

/** An agent whose one tool call waits for `release()`; counts handler runs. */
function slowToolAgent(id: string) {
  let release: () => void = () => undefined
  let runs = 0
  let entered: () => void = () => undefined
  const inside = new Promise<void>((resolve) => {
    entered = resolve
  })
  const tool = defineTool({
    name: 'slow',
    description: 'Slow.',
    input: { type: 'object' },
    handler: () => {
      runs += 1
      entered()
      return new Promise<string>((resolve) => {
        release = () => resolve('slow done')
      })
    },
  })
  const model = scripted((request) =>
    request.messages.at(-1)?.role === 'tool'
      ? { text: `final: ${JSON.stringify(request.messages.at(-1)?.content)}` }
      : { toolCalls: [{ id: 's1', name: 'slow', input: {} }] },
  )
  const agent = () => new Agent({ id, model, tools: [tool], policies: { retry: false } })
  return { agent, inside, release: () => release(), runs: () => runs }
}

describe('shutdown', () => {
  it('lets a running tool finish and journal, then leaves the run resumable elsewhere', async () => {
    const store = createMemoryStore()
    const slow = slowToolAgent('drain')
    const first = createRuntime({ store, agents: [slow.agent()], leaseTtlMs: 50 })
    const handle = await first.spawn('drain', 'go')
    await slow.inside
    const stopping = first.shutdown()
    slow.release()
    await stopping
    expect(first.activeRuns).toBe(0)
    const record = await store.getRun(handle.runId)
    expect(record?.status).toBe('running')
    expect((await store.read(handle.runId)).map((entry) => entry.type)).toContain('tool.succeeded')
    const second = createRuntime({ store, agents: [slow.agent()], leaseTtlMs: 50 })
    const resumed = second.handle(handle.runId)
    expect(await second.recover()).toEqual([handle.runId])
    expect(await resumed.result).toContain('slow done')
    expect(slow.runs()).toBe(1)
  })

  it('aborts a tool still running after the grace period; the unsafe call is then not re-run', async () => {
    const store = createMemoryStore()
    const slow = slowToolAgent('grace')
    const first = createRuntime({ store, agents: [slow.agent()], leaseTtlMs: 50 })
    const handle = await first.spawn('grace', 'go')
    await slow.inside
    await first.shutdown({ graceMs: 20 })
    const second = createRuntime({ store, agents: [slow.agent()], leaseTtlMs: 50 })
    const resumed = second.handle(handle.runId)
    await second.recover()
    expect(await resumed.result).toContain('is unknown')
    expect(slow.runs()).toBe(1)
  })

  it('refuses new runs after shutdown', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), agents: [slowToolAgent('x').agent()] })
    await runtime.shutdown()
    await expect(runtime.spawn('x', 'hi')).rejects.toMatchObject({ reason: 'invalid-state' })
  })
})

describe('recover', () => {
  it('marks a run whose worker died before run.started as failed, instead of retrying it forever', async () => {
    const store = createMemoryStore()
    await store.createRun({ runId: 'orphan', agentId: 'x', status: 'running' })
    const runtime = createRuntime({ store, agents: [slowToolAgent('x').agent()] })
    expect(await runtime.recover()).toEqual([])
    expect(await store.getRun('orphan')).toMatchObject({ status: 'failed', error: { reason: 'corrupted' } })
  })
})

describe('store failures', () => {
  // Its appends fail `failures` times; a store that is down (`down`) refuses new runs as well.
  const flakyStore = (failures: number, down = false) => {
    const store = createMemoryStore()
    let left = failures
    const append = store.append.bind(store)
    store.append = async (...args) => {
      if (left > 0) {
        left -= 1
        throw new StoreError('unavailable', 'database is restarting')
      }
      return append(...args)
    }
    if (down)
      store.createRun = async () => {
        throw new StoreError('unavailable', 'database is restarting')
      }
    return store
  }
  const echo = () =>
    new Agent({ id: 'echo', model: scripted(() => ({ text: 'still here' })), policies: { retry: false } })

  it('a transient store failure is retried and the run completes', async () => {
    const store = flakyStore(2)
    const runtime = createRuntime({ store, agents: [echo()] })
    expect(await (await runtime.spawn('echo', 'hi')).result).toBe('still here')
  })

  it('a store that stays down fails the spawn with the store error and holds nothing', async () => {
    const store = flakyStore(1000, true)
    const runtime = createRuntime({ store, agents: [echo()] })
    await expect(runtime.spawn('echo', 'hi')).rejects.toMatchObject({
      _tag: 'StoreError',
      reason: 'unavailable',
    })
    expect(runtime.activeRuns).toBe(0)
  })
})
