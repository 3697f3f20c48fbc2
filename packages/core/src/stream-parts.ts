import type { JsonValue, ProviderMetadata } from './json.ts'

/** Why a run's message finished (the AI SDK's finish reasons). */
export type FinishReason = 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'other'

/**
 * One chunk of the Vercel AI SDK UI message stream (protocol v1), with the exact field names the
 * SDK's `readUIMessageStream`/`useChat` expect. Vel emits a subset and `data-*` parts of its own.
 */
export type StreamPart =
  | { type: 'start'; messageId?: string; messageMetadata?: JsonValue }
  | { type: 'finish'; finishReason?: FinishReason; messageMetadata?: JsonValue }
  | { type: 'abort'; reason?: string }
  | { type: 'error'; errorText: string }
  | { type: 'start-step' }
  | { type: 'finish-step' }
  | { type: 'text-start'; id: string; providerMetadata?: ProviderMetadata }
  | { type: 'text-delta'; id: string; delta: string }
  | { type: 'text-end'; id: string; providerMetadata?: ProviderMetadata }
  | { type: 'reasoning-start'; id: string; providerMetadata?: ProviderMetadata }
  | { type: 'reasoning-delta'; id: string; delta: string }
  | { type: 'reasoning-end'; id: string; providerMetadata?: ProviderMetadata }
  | { type: 'tool-input-start'; toolCallId: string; toolName: string }
  | { type: 'tool-input-delta'; toolCallId: string; inputTextDelta: string }
  | { type: 'tool-input-available'; toolCallId: string; toolName: string; input: JsonValue }
  | { type: 'tool-input-error'; toolCallId: string; toolName: string; input: JsonValue; errorText: string }
  | { type: 'tool-approval-request'; approvalId: string; toolCallId: string }
  | { type: 'tool-output-available'; toolCallId: string; output: JsonValue }
  | { type: 'tool-output-error'; toolCallId: string; errorText: string }
  | { type: 'tool-output-denied'; toolCallId: string }
  | { type: 'message-metadata'; messageMetadata: JsonValue }
  | DataPart

/** An application or Vel data part (`data-<name>`), e.g. `data-vel-agent` marking which agent speaks. */
export interface DataPart {
  type: `data-${string}`
  id?: string
  data: JsonValue
  transient?: boolean
}

/** A stream part with its position in the run's stream (used for SSE `id:` and NATS sequence headers). */
export interface SequencedPart {
  /** Position among the parts this process emitted for the run, from 1, without gaps. */
  readonly seq: number
  /** The journal entry these parts follow: a durable position to replay from after a gap. */
  readonly journalSeq: number
  readonly part: StreamPart
}

/** Thrown by `assertWellFormedStream` with the index of the first offending part. */
export class MalformedStreamError extends Error {
  readonly _tag = 'MalformedStreamError' as const
  readonly index: number
  constructor(index: number, message: string) {
    super(`part ${index}: ${message}`)
    this.name = 'MalformedStreamError'
    this.index = index
  }
}

/**
 * Checks the guarantees every Vel stream makes: exactly one `start`, first; text and reasoning
 * blocks opened and closed once; steps not nested and closed; tool input started before it is
 * available, tool output only for available input; at most one `abort`/`error` and only right
 * before the single terminal `finish`; nothing after `finish`. Throws `MalformedStreamError`.
 */
export function assertWellFormedStream(parts: ReadonlyArray<StreamPart>): void {
  const fail = (index: number, message: string): never => {
    throw new MalformedStreamError(index, message)
  }
  if (parts.length === 0) fail(0, 'empty stream')
  if (parts[0]?.type !== 'start') fail(0, `expected start, got ${parts[0]?.type}`)
  const open = new Set<string>()
  const toolsStarted = new Set<string>()
  const toolsAvailable = new Set<string>()
  const toolsDone = new Set<string>()
  let inStep = false
  let finished = false
  let ended = false
  parts.forEach((part, index) => {
    if (finished) fail(index, `${part.type} after finish`)
    if (ended && part.type !== 'finish') fail(index, `${part.type} after ${parts[index - 1]?.type}`)
    switch (part.type) {
      case 'start':
        if (index !== 0) fail(index, 'second start')
        break
      case 'start-step':
        if (inStep) fail(index, 'start-step inside a step')
        inStep = true
        break
      case 'finish-step':
        if (!inStep) fail(index, 'finish-step without start-step')
        if (open.size > 0) fail(index, `finish-step with open blocks ${[...open].join(', ')}`)
        inStep = false
        break
      case 'text-start':
      case 'reasoning-start': {
        const key = `${part.type.split('-')[0]}:${part.id}`
        if (open.has(key)) fail(index, `${key} started twice`)
        open.add(key)
        break
      }
      case 'text-delta':
      case 'reasoning-delta':
      case 'text-end':
      case 'reasoning-end': {
        const key = `${part.type.split('-')[0]}:${part.id}`
        if (!open.has(key)) fail(index, `${part.type} for unopened ${key}`)
        if (part.type.endsWith('-end')) open.delete(key)
        break
      }
      case 'tool-input-start':
        // Started again before its input was complete: a new attempt restarts it (after a takeover
        // mid-call); the AI SDK resets the tool part. Once complete, it is a duplicate.
        if (toolsAvailable.has(part.toolCallId))
          fail(index, `tool input ${part.toolCallId} started after it was complete`)
        toolsStarted.add(part.toolCallId)
        break
      case 'tool-input-delta':
        if (!toolsStarted.has(part.toolCallId) || toolsAvailable.has(part.toolCallId))
          fail(index, `tool-input-delta outside tool input ${part.toolCallId}`)
        break
      case 'tool-input-available':
      case 'tool-input-error':
        if (toolsAvailable.has(part.toolCallId)) fail(index, `tool input ${part.toolCallId} completed twice`)
        toolsStarted.add(part.toolCallId)
        toolsAvailable.add(part.toolCallId)
        break
      case 'tool-approval-request':
        if (!toolsAvailable.has(part.toolCallId))
          fail(index, `approval for unknown tool call ${part.toolCallId}`)
        break
      case 'tool-output-available':
      case 'tool-output-error':
      case 'tool-output-denied':
        if (!toolsAvailable.has(part.toolCallId))
          fail(index, `output for unknown tool call ${part.toolCallId}`)
        if (toolsDone.has(part.toolCallId)) fail(index, `second output for tool call ${part.toolCallId}`)
        toolsDone.add(part.toolCallId)
        break
      case 'abort':
      case 'error':
        // A second one is caught above: nothing but finish may follow.
        ended = true
        break
      case 'finish':
        if (open.size > 0) fail(index, `finish with open blocks ${[...open].join(', ')}`)
        if (inStep) fail(index, 'finish inside a step')
        finished = true
        break
      default:
        break
    }
  })
  if (!finished) fail(parts.length, 'stream did not end with finish')
  // A stream cut short (a cancel or an error in the middle of a model call) may leave a tool input
  // streaming; the AI SDK keeps such a part as it was. Otherwise every input completes.
  if (ended) return
  for (const id of toolsStarted) {
    if (!toolsAvailable.has(id)) fail(parts.length, `tool input ${id} never completed`)
  }
}
