import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { TransportError } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { jsonSchemaFiles, schemasDirectory } from '../scripts/generate-schemas.ts'
import {
  CancelSchema,
  createSubjects,
  decodePayload,
  EventEnvelopeSchema,
  encodeJson,
  errorFromReply,
  errorReply,
  HumanReplySchema,
  HumanRequestSchema,
  TriggerSchema,
} from '../src/index.ts'

const decodeError = (run: () => unknown): TransportError => {
  try {
    run()
  } catch (error) {
    if (TransportError.isInstance(error)) return error
    throw error
  }
  throw new Error('expected a TransportError')
}

describe('JSON Schema files', () => {
  it('the committed files are exactly what generate-schemas.ts produces', () => {
    const generated = jsonSchemaFiles()
    expect(readdirSync(schemasDirectory).sort()).toEqual(generated.map(({ file }) => file).sort())
    for (const { file, text } of generated)
      expect(
        readFileSync(join(schemasDirectory, file), 'utf8'),
        `${file} is stale: run scripts/generate-schemas.ts`,
      ).toBe(text)
  })
})

describe('payload decoding', () => {
  it('round-trips every payload kind through JSON', () => {
    const samples = [
      [TriggerSchema, { input: 'hi', runId: 'r-1', idempotencyKey: 'k', sessionId: 's', metadata: { a: 1 } }],
      [TriggerSchema, { input: [{ role: 'user', content: 'hi' }] }],
      [
        EventEnvelopeSchema,
        {
          runId: 'r-1',
          position: {
            seq: 2,
            index: 0,
            block: 0,
            offset: 1,
            live: { epoch: 1, open: { id: '1-0', kind: 'text' } },
          },
          part: { type: 'text-delta', id: '1-0', delta: 'x' },
        },
      ],
      [
        HumanRequestSchema,
        {
          runId: 'r',
          agentId: 'a',
          request: { requestId: 'c', kind: 'approval', toolName: 'pay', input: {}, requestedAt: 1 },
        },
      ],
      [HumanReplySchema, { type: 'approve', toolCallId: 'c', reason: 'ok', by: 'me' }],
      [HumanReplySchema, { type: 'respond', requestId: 'q', answer: { name: 'Ada' } }],
      [CancelSchema, { reason: 'stop' }],
    ] as const
    for (const [schema, value] of samples) {
      const decoded = decodePayload(schema as never, encodeJson(value))
      expect(JSON.parse(JSON.stringify(decoded))).toEqual(value)
    }
  })

  it('rejects bytes that are not JSON and JSON of the wrong shape with typed reasons', () => {
    expect(decodeError(() => decodePayload(TriggerSchema, new Uint8Array([0xff, 0xfe]))).reason).toBe(
      'malformed-payload',
    )
    expect(decodeError(() => decodePayload(TriggerSchema, encodeJson({ input: 42 }))).reason).toBe(
      'schema-mismatch',
    )
    expect(decodeError(() => decodePayload(HumanReplySchema, encodeJson({ type: 'approve' }))).reason).toBe(
      'schema-mismatch',
    )
    expect(decodePayload(CancelSchema, new Uint8Array(), {})).toEqual({})
  })

  it('error replies survive the wire as TransportErrors', () => {
    const wire = JSON.parse(JSON.stringify(errorReply(new TransportError('unknown-agent', 'no agent x'))))
    expect(wire).toEqual({
      error: { tag: 'TransportError', reason: 'unknown-agent', message: 'no agent x', retryable: false },
    })
    expect(errorFromReply(wire)).toMatchObject({ reason: 'unknown-agent', message: 'no agent x' })
    expect(errorFromReply({ runId: 'r' })).toBeUndefined()
  })
})

describe('subjects', () => {
  it('derive every subject from the prefix and parse ids back', () => {
    const subjects = createSubjects('acme.prod')
    expect(subjects.agentRun('a1')).toBe('acme.prod.agent.a1.run')
    expect(subjects.agentOf('acme.prod.trigger.agent.a1.run')).toBe('a1')
    expect(subjects.runOf(subjects.humanReply('r9'))).toBe('r9')
    expect(subjects.triggerStream).toBe('ACME_PROD_TRIGGERS')
    expect(() => createSubjects('bad prefix')).toThrow(TypeError)
  })
})
