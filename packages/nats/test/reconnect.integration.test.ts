import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from '@nats-io/transport-node'
import { createMemoryStore } from '@vel/store'
import { afterAll, describe, expect, it } from 'vitest'
import { createNatsClient } from '../src/index.ts'
import { connectNats, freePort, startWorker, type TestWorker } from './support.ts'

const serverBinary = '/usr/sbin/nats-server'

const startServer = (port: number, directory: string): Promise<ChildProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(serverBinary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', directory], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let output = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Server is ready')) resolve(child)
    })
    child.once('exit', (code) => reject(new Error(`nats-server exited with ${code}: ${output}`)))
  })

const stopServer = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })

const retry = async <T>(work: () => Promise<T>, timeoutMs = 15_000): Promise<T> => {
  const until = Date.now() + timeoutMs
  for (;;) {
    try {
      return await work()
    } catch (error) {
      if (Date.now() > until) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

describe('reconnects after a NATS restart (integration, private nats-server)', () => {
  const directory = mkdtempSync(join(tmpdir(), 'vel-nats-'))
  let server: ChildProcess | undefined
  let worker: TestWorker | undefined

  afterAll(async () => {
    await worker?.close()
    if (server) await stopServer(server)
    rmSync(directory, { recursive: true, force: true })
  })

  it('a worker and a client keep serving after the server restarts', async () => {
    const port = await freePort()
    const url = `nats://127.0.0.1:${port}`
    server = await startServer(port, directory)
    const prefix = 'vel'
    const store = createMemoryStore()
    await store.migrate()
    worker = await startWorker({ store, prefix, url, worker: { jetstream: true } })
    const connection = await connectNats(url)
    const client = createNatsClient(connection, { prefix, timeoutMs: 2000 })
    const first = await client.trigger('adder', 'steps=1')
    const done = async (runId: string) =>
      retry(async () => {
        const record = await store.getRun(runId)
        if (record?.status !== 'completed') throw new Error('not yet')
        return record.answer
      })
    expect(await done(first.runId)).toBe('sum=2')

    await stopServer(server)
    server = await startServer(port, directory)

    const second = await retry(() => client.trigger('adder', 'steps=2'))
    expect(await done(second.runId)).toBe('sum=6')
    // The JetStream consumer resumed too: a durable trigger is taken after the restart.
    const third = await retry(() => client.trigger('adder', 'steps=3', { durable: true }))
    expect(await done(third.runId)).toBe('sum=12')
    // The parts of a run still stream to the client.
    const fourth = await client.trigger('adder', 'steps=1')
    const types: string[] = []
    for await (const part of client.events(fourth.runId)) types.push(part.type)
    expect(types.at(0)).toBe('start')
    expect(types.at(-1)).toBe('finish')
    client.close()
    await connection.close()
    // Sanity: the restarted server is the one we talk to.
    const probe = await connect({ servers: url, maxReconnectAttempts: 0 })
    await probe.close()
  }, 60_000)
})
