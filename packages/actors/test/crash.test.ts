import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { assertWellFormedStream, type StreamPart } from '@vel/core'
import { afterAll, describe, expect, it } from 'vitest'
import { killAtKillpoint, printed, startWorker } from '../../../test/support/child-process.ts'

const worker = fileURLToPath(new URL('./crash-worker.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'vel-crash-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Outcome {
  answer: unknown
  journal: Array<{ type: string; toolCallId?: string; error?: string }>
}

const start = (options: Record<string, string>) => startWorker(worker, options)

async function crashThenContinue(killAt: string, sideEffects: string, then: 'recover' | 'approve') {
  const name = `${killAt}-${sideEffects}`
  const options = {
    db: join(dir, `${name}.db`),
    log: join(dir, `${name}.log`),
    sideEffects,
    runId: `run-${name}`,
    killAt,
  }
  await killAtKillpoint(start({ ...options, mode: 'run' }))
  const outcome = printed<Outcome>(await start({ ...options, mode: then }).output, 'RESULT')
  const log = readFileSync(options.log, 'utf8').trim().split('\n')
  return { outcome, log, runId: options.runId }
}

const everyAddOnce = (runId: string) => [
  `${runId}:call_1 add(1,1)`,
  `${runId}:call_2 add(2,2)`,
  `${runId}:call_3 add(3,3)`,
]

describe('crash and resume with real processes (SQLite, SIGKILL)', () => {
  it('killed during a model call: the call is made again, no tool runs twice', async () => {
    const { outcome, log, runId } = await crashThenContinue('model', 'unsafe', 'recover')
    expect(outcome.answer).toBe('sum=12')
    expect(log).toEqual(everyAddOnce(runId))
  })

  it('killed after a tool result was journaled: the tool is not run again', async () => {
    const { outcome, log, runId } = await crashThenContinue('tool-result', 'unsafe', 'recover')
    expect(outcome.answer).toBe('sum=12')
    expect(log).toEqual(everyAddOnce(runId))
  })

  it('killed mid-tool, unsafe: not run again, and the model is told the outcome is unknown', async () => {
    const { outcome, log, runId } = await crashThenContinue('tool-started', 'unsafe', 'recover')
    expect(log).toEqual(everyAddOnce(runId))
    expect(outcome.journal).toContainEqual({ type: 'tool.interrupted', toolCallId: 'call_2' })
    const model = outcome.journal.filter((event) => event.type === 'model.responded')
    expect(model).toHaveLength(4)
    // call_2 has no numeric result, so the sum counts 2 + 6.
    expect(outcome.answer).toBe('sum=8')
  })

  it('killed mid-tool, idempotent: re-run with the same idempotency key', async () => {
    const { outcome, log, runId } = await crashThenContinue('tool-started', 'idempotent', 'recover')
    expect(outcome.answer).toBe('sum=12')
    expect(log).toEqual([
      `${runId}:call_1 add(1,1)`,
      `${runId}:call_2 add(2,2)`,
      `${runId}:call_2 add(2,2)`,
      `${runId}:call_3 add(3,3)`,
    ])
  })

  it('killed while waiting for approval: a second process approves and finishes the run', async () => {
    const { outcome, log, runId } = await crashThenContinue('approval', 'unsafe', 'approve')
    expect(outcome.answer).toBe('sum=12')
    expect(log).toEqual(everyAddOnce(runId))
    expect(outcome.journal).toContainEqual(
      expect.objectContaining({ type: 'approval.decided', approved: true, by: 'second-process' }),
    )
  })
})

describe('a pipeline killed mid-way (SQLite, SIGKILL)', () => {
  it('resumes the whole tree: stage one is not re-run, stage two continues, the answer is right', async () => {
    const pipelineWorker = fileURLToPath(new URL('./pipeline-worker.ts', import.meta.url))
    const options = { db: join(dir, 'pipeline.db'), log: join(dir, 'pipeline.log'), runId: 'pipeline-run' }
    const run = (mode: string) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', pipelineWorker, JSON.stringify({ ...options, mode })],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      )
      let stdout = ''
      const killpoint = new Promise<void>((resolve) =>
        child.stdout?.on('data', (chunk: Buffer) => {
          stdout += chunk.toString()
          if (stdout.includes('KILLPOINT')) resolve()
        }),
      )
      const exited = new Promise<string>((resolve) => child.on('exit', () => resolve(stdout)))
      return { child, killpoint, exited }
    }
    const first = run('run')
    await first.killpoint
    first.child.kill('SIGKILL')
    await first.exited
    const output = await run('recover').exited
    const line = output.split('\n').find((candidate) => candidate.startsWith('RESULT '))
    expect(JSON.parse(line?.slice('RESULT '.length) ?? '{}')).toEqual({
      answer: 'final(draft(notes(otters)))',
    })
    // research ran once; write was interrupted and ran again in the new process; review once.
    expect(readFileSync(options.log, 'utf8').trim().split('\n')).toEqual([
      'research',
      'write',
      'write',
      'review',
    ])
    // The parent's stream holds each child's own stream exactly once, across the kill.
    const streams = output.split('\n').find((candidate) => candidate.startsWith('STREAMS '))
    const { parent, children } = JSON.parse(streams?.slice('STREAMS '.length) ?? '{}') as {
      parent: StreamPart[]
      children: Record<string, StreamPart[]>
    }
    assertWellFormedStream(parent)
    expect(Object.keys(children)).toHaveLength(3)
    for (const [childRunId, own] of Object.entries(children)) {
      const through = parent.flatMap((part) => {
        const data =
          part.type === 'data-vel-child' ? (part.data as { runId: string; part: StreamPart }) : undefined
        return data?.runId === childRunId ? [data.part] : []
      })
      expect(through).toEqual(own)
      assertWellFormedStream(through)
    }
  })
})
