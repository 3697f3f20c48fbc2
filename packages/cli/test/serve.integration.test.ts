import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { createNatsClient } from '@vel/nats'
import { afterAll, describe, expect, it } from 'vitest'

/*
 * `vel serve --nats <url> --jetstream` against a private nats-server that wants a token: the CLI
 * takes the token from VEL_NATS_TOKEN, and a durable trigger published while it runs is served.
 */

const serverBinary = '/usr/sbin/nats-server'
const bin = fileURLToPath(new URL('../bin/vel.js', import.meta.url))
const agents = fileURLToPath(new URL('./fixtures/agents.ts', import.meta.url))
const servicesRequired = process.env.VEL_REQUIRE_SERVICES === '1'
const token = 'cli-test-token'

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })

const startNats = (configFile: string): Promise<ChildProcess> =>
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

const stop = (child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<number | null> =>
  new Promise((resolve) => {
    if (child === undefined || child.exitCode !== null) return resolve(child?.exitCode ?? null)
    child.once('exit', (code) => resolve(code))
    child.kill(signal)
  })

describe('vel serve --nats --jetstream (integration, private nats-server with a token)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vel-cli-nats-'))
  let nats: ChildProcess | undefined
  let serve: ChildProcess | undefined
  let connection: NatsConnection | undefined

  afterAll(async () => {
    await connection?.close()
    await stop(serve, 'SIGINT')
    await stop(nats, 'SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  })

  it('serves durable triggers with the credentials of VEL_NATS_TOKEN', async (context) => {
    const port = await freePort()
    const url = `nats://127.0.0.1:${port}`
    const configFile = join(dir, 'nats.conf')
    writeFileSync(
      configFile,
      `listen: 127.0.0.1:${port}\njetstream { store_dir: "${join(dir, 'js')}" }\nauthorization { token: "${token}" }\n`,
    )
    try {
      nats = await startNats(configFile)
    } catch (error) {
      const why = `nats-server could not start (${(error as Error).message})`
      if (servicesRequired) throw new Error(`${why}, and VEL_REQUIRE_SERVICES=1 requires it`)
      console.warn(`[skip] ${why}: skipping (set VEL_REQUIRE_SERVICES=1 to fail instead)`)
      return context.skip()
    }

    const store = `sqlite:${join(dir, 'vel.db')}`
    serve = spawn(
      process.execPath,
      [
        bin,
        'serve',
        '--agents',
        agents,
        '--store',
        store,
        '--port',
        '0',
        '--nats',
        url,
        '--jetstream',
        '--json',
      ],
      { cwd: dir, env: { ...process.env, VEL_NATS_TOKEN: token }, stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let log = ''
    await new Promise<void>((resolve, reject) => {
      serve?.stderr?.on('data', (chunk: Buffer) => {
        log += chunk.toString()
        if (log.includes('"event":"nats"')) resolve()
      })
      serve?.once('exit', () => reject(new Error(`serve exited: ${log}`)))
    })
    expect(log).toContain('"jetstream":true')

    connection = await connect({ servers: url, token })
    const client = createNatsClient(connection, { timeoutMs: 20_000 })
    const { runId } = await client.trigger('echo', 'hi', { durable: true, runId: 'durable-run-1' })
    expect(runId).toBe('durable-run-1')
    const parts: string[] = []
    for await (const part of client.events(runId)) {
      parts.push(part.type)
      if (part.type === 'finish') break
    }
    expect(parts.at(-1)).toBe('finish')
    expect(await stop(serve, 'SIGINT')).toBe(0)
    expect(log).toContain('"event":"run.completed"')
  })
})
