import { type Bus, createInProcessBus, type Runtime } from '@vel/actors'
import type { Command, Invocation } from '../command.ts'
import { portFlag, stringFlag } from '../command.ts'
import { loadAuth } from '../serve-auth.ts'
import { createServeLog, loggingFetch, RunDirectory, runLog } from '../serve-log.ts'
import { describeStore, reasonOf } from '../store-spec.ts'
import { UsageError } from '../usage-error.ts'
import { agentsOption, jsonOption, openWorkspace, storeOption, storeSpecOf } from '../workspace.ts'

/** What `serve` uses of `@vel/nats` and the NATS client (imported only when `--nats` is given). */
interface NatsModules {
  readonly connect: (options: unknown) => Promise<{ drain(): Promise<void> }>
  readonly natsConnectOptions: (
    env: Readonly<Record<string, string | undefined>>,
    overrides: { servers?: string; name?: string },
  ) => unknown
  readonly createNatsBus: (options: { connection: unknown }) => Bus
  readonly createWorker: (options: {
    runtime: Runtime
    connection: unknown
    jetstream?: boolean
  }) => Promise<{ close(): Promise<void> }>
}

// Specifiers in variables: the CLI loads (and typechecks) without the NATS packages until --nats.
const natsPackage = '@vel/nats'
const natsClientPackage = '@nats-io/transport-node'

async function loadNats(): Promise<NatsModules> {
  try {
    const [vel, client] = await Promise.all([import(natsPackage), import(natsClientPackage)])
    return {
      connect: client.connect,
      natsConnectOptions: vel.natsConnectOptions,
      createNatsBus: vel.createNatsBus,
      createWorker: vel.createWorker,
    }
  } catch (error) {
    throw new Error(`--nats needs @vel/nats, which could not be loaded: ${(error as Error).message}`)
  }
}

/** Connects to NATS with the credentials of `VEL_NATS_*`; a failure names NATS and the URL. */
async function connectNats(nats: NatsModules, url: string, env: Invocation['io']['env']) {
  try {
    return await nats.connect(nats.natsConnectOptions(env, { servers: url, name: 'vel-cli' }))
  } catch (error) {
    throw new Error(`could not reach NATS at ${url} (--nats): ${reasonOf(error)}`)
  }
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
      description:
        'Also serve over NATS, e.g. nats://127.0.0.1:4222 (a worker in the queue group); credentials from VEL_NATS_*.',
    },
    jetstream: {
      type: 'boolean',
      description: 'With --nats: also take durable triggers from the JetStream work-queue stream.',
    },
    auth: {
      type: 'string',
      placeholder: '<token|module>',
      description: 'Protect HTTP: a bearer token (caller "operator"), or a module exporting a verifier.',
    },
    json: { ...jsonOption, description: 'Log JSON lines (one per request and run event) instead of text.' },
  },
  description: `
Loads the agents, migrates the store, resumes runs a crash interrupted (runtime.recover), and
serves the HTTP API (REST and the AI SDK UI message stream over SSE) and the run inspector, a web
page at /inspector behind the same auth (sign in there with the --auth token). With --nats it also starts
a NATS worker, so agents can be triggered from any language and several workers share the load.
Stops on Ctrl-C (SIGINT) or SIGTERM, leaving unfinished runs resumable.

Logs one line per HTTP request and per run event (started, resumed, waiting, decided, failed model
and tool calls, completed with tokens and cost, failed, cancelled) on stderr, with a level and the
run, session and trace ids (pino); JSON lines with --json. NATS credentials come from the environment:
VEL_NATS_TOKEN, VEL_NATS_USER and VEL_NATS_PASSWORD, VEL_NATS_CREDS, VEL_NATS_NKEY_SEED,
VEL_NATS_TLS_CA, VEL_NATS_TLS_CERT and VEL_NATS_TLS_KEY.

Examples:
  vel serve --agents ./agents.ts --store sqlite:./vel.db --port 3000 --auth "$VEL_TOKEN"
  vel serve --agents ./agents.ts --auth ./auth.ts --json
  vel serve --agents ./agents.ts --store postgres://vel:vel@127.0.0.1/vel --nats nats://127.0.0.1:4222 --jetstream`,
  run: async (invocation) => {
    const port = portFlag(stringFlag(invocation.values, 'port', '3000') as string, 'port', 'serve')
    const host = stringFlag(invocation.values, 'host', '127.0.0.1') as string
    const natsUrl = stringFlag(invocation.values, 'nats')
    const jetstream = invocation.values.jetstream === true
    if (jetstream && natsUrl === undefined) throw new UsageError('--jetstream needs --nats <url>', 'serve')
    const authFlag = stringFlag(invocation.values, 'auth')
    const auth = authFlag === undefined ? undefined : await loadAuth(authFlag)
    const log = createServeLog((line) => invocation.io.stderr.write(line), {
      json: invocation.values.json === true,
    })
    const directory = new RunDirectory()
    const nats = natsUrl === undefined ? undefined : await loadNats()
    let connection: Awaited<ReturnType<NatsModules['connect']>> | undefined
    const workspace = await openWorkspace(invocation, {
      agents: true,
      create: true,
      bus: async () => {
        if (nats === undefined || natsUrl === undefined) return createInProcessBus()
        connection = await connectNats(nats, natsUrl, invocation.io.env)
        return nats.createNatsBus({ connection })
      },
      telemetry: { observe: runLog(log, directory) },
    })
    const { runtime, agents } = workspace
    const resumed = await runtime.recover()
    const { createHttpApp, inspectorPath, serve } = await import('@vel/http')
    const app = createHttpApp({
      runtime,
      inspector: true,
      ...(auth === undefined ? {} : { auth }),
      onError: (error) => log.error('request.failed', { error: (error as Error)?.message ?? String(error) }),
    })
    const server = await serve({
      app: { fetch: loggingFetch(app.fetch, log, directory) },
      port,
      hostname: host,
    })
    const worker =
      nats && connection ? await nats.createWorker({ runtime, connection, jetstream }) : undefined
    log.info('serving', {
      agents: agents.map((agent) => agent.id).join(','),
      url: server.url,
      auth: auth !== undefined,
    })
    log.info('inspector', { inspector: `${server.url}${inspectorPath}` })
    log.info('store', { store: describeStore(storeSpecOf(invocation)), resumed: resumed.length })
    if (worker) log.info('nats', { url: natsUrl, jetstream })
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    log.info('stopping')
    await worker?.close()
    await server.close()
    await workspace.close()
    await connection?.drain()
    return 0
  },
}
