/**
 * A NATS worker plus triggers from three languages. Starts a local nats-server on 127.0.0.1
 * (unless NATS_URL is set), a Vel worker serving the `greeter` agent, then triggers it from
 * TypeScript (`createNatsClient`, following the stream), Python (trigger.py, standard library)
 * and the shell (trigger.sh, bash /dev/tcp), and prints each run's answer from the store.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { connect } from '@nats-io/transport-node'
import { Agent, createRuntime } from '@vel/actors'
import type { LanguageModel, ModelPart } from '@vel/core'
import { createNatsBus, createNatsClient, createWorker } from '@vel/nats'
import { createSqliteStore } from '@vel/store/sqlite'

const run = promisify(execFile)
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))

/** A scripted model: greets whoever the message names. */
const model: LanguageModel = {
  provider: 'scripted',
  modelId: 'greeter',
  async *stream(request): AsyncGenerator<ModelPart> {
    const user = request.messages.findLast((message) => message.role === 'user')
    const text = typeof user?.content === 'string' ? user.content : ''
    yield { type: 'text-start', id: 't' }
    yield { type: 'text-delta', id: 't', delta: `Hello, ${text}!` }
    yield { type: 'text-end', id: 't' }
    yield {
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 5, outputTokens: 3, reasoningTokens: 0, cachedInputTokens: 0 },
    }
  },
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

let natsServer: ChildProcess | undefined
let url = process.env.NATS_URL
if (url === undefined) {
  const port = await freePort()
  natsServer = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
  url = `nats://127.0.0.1:${port}`
  await new Promise((resolve) => setTimeout(resolve, 500))
  console.log(`started nats-server at ${url}`)
}
const { hostname, port } = new URL(url)

// The worker: a runtime whose bus is NATS, serving the agent on vel.agent.greeter.run.
const connection = await connect({ servers: url, maxReconnectAttempts: -1 })
const store = createSqliteStore({ filename: ':memory:' })
await store.migrate()
const runtime = createRuntime({ store, bus: createNatsBus({ connection }), agents: [] })
const worker = await createWorker({ runtime, connection, agents: [new Agent({ id: 'greeter', model })] })
console.log('worker serving greeter on vel.agent.greeter.run\n')

// 1. TypeScript: trigger, then follow the run's stream parts.
const clientConnection = await connect({ servers: url })
const client = createNatsClient(clientConnection)
const { runId } = await client.trigger('greeter', 'TypeScript')
let text = ''
for await (const part of client.events(runId)) if (part.type === 'text-delta') text += part.delta
console.log(`TypeScript: run ${runId} streamed "${text}"`)

// 2. Python and 3. the shell: request/reply on the same subject.
const answerOf = async (reply: string) => {
  const { runId: id } = JSON.parse(reply) as { runId: string }
  const result = await runtime.handle(id).result
  return `run ${id} answered ${JSON.stringify(result)}`
}
const python = await run('python3', [here('trigger.py'), url, 'greeter', 'Python'])
console.log(`Python:     ${await answerOf(python.stdout)}`)
const shell = await run('bash', [here('trigger.sh'), hostname, port, 'greeter', 'shell'])
console.log(`shell:      ${await answerOf(shell.stdout)}`)

client.close()
await clientConnection.drain()
await worker.close()
await runtime.shutdown()
await connection.drain()
await store.close()
natsServer?.kill()
