import type { Bus, Runtime } from '@vel/actors'
import type { Command } from '../command.ts'
import { stringFlag } from '../command.ts'
import { describeStore } from '../store-spec.ts'
import { UsageError } from '../usage-error.ts'
import { agentsOption, openWorkspace, storeOption, storeSpecOf } from '../workspace.ts'

/** What `serve` uses of `@vel/nats` and the NATS client (imported only when `--nats` is given). */
interface NatsModules {
  readonly connect: (options: { servers: string; name?: string; maxReconnectAttempts?: number }) => Promise<{
    drain(): Promise<void>
  }>
  readonly createNatsBus: (options: { connection: unknown }) => Bus
  readonly createWorker: (options: {
    runtime: Runtime
    connection: unknown
  }) => Promise<{ close(): Promise<void> }>
}

// Specifiers in variables: the CLI loads (and typechecks) without the NATS packages until --nats.
const natsPackage = '@vel/nats'
const natsClientPackage = '@nats-io/transport-node'

async function loadNats(): Promise<NatsModules> {
  try {
    const [vel, client] = await Promise.all([import(natsPackage), import(natsClientPackage)])
    return { connect: client.connect, createNatsBus: vel.createNatsBus, createWorker: vel.createWorker }
  } catch (error) {
    throw new Error(`--nats needs @vel/nats, which could not be loaded: ${(error as Error).message}`)
  }
}

const parsePort = (text: string): number => {
  const port = Number(text)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be a number from 0 to 65535, not '${text}'`, 'serve')
  return port
}

/** `vel serve`: the HTTP API and, with `--nats`, a NATS worker, for the agents of a module. */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve agents over HTTP (and NATS with --nats) until interrupted',
  positionals: [],
  options: {
    agents: agentsOption,
    store: storeOption,
    port: {
      type: 'string',
      placeholder: '<n>',
      description: 'HTTP port on 127.0.0.1 (default 3000; 0 picks one).',
    },
    host: { type: 'string', placeholder: '<ip>', description: 'Interface to bind (default 127.0.0.1).' },
    nats: {
      type: 'string',
      placeholder: '<url>',
      description: 'Also serve over NATS, e.g. nats://127.0.0.1:4222 (a worker in the queue group).',
    },
  },
  description: `
Loads the agents, migrates the store, resumes runs a crash interrupted (runtime.recover), and
serves the HTTP API (REST and the AI SDK UI message stream over SSE). With --nats it also starts
a NATS worker, so agents can be triggered from any language and several workers share the load.
Stops on Ctrl-C (SIGINT) or SIGTERM, leaving unfinished runs resumable.

Examples:
  vel serve --agents ./agents.ts --store sqlite:./vel.db --port 3000
  vel serve --agents ./agents.ts --store postgres://vel:vel@127.0.0.1/vel --nats nats://127.0.0.1:4222`,
  run: async (invocation) => {
    const port = parsePort(stringFlag(invocation.values, 'port', '3000') as string)
    const host = stringFlag(invocation.values, 'host', '127.0.0.1') as string
    const natsUrl = stringFlag(invocation.values, 'nats')
    const nats = natsUrl === undefined ? undefined : await loadNats()
    let connection: Awaited<ReturnType<NatsModules['connect']>> | undefined
    const workspace = await openWorkspace(invocation, {
      agents: true,
      create: true,
      ...(nats && natsUrl
        ? {
            bus: async () => {
              connection = await nats.connect({ servers: natsUrl, name: 'vel-cli', maxReconnectAttempts: -1 })
              return nats.createNatsBus({ connection })
            },
          }
        : {}),
    })
    const { runtime, agents } = workspace
    const resumed = await runtime.recover()
    const { serve } = await import('@vel/http')
    const server = await serve({ runtime, port, hostname: host })
    const worker = nats && connection ? await nats.createWorker({ runtime, connection }) : undefined
    const log = (line: string) => invocation.io.stderr.write(`${line}\n`)
    log(`vel: serving ${agents.map((agent) => agent.id).join(', ')} at ${server.url}`)
    log(
      `vel: store ${describeStore(storeSpecOf(invocation))}${resumed.length > 0 ? `, resumed ${resumed.length} run(s)` : ''}`,
    )
    if (worker) log(`vel: NATS worker on ${natsUrl}`)
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    log('vel: stopping')
    await worker?.close()
    await server.close()
    await workspace.close()
    await connection?.drain()
    return 0
  },
}
