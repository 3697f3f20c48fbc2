import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { parseStoreSpec } from '../src/index.ts'

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

/** Runs `vel` as a child process (stdin is not a terminal, so nothing prompts). */
const vel = (...args: string[]): Promise<Result> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: dir, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })

const json = <T>(result: Result): T => JSON.parse(result.stdout) as T

describe('vel', () => {
  it('prints help for the program and for every command', async () => {
    const top = await vel('--help')
    expect(top.code).toBe(0)
    expect(top.stdout).toContain('runs show')
    for (const command of ['serve', 'run', 'runs', 'approve', 'deny', 'answer', 'resume']) {
      const help = await vel(...command.split(' '), '--help')
      expect(help.code).toBe(0)
      expect(help.stdout).toContain(`Usage: vel ${command}`)
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

  it('fails clearly on an unknown run and a missing database', async () => {
    const missing = await vel('runs', 'show', 'no-such-run', '--store', store)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('no run no-such-run')
    const noDb = await vel('runs', '--store', `sqlite:${join(dir, 'typo.db')}`)
    expect(noDb.code).toBe(2)
    expect(noDb.stderr).toContain('no SQLite database')
  })
})

describe('vel serve', () => {
  it('serves the agents over HTTP and stops cleanly on SIGINT', async () => {
    const server = spawn(
      process.execPath,
      [bin, 'serve', '--agents', agents, '--store', store, '--port', '0'],
      {
        cwd: dir,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    )
    const url = await new Promise<string>((resolve, reject) => {
      let log = ''
      server.stderr?.on('data', (chunk: Buffer) => {
        log += chunk.toString()
        const found = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(log)?.[1]
        if (found) resolve(found)
      })
      server.once('exit', () => reject(new Error(`serve exited: ${log}`)))
    })
    const response = await fetch(`${url}/runs?wait=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agentId: 'echo', input: 'hi' }),
    })
    expect(await response.json()).toMatchObject({ status: 'completed', answer: 'hello from echo' })
    server.kill('SIGINT')
    const code = await new Promise((resolve) => server.once('exit', resolve))
    expect(code).toBe(0)
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
