/**
 * Shared by the NATS integration tests, the worker processes and the benchmark: the NATS probe,
 * a scripted model (a pure function of the conversation, so a run resumed in another process sees
 * the same answers) and the test agents.
 */
import { appendFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { Agent, contactHuman, createRuntime, type Runtime } from '@vel/actors'
import {
  defineTool,
  type JsonValue,
  type LanguageModel,
  type Message,
  type ModelRequest,
  type Store,
} from '@vel/core'
import { createScriptedModel } from '@vel/providers/testing'
import { createNatsBus, createWorker, type NatsWorker, type WorkerOptions } from '../src/index.ts'

/** The NATS server the integration tests use. */
export const natsUrl = process.env.VEL_NATS_URL ?? 'nats://127.0.0.1:4222'

/** Whether a missing service must fail the run (CI sets `VEL_REQUIRE_SERVICES=1`). */
export const servicesRequired = process.env.VEL_REQUIRE_SERVICES === '1'

/** Probes NATS once: throws when services are required, otherwise warns and returns false. */
export async function probeNats(url: string = natsUrl): Promise<boolean> {
  try {
    const connection = await connect({ servers: url, timeout: 2000, maxReconnectAttempts: 0 })
    await connection.close()
    return true
  } catch (error) {
    const why = `NATS at ${url} is unreachable (${error instanceof Error ? error.message : String(error)})`
    if (servicesRequired) throw new Error(`${why}, and VEL_REQUIRE_SERVICES=1 requires it`)
    console.warn(
      `[skip] ${why}: skipping the NATS integration tests (set VEL_REQUIRE_SERVICES=1 to fail instead)`,
    )
    return false
  }
}

/** A subject prefix (and so stream names) no other test run uses. */
export const uniquePrefix = (name: string): string =>
  `veltest.${name}.${process.pid}${Math.random().toString(36).slice(2, 8)}`

/** Connects with unlimited reconnects, as workers should. */
export const connectNats = (url: string = natsUrl): Promise<NatsConnection> =>
  connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100, name: 'vel-test' })

/** A free TCP port on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })

const toolOutputs = (messages: ReadonlyArray<Message>): unknown[] =>
  messages.flatMap((message) =>
    message.role === 'tool'
      ? message.content.map((part) => ('output' in part ? part.output : `error:${part.error}`))
      : [],
  )

const firstUserText = (request: ModelRequest): string => {
  const first = request.messages.find((message) => message.role === 'user')
  return typeof first?.content === 'string' ? first.content : ''
}

interface Turn {
  text?: string
  call?: { id: string; name: string; input: JsonValue }
}

/** The scripted model of `@vel/providers/testing`, answering from the request alone (no hidden state). */
const scriptedModel = (respond: (request: ModelRequest) => Turn): LanguageModel =>
  createScriptedModel({
    record: false,
    respond: (request) => {
      const turn = respond(request)
      return {
        ...(turn.text === undefined ? {} : { text: turn.text }),
        ...(turn.call === undefined ? {} : { toolCalls: [turn.call] }),
      }
    },
  })

/** Options of the test agents. */
export interface AgentSetup {
  /** A file every `charge` run appends to (the unsafe side effect). */
  readonly sideEffectLog?: string
  /** Blocks `charge` after it wrote its side effect (to be killed there). */
  readonly blockInCharge?: boolean
}

/**
 * `adder` (input `steps=N`: N add calls, then `sum=...`), `payer` (one `pay` call needing
 * approval, then `paid:<output>`), `asker` (asks a human its name, then `hello <answer>`),
 * `sleeper` (a tool that waits until aborted) and `charger` (an unsafe tool that logs a side
 * effect, optionally blocking, then a `add` call, then `charged:<outputs>`).
 */
export function testAgents(setup: AgentSetup = {}): Agent[] {
  const add = defineTool({
    name: 'add',
    description: 'Adds two numbers.',
    input: {
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
      required: ['a', 'b'],
    },
    handler: ({ a, b }: { a: number; b: number }) => a + b,
    sideEffects: 'none',
  })
  const pay = defineTool({
    name: 'pay',
    description: 'Pays.',
    input: { type: 'object', properties: { cents: { type: 'number' } }, required: ['cents'] },
    handler: ({ cents }: { cents: number }) => `receipt-${cents}`,
    sideEffects: 'unsafe',
    needsApproval: true,
  })
  const sleep = defineTool({
    name: 'sleep',
    description: 'Sleeps until aborted.',
    input: { type: 'object', properties: {} },
    handler: (_input: unknown, context) =>
      new Promise((_resolve, reject) =>
        context.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
      ),
    sideEffects: 'idempotent',
  })
  const charge = defineTool({
    name: 'charge',
    description: 'Charges a card once.',
    input: { type: 'object', properties: { cents: { type: 'number' } }, required: ['cents'] },
    handler: async ({ cents }: { cents: number }, context) => {
      if (setup.sideEffectLog)
        appendFileSync(setup.sideEffectLog, `${context.idempotencyKey} charge ${cents} pid=${process.pid}\n`)
      if (setup.blockInCharge) {
        process.stdout.write('BLOCKED\n')
        await new Promise(() => undefined)
      }
      return `charged-${cents}`
    },
    sideEffects: 'unsafe',
  })
  const adder = new Agent({
    id: 'adder',
    model: scriptedModel((request) => {
      const outputs = toolOutputs(request.messages)
      const steps = Number(/steps=(\d+)/.exec(firstUserText(request))?.[1] ?? 1)
      const n = outputs.length
      if (n < steps) return { call: { id: `add_${n + 1}`, name: 'add', input: { a: n + 1, b: n + 1 } } }
      return { text: `sum=${outputs.reduce((sum: number, value) => sum + Number(value), 0)}` }
    }),
    tools: [add],
  })
  const payer = new Agent({
    id: 'payer',
    model: scriptedModel((request) => {
      const outputs = toolOutputs(request.messages)
      if (outputs.length === 0) return { call: { id: 'pay_1', name: 'pay', input: { cents: 500 } } }
      return { text: `paid:${String(outputs[0])}` }
    }),
    tools: [pay],
  })
  const asker = new Agent({
    id: 'asker',
    model: scriptedModel((request) => {
      const outputs = toolOutputs(request.messages)
      if (outputs.length === 0)
        return { call: { id: 'ask_1', name: 'contactHuman', input: { question: 'your name?' } } }
      return { text: `hello ${String(outputs[0])}` }
    }),
    tools: [contactHuman],
  })
  const sleeper = new Agent({
    id: 'sleeper',
    model: scriptedModel((request) =>
      toolOutputs(request.messages).length === 0
        ? { call: { id: 'sleep_1', name: 'sleep', input: {} } }
        : { text: 'woke' },
    ),
    tools: [sleep],
  })
  const charger = new Agent({
    id: 'charger',
    model: scriptedModel((request) => {
      const outputs = toolOutputs(request.messages)
      if (outputs.length === 0) return { call: { id: 'charge_1', name: 'charge', input: { cents: 700 } } }
      if (outputs.length === 1) return { call: { id: 'add_1', name: 'add', input: { a: 20, b: 22 } } }
      return { text: `charged:${outputs.map(String).join(',')}` }
    }),
    tools: [charge, add],
  })
  return [adder, payer, asker, sleeper, charger]
}

/** A runtime on a NATS bus plus its worker. */
export interface TestWorker {
  readonly runtime: Runtime
  readonly worker: NatsWorker
  readonly connection: NatsConnection
  /** Closes the worker, shuts the runtime down, closes the connection (not the store). */
  close(): Promise<void>
}

/** Starts a worker on its own connection. */
export async function startWorker(options: {
  store: Store
  prefix: string
  url?: string
  agents?: Agent[]
  ownerId?: string
  leaseTtlMs?: number
  worker?: Partial<WorkerOptions>
}): Promise<TestWorker> {
  const connection = await connectNats(options.url)
  const runtime = createRuntime({
    store: options.store,
    bus: createNatsBus({ connection, prefix: options.prefix }),
    agents: options.agents ?? testAgents(),
    ...(options.ownerId === undefined ? {} : { ownerId: options.ownerId }),
    leaseTtlMs: options.leaseTtlMs ?? 2000,
    onError: () => undefined,
  })
  const worker = await createWorker({
    runtime,
    connection,
    prefix: options.prefix,
    recoverEveryMs: 0,
    ...options.worker,
  })
  return {
    runtime,
    worker,
    connection,
    async close() {
      await worker.close()
      await runtime.shutdown()
      await connection.close()
    },
  }
}
