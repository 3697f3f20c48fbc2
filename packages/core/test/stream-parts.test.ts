import { describe, expect, it } from 'vitest'
import { assertWellFormedStream, MalformedStreamError, type StreamPart } from '../src/index.ts'

const good: StreamPart[] = [
  { type: 'start', messageId: 'm' },
  { type: 'start-step' },
  { type: 'reasoning-start', id: 'r' },
  { type: 'reasoning-delta', id: 'r', delta: 'hm' },
  { type: 'reasoning-end', id: 'r' },
  { type: 'text-start', id: 't' },
  { type: 'text-delta', id: 't', delta: 'hi' },
  { type: 'text-end', id: 't' },
  { type: 'tool-input-start', toolCallId: 'c', toolName: 'add' },
  { type: 'tool-input-delta', toolCallId: 'c', inputTextDelta: '{}' },
  { type: 'tool-input-available', toolCallId: 'c', toolName: 'add', input: {} },
  { type: 'tool-approval-request', approvalId: 'c', toolCallId: 'c' },
  { type: 'tool-output-denied', toolCallId: 'c' },
  { type: 'data-vel-agent', data: { agentId: 'a' } },
  { type: 'finish-step' },
  { type: 'finish' },
]

const broken = (index: number, replacement: StreamPart[] | null, insertOnly = false): StreamPart[] => {
  const parts = [...good]
  parts.splice(index, insertOnly ? 0 : 1, ...(replacement ?? []))
  return parts
}

describe('assertWellFormedStream', () => {
  it('accepts a well-formed stream, and abort or error right before finish', () => {
    expect(() => assertWellFormedStream(good)).not.toThrow()
    expect(() => assertWellFormedStream(broken(15, [{ type: 'abort', reason: 'x' }], true))).not.toThrow()
    expect(() => assertWellFormedStream(broken(15, [{ type: 'error', errorText: 'x' }], true))).not.toThrow()
  })

  it('accepts a tool input restarted by a new attempt, and one a cancel or an error cut short', () => {
    const restart: StreamPart[] = [
      { type: 'tool-input-start', toolCallId: 'c', toolName: 'add' },
      { type: 'tool-input-delta', toolCallId: 'c', inputTextDelta: '{' },
    ]
    expect(() => assertWellFormedStream(broken(8, restart, true))).not.toThrow()
    const cut: StreamPart[] = [
      ...good.slice(0, 10),
      { type: 'finish-step' },
      { type: 'abort', reason: 'cancelled' },
      { type: 'finish' },
    ]
    expect(() => assertWellFormedStream(cut)).not.toThrow()
  })

  it.each([
    ['an empty stream', [] as StreamPart[], 'empty stream'],
    ['no start', good.slice(1), 'expected start'],
    ['two starts', broken(1, [{ type: 'start' }], true), 'second start'],
    ['no finish', good.slice(0, -1), 'did not end with finish'],
    ['something after finish', [...good, { type: 'finish-step' } as StreamPart], 'after finish'],
    ['a delta for an unopened block', broken(6, [{ type: 'text-delta', id: 'zz', delta: 'x' }]), 'unopened'],
    ['an unclosed text block', broken(7, []), 'open blocks'],
    ['a block opened twice', broken(6, [{ type: 'text-start', id: 't' }]), 'started twice'],
    ['nested steps', broken(2, [{ type: 'start-step' }], true), 'inside a step'],
    ['finish-step without start-step', broken(1, []), 'without start-step'],
    ['finish inside a step', broken(14, []), 'finish inside a step'],
    ['tool input never completed', [...good.slice(0, 10), ...good.slice(13)], 'never completed'],
    [
      'a tool input started again after it completed',
      broken(15, [{ type: 'tool-input-start', toolCallId: 'c', toolName: 'add' }], true),
      'started after it was complete',
    ],
    [
      'output for an unknown call',
      broken(12, [{ type: 'tool-output-available', toolCallId: 'x', output: 1 }]),
      'unknown tool call',
    ],
    [
      'two outputs',
      broken(13, [{ type: 'tool-output-error', toolCallId: 'c', errorText: 'e' }], true),
      'second output',
    ],
    [
      'two terminal parts',
      [
        ...good.slice(0, -1),
        { type: 'abort' },
        { type: 'error', errorText: 'e' },
        { type: 'finish' },
      ] as StreamPart[],
      'error after abort',
    ],
    [
      'parts after abort',
      [...good.slice(0, -2), { type: 'abort' }, { type: 'finish-step' }, { type: 'finish' }] as StreamPart[],
      'after abort',
    ],
    [
      'a delta after tool input completed',
      broken(11, [{ type: 'tool-input-delta', toolCallId: 'c', inputTextDelta: 'x' }], true),
      'outside tool input',
    ],
    [
      'approval for an unknown call',
      broken(11, [{ type: 'tool-approval-request', approvalId: 'q', toolCallId: 'q' }]),
      'approval for unknown',
    ],
  ])('rejects %s', (_name, parts, message) => {
    expect(() => assertWellFormedStream(parts)).toThrow(MalformedStreamError)
    expect(() => assertWellFormedStream(parts)).toThrow(message)
  })
})
