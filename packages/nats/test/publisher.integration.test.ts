import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Msg } from '@nats-io/transport-node'
import { createMemoryStore } from '@vel/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSubjects, encodeJson } from '../src/index.ts'
import { batchedPublisher } from '../src/publisher.ts'
import { connectNats, probeNats, startWorker, type TestWorker, uniquePrefix } from './support.ts'

const available = await probeNats()

describe.skipIf(!available)('batched publisher (integration)', () => {
  const prefix = uniquePrefix('publisher')
  const subjects = createSubjects(prefix)
  const store = createMemoryStore()
  let served: TestWorker
  let caller: Awaited<ReturnType<typeof connectNats>>

  beforeAll(async () => {
    await store.migrate()
    served = await startWorker({ store, prefix })
    caller = await connectNats()
  })
  afterAll(async () => {
    await caller?.close()
    await served?.close()
  })

  it('hands what one turn published to the connection when the turn ends, in order', async () => {
    const connection = await connectNats()
    const received: string[] = []
    const subscription = caller.subscribe(`${prefix}.batch`, {
      callback: (_error, message) => {
        received.push(message.string())
      },
    })
    await caller.flush()
    const publisher = batchedPublisher(connection)
    expect(batchedPublisher(connection)).toBe(publisher)
    const before = connection.stats().outMsgs
    for (let i = 0; i < 500; i++) publisher.publish(`${prefix}.batch`, encodeJson(i))
    expect(connection.stats().outMsgs).toBe(before)
    await nextTurn()
    expect(connection.stats().outMsgs).toBe(before + 500)
    publisher.publish(`${prefix}.batch`, encodeJson('last'))
    publisher.flush()
    expect(connection.stats().outMsgs).toBe(before + 501)
    await connection.flush()
    await caller.flush()
    expect(received).toEqual([...Array.from({ length: 500 }, (_, i) => String(i)), '"last"'])
    subscription.unsubscribe()
    await connection.close()
  })

  it('a publish the closed connection refuses goes to onError and does not throw', async () => {
    const connection = await connectNats()
    const errors: unknown[] = []
    const publisher = batchedPublisher(connection, (error) => errors.push(error))
    await connection.close()
    publisher.publish(`${prefix}.closed`, encodeJson(1))
    publisher.flush()
    expect(errors).toHaveLength(1)
  })

  it('a worker sends a trigger reply after the parts published before it (the run is stored and started)', async () => {
    const runId = 'order-1'
    const inbox = `_INBOX.${prefix.replaceAll('.', '_')}.order`
    const arrivals: string[] = []
    let done: () => void = () => undefined
    const finished = new Promise<void>((resolve) => {
      done = resolve
    })
    const record = (message: Msg) => {
      const body = message.json<{ part?: { type: string }; runId?: string }>()
      arrivals.push(body.part?.type ?? `reply:${body.runId}`)
      if (body.part?.type === 'finish') done()
    }
    const events = caller.subscribe(subjects.runEvents(runId), {
      callback: (_error, message) => record(message),
    })
    const replies = caller.subscribe(inbox, { callback: (_error, message) => record(message) })
    await caller.flush()
    caller.publish(subjects.agentRun('adder'), encodeJson({ input: 'steps=1', runId }), { reply: inbox })
    await finished
    events.unsubscribe()
    replies.unsubscribe()
    expect(arrivals[0]).toBe('start')
    expect(arrivals.indexOf(`reply:${runId}`)).toBeGreaterThan(0)
    expect(arrivals.at(-1)).toBe('finish')
  })
})
