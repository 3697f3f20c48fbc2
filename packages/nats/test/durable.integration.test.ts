import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { headers as createHeaders } from '@nats-io/transport-node'
import { createMemoryStore } from '@vel/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNatsClient, createSubjects, encodeJson, ensureTriggerStream } from '../src/index.ts'
import { connectNats, probeNats, startWorker, type TestWorker, uniquePrefix } from './support.ts'

const available = await probeNats()

const waitFor = async <T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> => {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error('timed out waiting')
}

describe.skipIf(!available)('durable triggers over JetStream (integration)', () => {
  const prefix = uniquePrefix('durable')
  const subjects = createSubjects(prefix)
  const store = createMemoryStore()
  let connection: Awaited<ReturnType<typeof connectNats>>
  let worker: TestWorker | undefined

  beforeAll(async () => {
    await store.migrate()
    connection = await connectNats()
  })
  afterAll(async () => {
    await worker?.close()
    const manager = await jetstreamManager(connection)
    await manager.streams.delete(subjects.triggerStream).catch(() => undefined)
    await connection.close()
  })

  it('a trigger published while no worker runs is processed exactly once when one starts', async () => {
    const client = createNatsClient(connection, { prefix })
    const js = jetstream(connection)
    // 1: the client's durable trigger; 2: the same trigger published twice under one message id
    // (JetStream dedupes); 3: the same idempotency key under two message ids (the runtime dedupes,
    // as for a redelivery); 4: no run id and no key (the key is derived from the message id).
    await client.trigger('adder', 'steps=1', { durable: true, runId: 'durable-1' })
    for (let index = 0; index < 2; index++) {
      const headers = createHeaders()
      headers.set('Nats-Msg-Id', 'same-message')
      await js.publish(
        subjects.durableTrigger('adder'),
        encodeJson({ input: 'steps=2', runId: 'durable-2' }),
        { headers },
      )
    }
    for (const id of ['first-delivery', 'second-delivery']) {
      const headers = createHeaders()
      headers.set('Nats-Msg-Id', id)
      await js.publish(
        subjects.durableTrigger('adder'),
        encodeJson({ input: 'steps=3', idempotencyKey: 'pay-once' }),
        {
          headers,
        },
      )
    }
    await js.publish(subjects.durableTrigger('adder'), encodeJson({ input: 'steps=4' }))
    expect((await store.listRuns()).items).toHaveLength(0)

    worker = await startWorker({ store, prefix, worker: { jetstream: true } })
    const runs = await waitFor(async () => {
      const page = await store.listRuns({ status: 'completed' })
      return page.items.length >= 4 ? page.items : undefined
    })
    // Redeliveries and duplicates must not start more runs.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const all = (await store.listRuns()).items
    expect(all).toHaveLength(4)
    const answers = all.map((run) => run.answer).sort()
    expect(answers).toEqual(['sum=12', 'sum=2', 'sum=20', 'sum=6'].sort())
    expect(all.filter((run) => run.idempotencyKey === 'pay-once')).toHaveLength(1)
    expect(runs).toHaveLength(4)
    const info = await (await jetstreamManager(connection)).streams.info(subjects.triggerStream)
    expect(info.state.messages).toBe(0)
  })

  it('a bad durable trigger is consumed with an error reply to Vel-Reply-To and starts nothing', async () => {
    await ensureTriggerStream(connection, { prefix })
    const inbox = `${prefix}.replies.bad`
    const replies: Array<{ error: { reason: string } }> = []
    const subscription = connection.subscribe(inbox, {
      callback: (_error, message) => {
        replies.push(message.json())
      },
    })
    const before = (await store.listRuns()).items.length
    const js = jetstream(connection)
    for (const [agent, data] of [
      ['adder', new TextEncoder().encode('not json')],
      ['adder', encodeJson({ nope: 1 })],
      ['ghost', encodeJson({ input: 'x' })],
    ] as const) {
      const headers = createHeaders()
      headers.set('Vel-Reply-To', inbox)
      await js.publish(subjects.durableTrigger(agent), data, { headers })
    }
    await waitFor(async () => (replies.length === 3 ? true : undefined))
    subscription.unsubscribe()
    expect(replies.map((reply) => reply.error.reason).sort()).toEqual(
      ['malformed-payload', 'schema-mismatch', 'unknown-agent'].sort(),
    )
    expect((await store.listRuns()).items.length).toBe(before)
    const info = await (await jetstreamManager(connection)).streams.info(subjects.triggerStream)
    expect(info.state.messages).toBe(0)
  })
})
