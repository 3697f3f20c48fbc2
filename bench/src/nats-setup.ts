/**
 * What the NATS workloads share: probing NATS and Postgres (a missing server skips the workload
 * outside CI, `VEL_REQUIRE_SERVICES=1` makes it fail), a worker serving the bench's `adder` agent
 * over a NATS bus, and a caller that speaks plain NATS the way a non-JS client does (docs/concepts.md,
 * ADR 0040): subscribe to `<prefix>.run.<runId>.events`, flush, publish the trigger with a reply
 * subject.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { Agent, createRuntime, type Runtime } from '@vel/actors'
import { defineTool, type Store } from '@vel/core'
import { createNatsBus, createWorker, type NatsWorker } from '@vel/nats'
import pg from 'pg'
import { addDescription, addInputSchema } from './script.ts'
import { scriptedModel } from './vel.ts'

export const natsUrl = process.env.VEL_NATS_URL ?? 'nats://127.0.0.1:4222'
export const postgresUrl = process.env.VEL_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const servicesRequired = process.env.VEL_REQUIRE_SERVICES === '1'

/** Why a server is unreachable, or undefined when it answers. */
async function unreachable(name: string, probe: () => Promise<void>): Promise<string | undefined> {
  try {
    await probe()
    return undefined
  } catch (error) {
    return `${name} is unreachable (${error instanceof Error ? error.message : String(error)})`
  }
}

/**
 * Probes the servers a workload needs: undefined when all answer, otherwise the reason to skip.
 * Throws instead when `VEL_REQUIRE_SERVICES=1` (CI).
 */
export async function probeServices(needs: {
  nats?: boolean
  postgres?: boolean
}): Promise<string | undefined> {
  const reasons = await Promise.all([
    needs.nats
      ? unreachable(`NATS at ${natsUrl}`, async () => {
          const connection = await connect({ servers: natsUrl, timeout: 2000, maxReconnectAttempts: 0 })
          await connection.close()
        })
      : undefined,
    needs.postgres
      ? unreachable(`Postgres at ${postgresUrl}`, async () => {
          const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3000 })
          try {
            await client.connect()
            await client.query('select 1')
          } finally {
            await client.end().catch(() => undefined)
          }
        })
      : undefined,
  ])
  const why = reasons.filter((reason) => reason !== undefined).join('; ')
  if (why === '') return undefined
  if (servicesRequired) throw new Error(`${why}, and VEL_REQUIRE_SERVICES=1 requires it`)
  return why
}

/** A prefix (and so subjects and stream names) no other process uses. */
export const uniquePrefix = (name: string): string =>
  `velbench.${name}.${process.pid}${Math.random().toString(36).slice(2, 8)}`

/** A database name no other process uses. */
export const uniqueDatabase = (name: string): string =>
  `velbench_${name}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`

/** Runs `statement` on the server's maintenance connection (create / drop database). */
export async function adminQuery(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

/** `postgresUrl` with another database. */
export const databaseUrl = (database: string): string => {
  const url = new URL(postgresUrl)
  url.pathname = `/${database}`
  return url.toString()
}

export const connectNats = (name: string): Promise<NatsConnection> =>
  connect({ servers: natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 100, name })

/** The bench's `adder` agent (scripted model, `add` tool); `onModelCall` sees every model call. */
export function adderAgent(onModelCall?: (results: number) => void): Agent {
  const add = defineTool({
    name: 'add',
    description: addDescription,
    input: addInputSchema,
    handler: (input: { a: number; b: number }) => input.a + input.b,
    sideEffects: 'none',
  })
  return new Agent({
    id: 'adder',
    model: scriptedModel(onModelCall),
    tools: [add],
    policies: { retry: false, maxSteps: 1000 },
  })
}

/** A runtime on a NATS bus and a worker serving `agent` under `prefix`. */
export interface BenchWorker {
  readonly runtime: Runtime
  readonly worker: NatsWorker
  readonly connection: NatsConnection
  close(): Promise<void>
}

export async function startBenchWorker(options: {
  store: Store
  prefix: string
  agent: Agent
  jetstream?: boolean
}): Promise<BenchWorker> {
  const connection = await connectNats('vel-bench-worker')
  const runtime = createRuntime({
    store: options.store,
    bus: createNatsBus({ connection, prefix: options.prefix }),
    agents: [options.agent],
  })
  const worker = await createWorker({
    runtime,
    connection,
    prefix: options.prefix,
    recoverEveryMs: 0,
    ...(options.jetstream ? { jetstream: { storage: 'memory' as const } } : {}),
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

const decoder = new TextDecoder()
const encoder = new TextEncoder()

/** A stream part as a caller reads it off `<prefix>.run.<runId>.events`. */
export interface WirePart {
  readonly runId: string
  readonly part: { readonly type: string; readonly [key: string]: unknown }
}

export const readPart = (data: Uint8Array): WirePart => JSON.parse(decoder.decode(data)) as WirePart
export const writeJson = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value))
