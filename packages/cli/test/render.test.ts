import { Readable } from 'node:stream'
import type { StreamPart } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { createPartPrinter } from '../src/render.ts'

const capture = () => {
  const out = { stdout: '', stderr: '' }
  const io = {
    stdout: { write: (text: string) => (out.stdout += text) },
    stderr: { write: (text: string) => (out.stderr += text) },
    stdin: Readable.from([]),
    env: { NO_COLOR: '1' },
  }
  return { io, out }
}

const child = (part: StreamPart, transient = false): StreamPart => ({
  type: 'data-vel-child',
  ...(transient ? { transient: true } : {}),
  data: { runId: 'r-deployer', agentId: 'deployer', part: part as never },
})

describe('vel run of a pipeline', () => {
  it("names a descendant's tool calls and approval requests, and keeps its text off stdout", () => {
    const { io, out } = capture()
    const printer = createPartPrinter(io)
    for (const part of [
      child({ type: 'text-delta', id: '1-0', delta: 'checking' }, true),
      child({ type: 'text-delta', id: '1-0', delta: 'checking' }),
      child({ type: 'tool-input-available', toolCallId: 'deploy-1', toolName: 'deploy', input: {} }),
      child({ type: 'tool-approval-request', approvalId: 'deploy-1', toolCallId: 'deploy-1' }),
      { type: 'text-delta', id: 'answer', delta: 'shipped' },
    ] satisfies StreamPart[])
      printer.print(part)
    printer.end()
    expect(out.stdout).toBe('shipped\n')
    expect(out.stderr).toBe('[deployer] ⚙ deploy {}\n[deployer] ? deploy needs approval (deploy-1)\n')
  })
})
