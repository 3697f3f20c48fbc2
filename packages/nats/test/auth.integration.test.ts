import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { createRuntime, type Runtime } from '@vel/actors'
import { createMemoryStore } from '@vel/store'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createNatsBus,
  createNatsClient,
  createSubjects,
  createWorker,
  encodeJson,
  type NatsWorker,
  natsConnectOptions,
} from '../src/index.ts'
import { freePort, servicesRequired, testAgents } from './support.ts'

/*
 * The subject-permission layout of docs/deployment.md, against a private nats-server started with
 * an auth config: workers do their job, a trigger-only user can start runs but cannot read other
 * runs' events nor answer approvals, and a human channel can answer (only `*.human.reply`).
 */

const serverBinary = '/usr/sbin/nats-server'

/** The layout of docs/deployment.md, for prefix `vel`. */
const authConfig = (port: number) => `
listen: 127.0.0.1:${port}
authorization {
  users = [
    { user: worker, password: worker-secret, permissions: {
        publish: ["vel.run.*.events", "vel.run.*.human", "vel.worker.*.control", "_INBOX.>"]
        subscribe: ["vel.agent.*.run", "vel.run.*.human.reply", "vel.run.*.cancel", "vel.worker.*.control", "_INBOX.>"]
    } }
    { user: trigger, password: trigger-secret, permissions: {
        publish: ["vel.agent.*.run"]
        subscribe: ["_INBOX.>"]
    } }
    { user: human, password: human-secret, permissions: {
        publish: ["vel.run.*.human.reply"]
        subscribe: ["vel.run.*.human", "_INBOX.>"]
    } }
  ]
}
`

const startServer = (configFile: string): Promise<ChildProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(serverBinary, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] })
    let output = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Server is ready')) resolve(child)
    })
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`nats-server exited with ${code}: ${output}`)))
  })

/** Resolves with the first permission violation the server reports on `connection`. */
const nextPermissionError = async (connection: NatsConnection): Promise<string> => {
  for await (const status of connection.status())
    if (status.type === 'error' && /permission/i.test(String(status.error))) return String(status.error)
  throw new Error('connection closed without a permission error')
}

describe('NATS auth and subject permissions (integration, private nats-server)', () => {
  const directory = mkdtempSync(join(tmpdir(), 'vel-nats-auth-'))
  let server: ChildProcess | undefined
  let url = ''
  let workerConnection: NatsConnection
  let runtime: Runtime
  let worker: NatsWorker
  const connections: NatsConnection[] = []
  let started = false

  const as = async (user: string, password: string) => {
    const connection = await connect(
      natsConnectOptions(
        { VEL_NATS_URL: url, VEL_NATS_USER: user, VEL_NATS_PASSWORD: password },
        { name: user },
      ),
    )
    connections.push(connection)
    return connection
  }

  beforeAll(async () => {
    const port = await freePort()
    url = `nats://127.0.0.1:${port}`
    const configFile = join(directory, 'auth.conf')
    writeFileSync(configFile, authConfig(port))
    try {
      server = await startServer(configFile)
    } catch (error) {
      const why = `nats-server could not start (${(error as Error).message})`
      if (servicesRequired) throw new Error(`${why}, and VEL_REQUIRE_SERVICES=1 requires it`)
      console.warn(`[skip] ${why}: skipping the NATS auth test (set VEL_REQUIRE_SERVICES=1 to fail instead)`)
      return
    }
    workerConnection = await as('worker', 'worker-secret')
    const store = createMemoryStore()
    await store.migrate()
    runtime = createRuntime({
      store,
      bus: createNatsBus({ connection: workerConnection }),
      agents: testAgents(),
      onError: () => undefined,
    })
    worker = await createWorker({ runtime, connection: workerConnection, recoverEveryMs: 0 })
    started = true
  })

  afterAll(async () => {
    await worker?.close()
    await runtime?.shutdown()
    for (const connection of connections) await connection.close().catch(() => undefined)
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server?.once('exit', resolve))
      server.kill('SIGTERM')
      await exited
    }
    rmSync(directory, { recursive: true, force: true })
  })

  it('refuses a connection without valid credentials', async (context) => {
    if (!started) return context.skip()
    await expect(
      connect(
        natsConnectOptions({ VEL_NATS_URL: url, VEL_NATS_USER: 'trigger', VEL_NATS_PASSWORD: 'wrong' }),
      ),
    ).rejects.toThrow(/authoriz/i)
    await expect(connect({ servers: url, maxReconnectAttempts: 0 })).rejects.toThrow(/authoriz/i)
  })

  it('serves a trigger from the trigger-only user, which cannot read events nor answer', async (context) => {
    if (!started) return context.skip()
    const subjects = createSubjects()
    const triggerConnection = await as('trigger', 'trigger-secret')
    const { runId } = await createNatsClient(triggerConnection).trigger('payer', 'pay please')
    const waiting = async () => {
      for (let attempt = 0; attempt < 200; attempt++) {
        if ((await runtime.store.getRun(runId))?.status === 'waiting') return
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
      throw new Error(`run ${runId} never waited`)
    }
    await waiting()

    // Another run's events: the server refuses the subscription.
    const refusedSubscription = nextPermissionError(triggerConnection)
    triggerConnection.subscribe(subjects.runEvents(runId))
    expect(await refusedSubscription).toMatch(/subscription/i)

    // An approval: the server refuses the publish, and the run still waits.
    const refusedPublish = nextPermissionError(triggerConnection)
    triggerConnection.publish(
      subjects.humanReply(runId),
      encodeJson({ type: 'approve', toolCallId: 'pay_1' }),
    )
    expect(await refusedPublish).toMatch(/publish/i)
    await triggerConnection.flush()
    expect((await runtime.store.getRun(runId))?.status).toBe('waiting')

    // The human channel answers; the worker (with its own credentials) finishes the run.
    const humanConnection = await as('human', 'human-secret')
    await createNatsClient(humanConnection).approve(runId, 'pay_1', { by: 'alice' })
    for (let attempt = 0; attempt < 200; attempt++) {
      if ((await runtime.store.getRun(runId))?.status === 'completed') break
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    expect((await runtime.store.getRun(runId))?.status).toBe('completed')

    // The human channel may answer, not trigger.
    const humanRefused = nextPermissionError(humanConnection)
    humanConnection.publish(subjects.agentRun('payer'), encodeJson({ input: 'x' }))
    expect(await humanRefused).toMatch(/publish/i)
  })
})
