import { execFile, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSqliteStore } from '@vel/store/sqlite'
import { afterAll, describe, expect, it } from 'vitest'
import { commands, parseInvocation, parseStoreSpec } from '../src/index.ts'

const bin = fileURLToPath(new URL('../bin/vel.js', import.meta.url))
const agents = fileURLToPath(new URL('./fixtures/agents.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'vel-cli-'))
const store = `sqlite:${join(dir, 'vel.db')}`
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Result {
  code: number
  stdout: string
  stderr: string
}

/**
 * Runs `vel` as a child process (stdin is not a terminal, so nothing prompts). A child that hangs
 * is killed after 110 s, so a failing test leaves no process behind (not a speed check).
 */
const vel = (...args: string[]): Promise<Result> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, timeout: 110_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })

const json = <T>(result: Result): T => JSON.parse(result.stdout) as T

/** Whether util-linux `script` (a pseudo-terminal for a child) is on this machine. */
const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

describe('vel', () => {
  it('prints help for the program and for every command', async () => {
    const top = await vel('--help')
    expect(top.code).toBe(0)
    expect(top.stdout).toContain('runs show')
    // In parallel: each is a process start, slow on a loaded machine.
    const names = ['serve', 'run', 'runs', 'approve', 'deny', 'answer', 'resume']
    const helps = await Promise.all(names.map((command) => vel(...command.split(' '), '--help')))
    for (const [index, help] of helps.entries()) {
      expect(help.code).toBe(0)
      expect(help.stdout).toContain(`Usage: vel ${names[index]}`)
    }
    expect((await vel('runs', 'show', '--help')).stdout).toContain('Usage: vel runs show <runId>')
  })

  it('rejects a bad flag, a missing argument and an unknown command with exit code 2', async () => {
    const flag = await vel('runs', '--colour', 'red', '--store', store)
    expect(flag.code).toBe(2)
    expect(flag.stderr).toContain("vel runs: unknown option '--colour'")
    expect(flag.stderr).toContain("Run 'vel runs --help'")
    const status = await vel('runs', '--status', 'sleeping', '--store', store)
    expect(status.code).toBe(2)
    expect(status.stderr).toContain('--status must be one of running, waiting')
    expect((await vel('approve', 'only-a-run-id')).stderr).toContain('missing <toolCallId>')
    expect((await vel('frobnicate')).code).toBe(2)
    const badStore = await vel('runs', '--store', 'mongodb://x')
    expect(badStore.code).toBe(2)
    expect(badStore.stderr).toContain('is not a store')
  })

  it('runs an agent and streams its answer to stdout', async () => {
    const result = await vel('run', 'echo', 'hi', '--agents', agents, '--store', store)
    expect(result.stderr).toContain('completed')
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('hello from echo\n')
  })

  it('leaves a run that needs approval waiting, lists it, shows it and approves it', {
    timeout: 120_000,
  }, async () => {
    const started = await vel('run', 'booker', 'book Lisbon', '--agents', agents, '--store', store, '--json')
    expect(started.code).toBe(0)
    const summary = json<{ runId: string; status: string; pending: Array<{ requestId: string }> }>(started)
    expect(summary.status).toBe('waiting')
    expect(summary.pending[0]?.requestId).toBe('call_book')

    const waiting = json<Array<{ runId: string }>>(
      await vel('runs', '--status', 'waiting', '--json', '--store', store),
    )
    expect(waiting.map((run) => run.runId)).toContain(summary.runId)

    const shown = await vel('runs', 'show', summary.runId, '--store', store, '--json')
    const detail = json<{ state: { phase: string }; journal: Array<{ type: string }> }>(shown)
    expect(detail.state.phase).toBe('waiting')
    expect(detail.journal.map((entry) => entry.type)).toEqual(['run.started', 'model.responded'])
    expect((await vel('runs', 'show', summary.runId, '--store', store)).stdout).toContain(
      `vel approve ${summary.runId} call_book`,
    )

    const approved = await vel(
      'approve',
      summary.runId,
      'call_book',
      '--reason',
      'fine',
      '--agents',
      agents,
      '--store',
      store,
    )
    expect(approved.code).toBe(0)
    expect(approved.stdout).toContain('booked')
    expect(approved.stderr).toContain('{"booked":"Lisbon"}')
    const after = json<{
      record: { status: string }
      journal: Array<{ type: string; data: { reason?: string } }>
    }>(await vel('runs', 'show', summary.runId, '--store', store, '--json'))
    expect(after.record.status).toBe('completed')
    expect(after.journal.find((entry) => entry.type === 'approval.decided')?.data.reason).toBe('fine')
    const again = await vel('approve', summary.runId, 'call_book', '--agents', agents, '--store', store)
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('invalid-state')
  })

  it('resumes a waiting run: shows its request, exits, and leaves the lease free', {
    timeout: 120_000,
  }, async () => {
    const started = json<{ runId: string; status: string }>(
      await vel('run', 'booker', 'book Lisbon', '--agents', agents, '--store', store, '--json'),
    )
    expect(started.status).toBe('waiting')
    const { runId } = started
    const db = createSqliteStore({ filename: join(dir, 'vel.db') })
    const leaseFree = async () => {
      const lease = await db.getLease(runId)
      return lease === undefined || lease.expiresAt <= Date.now()
    }
    try {
      const plain = await vel('resume', runId, '--agents', agents, '--store', store)
      expect(plain.code).toBe(0)
      expect(plain.stderr).toContain('book needs approval (call_book)')
      expect(plain.stderr).toContain(`run ${runId} waits for a human`)
      expect(plain.stderr).toContain(`vel approve ${runId} call_book`)
      expect(await leaseFree()).toBe(true)

      const detached = await vel('resume', runId, '--detach', '--json', '--agents', agents, '--store', store)
      expect(detached.code).toBe(0)
      expect(json<{ status: string; pending: Array<{ requestId: string }> }>(detached)).toMatchObject({
        status: 'waiting',
        pending: [{ requestId: 'call_book' }],
      })
      expect(await leaseFree()).toBe(true)
      expect((await db.getRun(runId))?.status).toBe('waiting')
    } finally {
      await db.close()
    }
  })

  it.skipIf(!hasScript)(
    'resumes a waiting run at a terminal: asks again and continues it',
    {
      timeout: 120_000,
    },
    async () => {
      const { runId } = json<{ runId: string }>(
        await vel('run', 'booker', 'book Lisbon', '--agents', agents, '--store', store, '--json'),
      )
      // `script` gives the command a pseudo-terminal, so it prompts as it would for a user.
      const command = [process.execPath, bin, 'resume', runId, '--agents', agents, '--store', store]
        .map((arg) => `'${arg}'`)
        .join(' ')
      const child = spawn('script', ['-qec', command, '/dev/null'], {
        cwd: dir,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      let output = ''
      const asked = new Promise<void>((resolve) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString()
          if (output.includes('? Approve book')) resolve()
        })
      })
      const code = new Promise<number | null>((resolve) => child.once('exit', resolve))
      try {
        await asked
        child.stdin?.write('y\r')
        expect(await code).toBe(0)
      } finally {
        if (child.exitCode === null) child.kill()
      }
      expect(output).toContain('{"booked":"Lisbon"}')
      expect(output).toContain(`run ${runId} completed`)
    },
  )

  it('answers a question a run asked with contactHuman', async () => {
    const started = await vel('run', 'asker', 'plan a trip', '--agents', agents, '--store', store)
    expect(started.stderr).toContain('Which city?')
    const runId = /run (\S+) waits/.exec(started.stderr)?.[1] as string
    expect(runId).toBeDefined()
    const answered = await vel(
      'answer',
      runId,
      'call_contactHuman',
      'Porto',
      '--agents',
      agents,
      '--store',
      store,
      '--json',
    )
    expect(answered.code).toBe(0)
    expect(json<{ status: string; answer: string }>(answered)).toMatchObject({
      status: 'completed',
      answer: 'thanks',
    })
    const all = json<Array<{ agentId: string; status: string }>>(
      await vel('runs', '--json', '--agent', 'asker', '--store', store),
    )
    expect(all).toEqual([expect.objectContaining({ agentId: 'asker', status: 'completed' })])
  })

  it('prints its version, also as JSON', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string
    }
    expect(await vel('--version')).toMatchObject({ code: 0, stdout: `vel ${version}\n` })
    expect(json(await vel('--version', '--json'))).toEqual({ version })
  })

  it('accepts --json on every command', () => {
    for (const command of commands)
      expect(parseInvocation(command, ['--json', ...command.positionals]), command.name).toMatchObject({
        values: { json: true },
      })
  })

  it('reports a failure as one line and a non-zero exit, never a stack trace', async () => {
    const approve = await vel('approve', 'not-a-run', 'call_x', '--agents', agents, '--store', store)
    expect(approve.code).toBe(1)
    expect(approve.stderr).toBe('vel approve: no run not-a-run (not-found)\n')
  })

  it('stops writing quietly when its reader goes away (vel runs show … | head)', async () => {
    const { runId } = json<{ runId: string }>(
      await vel('run', 'echo', 'hi', '--agents', agents, '--store', store, '--json'),
    )
    const child = spawn(process.execPath, [bin, 'runs', 'show', runId, '--store', store], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout?.destroy() // the reader is gone before the first write
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(stderr).toBe('')
    expect(code).toBe(0)
  })

  it('fails clearly on an unknown run and a missing database', async () => {
    const missing = await vel('runs', 'show', 'no-such-run', '--store', store)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('no run no-such-run')
    const noDb = await vel('runs', '--store', `sqlite:${join(dir, 'typo.db')}`)
    expect(noDb.code).toBe(2)
    expect(noDb.stderr).toContain('no SQLite database')
  })
})

/** Starts `vel serve` and resolves once it listens, with its URL and everything it logged so far. */
async function startServe(args: string[], env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    [bin, 'serve', '--agents', agents, '--store', store, '--port', '0', ...args],
    {
      cwd: dir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  let log = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString()
  })
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', () => {
      const found = /url"?[=:]"?(http:\/\/127\.0\.0\.1:\d+)/.exec(log)?.[1]
      if (found) resolve(found)
    })
    child.once('exit', () => reject(new Error(`serve exited: ${log}`)))
  })
  return {
    url,
    log: () => log,
    stop: async () => {
      const code = new Promise<number | null>((resolve) => child.once('exit', resolve))
      child.kill('SIGINT')
      return code
    },
  }
}

const startRun = (url: string, token?: string) =>
  fetch(`${url}/runs?wait=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ agentId: 'echo', input: 'hi' }),
  })

describe('vel serve', () => {
  it('serves the agents over HTTP, logs requests and runs, and stops cleanly on SIGINT', async () => {
    const server = await startServe([])
    const response = await startRun(server.url)
    const body = (await response.json()) as { runId: string }
    expect(body).toMatchObject({ status: 'completed', answer: 'hello from echo' })
    expect(await server.stop()).toBe(0)
    const lines = server.log().trim().split('\n')
    expect(lines.find((line) => line.includes(' request '))).toMatch(
      /request method=POST path=\/runs status=201 ms=\d+/,
    )
    expect(lines.find((line) => line.includes('run.started'))).toContain(`runId=${body.runId}`)
    expect(lines.find((line) => line.includes('run.completed'))).toContain(`runId=${body.runId}`)
  })

  it('logs JSON lines with --json', async () => {
    const server = await startServe(['--json'])
    const { runId } = (await (await startRun(server.url)).json()) as { runId: string }
    expect(await server.stop()).toBe(0)
    const events = server
      .log()
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as { event: string; level: string; time: string; runId?: string; status?: number },
      )
    expect(events.find((event) => event.event === 'request')).toMatchObject({ level: 'info', status: 201 })
    expect(events.filter((event) => event.runId === runId).map((event) => event.event)).toEqual(
      expect.arrayContaining(['run.started', 'run.completed']),
    )
    expect(events.every((event) => !Number.isNaN(Date.parse(event.time)))).toBe(true)
  })

  it('protects HTTP with --auth <token>', async () => {
    const server = await startServe(['--auth', 's3cret-token'])
    try {
      expect((await startRun(server.url)).status).toBe(401)
      expect((await startRun(server.url, 'wrong')).status).toBe(401)
      const allowed = await startRun(server.url, 's3cret-token')
      expect(allowed.status).toBe(201)
      const { runId } = (await allowed.json()) as { runId: string }
      const shown = await fetch(`${server.url}/runs/${runId}`, {
        headers: { authorization: 'Bearer s3cret-token' },
      })
      expect(((await shown.json()) as { startedBy: string }).startedBy).toBe('operator')
      // The inspector is served too, behind the same token: sign in, then the run is listed.
      expect(server.log()).toContain(`inspector=${server.url}/inspector`)
      expect((await fetch(`${server.url}/inspector`)).status).toBe(401)
      const signedIn = await fetch(`${server.url}/inspector/sign-in`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
        body: new URLSearchParams({ token: 's3cret-token', next: '/inspector' }),
      })
      expect(signedIn.status).toBe(303)
      const cookie = (signedIn.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
      const list = await fetch(`${server.url}/inspector`, { headers: { cookie } })
      expect(list.status).toBe(200)
      expect(await list.text()).toContain(`data-run="${runId}"`)
    } finally {
      expect(await server.stop()).toBe(0)
    }
  })

  it('protects HTTP with --auth <module> exporting a verifier', async () => {
    const module = join(dir, 'auth.mts')
    writeFileSync(
      module,
      "export default (request: Request) => request.headers.get('x-user') ?? undefined\n" +
        "export const canAccess = (principal: { id: string }) => principal.id !== 'mallory'\n",
    )
    const server = await startServe(['--auth', module])
    try {
      expect((await startRun(server.url)).status).toBe(401)
      const started = await fetch(`${server.url}/runs?wait=true`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user': 'carol' },
        body: JSON.stringify({ agentId: 'echo', input: 'hi' }),
      })
      expect(started.status).toBe(201)
      const { runId } = (await started.json()) as { runId: string }
      expect((await fetch(`${server.url}/runs/${runId}`, { headers: { 'x-user': 'mallory' } })).status).toBe(
        403,
      )
    } finally {
      expect(await server.stop()).toBe(0)
    }
  })

  it('names the service it could not reach, and refuses --jetstream without --nats', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address() as { port: number }
        probe.close(() => resolve(address.port))
      })
    })
    const nats = await vel(
      'serve',
      '--agents',
      agents,
      '--store',
      store,
      '--port',
      '0',
      '--nats',
      `nats://127.0.0.1:${port}`,
    )
    expect(nats.code).toBe(1)
    expect(nats.stderr.trim()).toBe(
      `vel serve: could not reach NATS at nats://127.0.0.1:${port} (--nats): connection refused`,
    )
    const pg = await vel('runs', '--store', `postgres://postgres@127.0.0.1:${port}/none`)
    expect(pg.code).toBe(1)
    expect(pg.stderr.trim()).toMatch(
      /^vel runs: could not open the store postgres:\/\/postgres@127\.0\.0\.1:\d+\/none \(--store\): .*ECONNREFUSED/,
    )
    const jetstream = await vel('serve', '--agents', agents, '--store', store, '--jetstream')
    expect(jetstream.code).toBe(2)
    expect(jetstream.stderr).toContain('--jetstream needs --nats')
  })
})

describe('parseStoreSpec', () => {
  it('reads every store spec in one place', () => {
    expect(parseStoreSpec('memory')).toEqual({ kind: 'memory' })
    expect(parseStoreSpec('sqlite:/tmp/a.db')).toEqual({ kind: 'sqlite', filename: '/tmp/a.db' })
    expect(parseStoreSpec('/tmp/b.sqlite')).toEqual({ kind: 'sqlite', filename: '/tmp/b.sqlite' })
    expect(parseStoreSpec('postgres://u:p@127.0.0.1/db')).toEqual({
      kind: 'postgres',
      connectionString: 'postgres://u:p@127.0.0.1/db',
    })
    expect(() => parseStoreSpec('sqlite:')).toThrow('give a file')
  })

  it('takes the Postgres schema from ?schema= and keeps the other parameters', () => {
    expect(parseStoreSpec('postgres://u:p@127.0.0.1:5432/db?schema=vel_a&sslmode=disable')).toEqual({
      kind: 'postgres',
      connectionString: 'postgres://u:p@127.0.0.1:5432/db?sslmode=disable',
      schema: 'vel_a',
    })
    expect(parseStoreSpec('postgresql://127.0.0.1/db?schema=s')).toMatchObject({ schema: 's' })
    for (const bad of ['?schema=', '?schema=a.b', '?schema=a&schema=b', '?schema=x%3Bdrop'])
      expect(() => parseStoreSpec(`postgres://127.0.0.1/db${bad}`)).toThrow('plain identifier')
    expect(() => parseStoreSpec('postgres://[bad?schema=s')).toThrow('not a valid')
    expect(parseStoreSpec('postgres://u@/db?host=/run/pg')).toMatchObject({
      connectionString: 'postgres://u@/db?host=/run/pg',
    })
  })
})
