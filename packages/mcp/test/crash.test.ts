import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { readLog } from './support.ts'

const worker = fileURLToPath(new URL('./crash-worker.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'vel-mcp-crash-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Outcome {
  answer: string
  journal: Array<{ type: string; toolCallId?: string }>
}

function start(options: Record<string, string | boolean>): { child: ChildProcess; exited: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', worker, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = new Promise<string>((resolve, reject) =>
    child.on('exit', (code, signal) => {
      if (code === 0 || signal === 'SIGKILL') resolve(stdout)
      else reject(new Error(`worker exited with ${code ?? signal}: ${stderr}`))
    }),
  )
  return { child, exited }
}

/** Starts a run, SIGKILLs the process while the MCP call is in flight, and recovers in a new one. */
async function killDuringCall(tool: 'delete_item' | 'set_value', asSource = false) {
  const name = `${tool}${asSource ? '-source' : ''}`
  const options = {
    db: join(dir, `${name}.db`),
    log: join(dir, `${name}.log`),
    tool,
    runId: `run-${tool}`,
    ...(asSource ? { source: true } : {}),
  }
  const first = start({ ...options, mode: 'run' })
  try {
    await Promise.race([
      vi.waitFor(
        () => expect(readLog(options.log)).toContainEqual(expect.objectContaining({ kind: 'call', tool })),
        { timeout: 90_000, interval: 50 },
      ),
      first.exited.then(() =>
        Promise.reject(new Error('the worker ended before the call reached the server')),
      ),
    ])
  } finally {
    first.child.kill('SIGKILL')
  }
  await first.exited
  const stdout = await start({ ...options, mode: 'recover' }).exited
  const line = stdout.split('\n').find((candidate) => candidate.startsWith('RESULT '))
  if (line === undefined) throw new Error(`no result from the second process: ${stdout}`)
  const outcome = JSON.parse(line.slice('RESULT '.length)) as Outcome
  const calls = readLog(options.log).filter((event) => event.kind === 'call' && event.tool === tool)
  return { outcome, calls }
}

describe('an MCP tool call interrupted by SIGKILL (SQLite, real processes)', () => {
  it('a destructive tool is not called again: the run journals tool.interrupted and goes on', async () => {
    const { outcome, calls } = await killDuringCall('delete_item')
    expect(calls.map((call) => call.key)).toEqual(['run-delete_item:call_1'])
    expect(outcome.journal).toContainEqual({ type: 'tool.interrupted', toolCallId: 'call_1' })
    expect(outcome.answer).toMatch(/^not done: The outcome of 'delete_item' is unknown/)
  }, 180_000)

  it('an idempotent tool is called again, with the same idempotency key, on a new server process', async () => {
    const { outcome, calls } = await killDuringCall('set_value')
    expect(calls.map((call) => call.key)).toEqual(['run-set_value:call_1', 'run-set_value:call_1'])
    expect(new Set(calls.map((call) => call.pid)).size).toBe(2)
    // The new owner's lease epoch is larger: a server can refuse the stale one.
    expect(Number(calls[1]?.fencingToken)).toBeGreaterThan(Number(calls[0]?.fencingToken))
    const types = outcome.journal.filter((event) => event.toolCallId === 'call_1').map((event) => event.type)
    expect(types).toEqual(['tool.started', 'tool.interrupted', 'tool.started', 'tool.succeeded'])
    expect(outcome.answer).toBe('ok: apple is now green')
  }, 180_000)

  // A recovered run re-runs its tool calls before any model call: the agent's ToolSources must be
  // listed first, or a source's tool is not found (the model read "Unknown tool 'set_value'").
  it('the same, with the client given to the agent as a ToolSource', async () => {
    const { outcome, calls } = await killDuringCall('set_value', true)
    expect(calls.map((call) => call.key)).toEqual(['run-set_value:call_1', 'run-set_value:call_1'])
    expect(outcome.answer).toBe('ok: apple is now green')
  }, 180_000)
})
