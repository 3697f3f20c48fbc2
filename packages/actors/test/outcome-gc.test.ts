/**
 * A caller that keeps only `handle.result` (as `agent.run` does) must get its result even when
 * the garbage collector runs while the run is going: a pending promise keeps nothing alive, so
 * the runtime itself must hold the outcome of a run whose owner is here.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { defineTool } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { expect, it } from 'vitest'
import { Agent, createRuntime } from '../src/index.ts'
import { scripted } from './support.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

it('settles the result of a run whose handle was dropped, across garbage collections', async () => {
  let open!: () => void
  const gate = new Promise<void>((resolve) => {
    open = resolve
  })
  let started!: () => void
  const running = new Promise<void>((resolve) => {
    started = resolve
  })
  const wait = defineTool({
    name: 'wait',
    description: 'Waits for the test.',
    input: { type: 'object' },
    sideEffects: 'none',
    handler: async () => {
      started()
      await gate
      return 'waited'
    },
  })
  const model = scripted((request) =>
    request.messages.some((message) => message.role === 'tool')
      ? { text: 'done' }
      : { toolCalls: [{ id: 'w1', name: 'wait', input: {} }] },
  )
  const agent = new Agent({ id: 'waiter', model, tools: [wait] })
  const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
  // Only the promise is kept, never the handle.
  const result = runtime.spawn('waiter', 'go').then((handle) => handle.result)
  await running
  for (let round = 0; round < 5; round++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  open()
  const bound = new Promise((_, reject) =>
    setTimeout(() => reject(new Error('the result never settled')), 10_000),
  )
  expect(await Promise.race([result, bound])).toBe('done')
  await runtime.shutdown()
})
