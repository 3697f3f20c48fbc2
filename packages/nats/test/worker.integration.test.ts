import { createRuntime } from '@vel/actors'
import {
  assertWellFormedStream,
  comparePositions,
  formatPosition,
  type PartPosition,
  type StreamPart,
} from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNatsClient, createSubjects, encodeJson, type NatsClient } from '../src/index.ts'
import { connectNats, probeNats, startWorker, type TestWorker, testAgents, uniquePrefix } from './support.ts'

const available = await probeNats()

const collect = async (parts: AsyncIterable<StreamPart>): Promise<StreamPart[]> => {
  const all: StreamPart[] = []
  for await (const part of parts) all.push(part)
  return all
}

const waitFor = async <T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> => {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error('timed out waiting')
}

describe.skipIf(!available)('NATS worker (integration)', () => {
  const prefix = uniquePrefix('worker')
  const subjects = createSubjects(prefix)
  const store = createMemoryStore()
  let served: TestWorker
  let client: NatsClient
  let clientConnection: Awaited<ReturnType<typeof connectNats>>

  const finalStatus = (runId: string) =>
    waitFor(async () => {
      const record = await store.getRun(runId)
      return record && ['completed', 'failed', 'cancelled'].includes(record.status) ? record : undefined
    })

  beforeAll(async () => {
    await store.migrate()
    served = await startWorker({ store, prefix })
    clientConnection = await connectNats()
    client = createNatsClient(clientConnection, { prefix, timeoutMs: 5000 })
  })
  afterAll(async () => {
    client?.close()
    await clientConnection?.close()
    await served?.close()
  })

  it('a trigger replies with the run id once stored; parts arrive in order with their positions', async () => {
    const raw: Array<{ position: PartPosition; header: string; type: string }> = []
    const runId = 'run-headers-1'
    const tap = clientConnection.subscribe(subjects.runEvents(runId), {
      callback: (_error, message) => {
        const envelope = message.json<{ position: PartPosition; part: StreamPart }>()
        raw.push({
          position: envelope.position,
          header: message.headers?.get('Vel-Position') ?? '',
          type: envelope.part.type,
        })
      },
    })
    const { runId: replied } = await client.trigger('adder', 'steps=2', { runId })
    expect(replied).toBe(runId)
    expect((await store.getRun(runId))?.agentId).toBe('adder')
    const parts = await collect(client.events(runId))
    assertWellFormedStream(parts)
    expect(parts.at(-1)?.type).toBe('finish')
    expect((await finalStatus(runId)).answer).toBe('sum=6')
    await waitFor(async () => (raw.at(-1)?.type === 'finish' ? true : undefined))
    tap.unsubscribe()
    // Each part's header is its position; positions only grow (live deltas, then their entry).
    for (const part of raw) expect(part.header).toBe(formatPosition(part.position))
    for (let index = 1; index < raw.length; index++)
      expect(
        comparePositions(
          (raw[index - 1] as (typeof raw)[number]).position,
          (raw[index] as (typeof raw)[number]).position,
        ),
      ).toBeLessThan(0)
    expect(raw.at(-1)?.position.seq).toBeGreaterThan(1)
    expect(raw.map((part) => part.type)).toEqual(parts.map((part) => part.type))
  })

  it('a repeated trigger with the same idempotency key returns the first run', async () => {
    const first = await client.trigger('adder', 'steps=1', { idempotencyKey: 'same-key' })
    const second = await client.trigger('adder', 'steps=1', { idempotencyKey: 'same-key' })
    expect(second.runId).toBe(first.runId)
    const runs = await store.listRuns({ agentId: 'adder' }, { limit: 200 })
    expect(runs.items.filter((run) => run.idempotencyKey === 'same-key')).toHaveLength(1)
  })

  it('an approval request is published, approved over NATS, and the run completes', async () => {
    const abort = new AbortController()
    const requests = client.requests('*', { signal: abort.signal })[Symbol.asyncIterator]()
    const pending = requests.next()
    const { runId } = await client.trigger('payer', 'pay please')
    const request = await pending
    abort.abort()
    expect(request.value).toMatchObject({
      runId,
      agentId: 'payer',
      request: { kind: 'approval', toolName: 'pay' },
    })
    await waitFor(async () => ((await store.getRun(runId))?.status === 'waiting' ? true : undefined))
    await client.approve(runId, request.value.request.requestId, { by: 'test' })
    expect((await finalStatus(runId)).answer).toBe('paid:receipt-500')
  })

  it('a denied approval finishes the run without paying', async () => {
    const { runId } = await client.trigger('payer', 'pay please')
    await waitFor(async () => ((await store.getRun(runId))?.status === 'waiting' ? true : undefined))
    await client.deny(runId, 'pay_1', { reason: 'too much' })
    const record = await finalStatus(runId)
    expect(record.status).toBe('completed')
    expect(String(record.answer)).toMatch(/^paid:error:/)
  })

  it('a question is answered with respond', async () => {
    const { runId } = await client.trigger('asker', 'hi')
    const events = collect(client.events(runId))
    await waitFor(async () => ((await store.getRun(runId))?.status === 'waiting' ? true : undefined))
    await client.respond(runId, 'ask_1', 'Ada')
    expect((await finalStatus(runId)).answer).toBe('hello Ada')
    const parts = await events
    expect(parts.at(-1)?.type).toBe('finish')
  })

  it('a trigger for a session whose run is unfinished gets a retryable invalid-state (session busy)', async () => {
    const sessionId = `busy-${prefix.replace(/\W/g, '-')}`
    const { runId } = await client.trigger('payer', 'pay please', { sessionId })
    await waitFor(async () => ((await store.getRun(runId))?.status === 'waiting' ? true : undefined))
    const refused = await client.trigger('adder', 'steps=1', { sessionId }).catch((error: unknown) => error)
    expect(refused).toMatchObject({ _tag: 'TransportError', reason: 'invalid-state', retryable: true })
    expect(String((refused as Error).message)).toContain(
      `session ${sessionId} has an unfinished run (${runId}`,
    )
    await client.deny(runId, 'pay_1')
    await finalStatus(runId)
    // Once it ended, the session takes the next turn.
    const { runId: next } = await client.trigger('adder', 'steps=1', { sessionId })
    expect((await finalStatus(next)).sessionId).toBe(sessionId)
  })

  it('cancel stops a run mid-tool', async () => {
    const { runId } = await client.trigger('sleeper', 'sleep')
    await waitFor(async () =>
      (await store.read(runId)).some((entry) => entry.type === 'tool.started') ? true : undefined,
    )
    await client.cancel(runId, 'enough')
    expect((await finalStatus(runId)).status).toBe('cancelled')
  })

  it('bad payloads of each kind get a typed error reply and change nothing', async () => {
    const before = (await store.listRuns({}, { limit: 500 })).items.length
    const ask = async (subject: string, data: Uint8Array) =>
      (await clientConnection.request(subject, data, { timeout: 5000 })).json<{
        error: { reason: string; tag: string }
      }>()
    const notJson = new TextEncoder().encode('{not json')
    expect((await ask(subjects.agentRun('adder'), notJson)).error).toMatchObject({
      tag: 'TransportError',
      reason: 'malformed-payload',
    })
    expect((await ask(subjects.agentRun('adder'), encodeJson({ inputs: 'x' }))).error.reason).toBe(
      'schema-mismatch',
    )
    expect(
      (await ask(subjects.agentRun('adder'), encodeJson({ input: 'x', runId: 'has.dot' }))).error.reason,
    ).toBe('schema-mismatch')
    expect(
      (await ask(subjects.agentRun('adder'), encodeJson({ input: 'x', colour: 'red' }))).error.reason,
    ).toBe('schema-mismatch')
    expect((await ask(subjects.agentRun('nobody'), encodeJson({ input: 'x' }))).error.reason).toBe(
      'unknown-agent',
    )
    expect((await ask(subjects.humanReply('no-such-run'), notJson)).error.reason).toBe('malformed-payload')
    expect((await ask(subjects.humanReply('no-such-run'), encodeJson({ type: 'maybe' }))).error.reason).toBe(
      'schema-mismatch',
    )
    expect(
      (await ask(subjects.humanReply('no-such-run'), encodeJson({ type: 'approve', toolCallId: 'x' }))).error
        .reason,
    ).toBe('unknown-run')
    expect((await ask(subjects.runCancel('no-such-run'), encodeJson({}))).error.reason).toBe('unknown-run')
    expect((await ask(subjects.runCancel('no-such-run'), encodeJson({ reason: 5 }))).error.reason).toBe(
      'schema-mismatch',
    )
    expect((await store.listRuns({}, { limit: 500 })).items.length).toBe(before)

    // A finished run refuses answers; its stored state stays as it was.
    const { runId } = await client.trigger('adder', 'steps=1')
    const done = await finalStatus(runId)
    const journal = await store.read(runId)
    await expect(client.approve(runId, 'add_1')).rejects.toMatchObject({ reason: 'invalid-state' })
    await expect(client.cancel(runId)).rejects.toMatchObject({ reason: 'invalid-state' })
    expect(await store.read(runId)).toEqual(journal)
    expect(await store.getRun(runId)).toEqual(done)

    // The client maps error replies to TransportError; the worker keeps serving.
    await expect(client.trigger('nobody', 'x')).rejects.toMatchObject({
      _tag: 'TransportError',
      reason: 'unknown-agent',
    })
    const again = await client.trigger('adder', 'steps=1')
    expect((await finalStatus(again.runId)).answer).toBe('sum=2')
  })

  it('a control message for a run live on another worker is routed to its lease owner', async () => {
    // Runtime A holds the run but takes no NATS traffic except its direct control subject.
    const runtimeA = createRuntime({ store, agents: testAgents(), ownerId: 'owner-a', leaseTtlMs: 5000 })
    const connectionA = await connectNats()
    const received: string[] = []
    connectionA.subscribe(subjects.workerControl('owner-a'), {
      callback: (_error, message) => {
        const routed = message.json<{ runId: string; event: { type: string } }>()
        received.push(`${message.headers?.get('Vel-Routed')}:${routed.runId}:${routed.event.type}`)
        void runtimeA.cancel('run-forwarded', 'from B').then(() => message.respond(encodeJson({ ok: true })))
      },
    })
    await connectionA.flush()
    const handle = await runtimeA.spawn('sleeper', 'sleep', { runId: 'run-forwarded' })
    await waitFor(async () =>
      (await store.read(handle.runId)).some((entry) => entry.type === 'tool.started') ? true : undefined,
    )
    await client.cancel(handle.runId, 'from B')
    expect(received).toEqual([`event:${handle.runId}:run.cancelled`])
    expect((await finalStatus(handle.runId)).status).toBe('cancelled')
    await runtimeA.shutdown()
    await connectionA.close()
  })
})
