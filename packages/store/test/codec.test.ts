import { describe, expect, it } from 'vitest'
import { compactJson, decodeJson, encodeCompact, encodeJson } from '../src/codec.ts'
import { expectStoreError } from '../src/testing.ts'

const modelResponded = {
  type: 'model.responded',
  message: {
    role: 'assistant',
    content: [{ type: 'tool-call', id: 'call_1', name: 'add', input: { a: 1, b: 1 } }],
  },
  usage: { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedInputTokens: 0 },
  finishReason: 'tool-calls',
  plan: [{ toolCallId: 'call_1', action: 'execute', sideEffects: 'none' }],
  streamed: true,
  at: 1796183381607,
  epoch: 1,
}

describe('compact text', () => {
  it('round-trips events and messages exactly, in far fewer characters than their JSON', () => {
    const values = [
      modelResponded,
      { type: 'tool.succeeded', toolCallId: 'call_1', output: 2 },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', toolName: 'add', output: 2 }] },
      { type: 'run.started', runId: 'r', agentId: 'a', sessionId: null, parentRunId: null, history: [] },
    ]
    for (const value of values) {
      const text = encodeCompact(value, 'value')
      expect(decodeJson(text, 'row')).toEqual(value)
      expect(JSON.stringify(decodeJson(text, 'row'))).toBe(encodeJson(value, 'value'))
    }
    expect(encodeCompact(modelResponded, 'event').length).toBeLessThan(
      encodeJson(modelResponded, 'event').length / 3,
    )
  })

  it('leaves strings that spell a fragment, control characters and non-ASCII text exactly as they were', () => {
    const value = {
      text: '{"type":"tool-call","id":,"at":\u0001\u001f\t\n\r',
      nested: [{ type: '"type":' }, ',"output":', 'é☃😀'],
      ',"name":': { '"type":': 1 },
    }
    const text = encodeCompact(value, 'value')
    expect(decodeJson(text, 'row')).toEqual(value)
  })

  it('keeps the stored format: text written before fragments were appended reads as the same value', () => {
    // Written by the codec of 55235b2 (its tokens keep their meaning for good).
    const before =
      '\u0001\u0005"call_1"\u0019"add"\u001a{"a":1,"b":1}}]}\f1\u000e1\u000f0\u00100}\u0011\u0013"call_1"\u0014\u0015}]\u0016\u001c1796183381607\u00171}'
    expect(decodeJson(before, 'row')).toEqual(modelResponded)
    const run = { runId: 'r', agentId: 'a', sessionId: null, parentRunId: null, idempotencyKey: null }
    const times = { createdAt: 1, updatedAt: 2, status: 'waiting', pending: [], answer: null, error: null }
    expect(
      decodeJson(
        '\u001f?"r"\u001f""a"\u001f#null\u001f$\u001f@\u001fN1\u001fO2\u001fD\u001fG\u001fI\u001fK\u001fL}',
        'row',
      ),
    ).toEqual({ ...run, ...times, metadata: {} })
    expect(encodeCompact(modelResponded, 'event').length).toBeLessThan(before.length)
  })

  it('compacts JSON text written earlier exactly as it compacts the value', () => {
    const values = [modelResponded, { phase: 'waiting', step: 2, toolCalls: [], finalizing: false }]
    for (const value of values)
      expect(compactJson(encodeJson(value, 'value'))).toBe(encodeCompact(value, 'value'))
    expect(compactJson('{"a":1}')).toBe('{"a":1}')
  })

  it('reads plain JSON as before, whitespace included', () => {
    expect(decodeJson('{\n\t"type": "e",\r\n "n": [1, 2]\n}', 'row')).toEqual({ type: 'e', n: [1, 2] })
    expect(decodeJson(encodeJson(modelResponded, 'event'), 'row')).toEqual(modelResponded)
  })

  it('reports damaged compact text as corrupted, naming the row', async () => {
    const text = encodeCompact(modelResponded, 'event')
    for (const damaged of [text.slice(0, -3), `${text.slice(0, 5)}\u001f\u007f${text.slice(5)}`, '\u001f'])
      expect(() => decodeJson(damaged, 'journal entry r#2')).toThrow(
        expect.objectContaining({
          _tag: 'StoreError',
          reason: 'corrupted',
          message: expect.stringContaining('r#2'),
        }),
      )
    await expectStoreError((async () => encodeCompact({ n: 1n }, 'entry 0'))(), 'invalid-argument')
  })
})
