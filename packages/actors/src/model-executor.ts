import {
  type AssistantMessage,
  emptyUsage,
  type FinishReason,
  type JsonValue,
  type LanguageModel,
  type ModelRequest,
  ProviderError,
  type ProviderMetadata,
  parseToolInput,
  type ReasoningPart,
  RunError,
  type RunEvent,
  type StreamPart,
  serializeError,
  type TextPart,
  type ToolCallPart,
  type ToolPlan,
  type Usage,
} from '@vel/core'

type ModelOutcome = Extract<RunEvent, { type: 'model.responded' | 'model.failed' }>

/** What a model call needs from the run. */
export interface ModelCall {
  readonly model: LanguageModel
  readonly request: ModelRequest
  readonly step: number
  readonly signal: AbortSignal
  /** Forwards live parts (text, reasoning, tool input) to the run's stream. */
  readonly emit: (parts: StreamPart[]) => void
  /** Decides what to do with each tool call (validation, approval, built-ins). */
  readonly plan: (calls: ReadonlyArray<ToolCallPart>) => Promise<ToolPlan[]>
  /** Parses and checks a structured answer; absent when the agent answers in text. */
  readonly parseOutput?: (text: string) => { ok: true; value: JsonValue } | { ok: false; error: string }
  readonly now: () => number
}

interface Block {
  kind: 'text' | 'reasoning'
  text: string
  providerMetadata?: ProviderMetadata
}

const toProviderError = (model: LanguageModel, cause: unknown): ProviderError | RunError => {
  if (ProviderError.isInstance(cause) || RunError.isInstance(cause)) return cause
  const message = cause instanceof Error ? cause.message : String(cause)
  return new ProviderError({ reason: 'invalid-response', message, provider: model.provider, cause })
}

/**
 * One model call: stream the response, forward text live, assemble the
 * assistant message (keeping provider metadata), parse tool arguments and plan each call. The
 * outcome is an event; stream blocks left open by a failure are closed so the stream stays well
 * formed.
 */
export async function executeModelCall(call: ModelCall): Promise<ModelOutcome> {
  const content: Array<Block | ToolCallPart> = []
  const blocks = new Map<string, Block>()
  const openTools = new Map<string, string>()
  const toolCalls: ToolCallPart[] = []
  let usage: Usage = emptyUsage()
  let finishReason: FinishReason = 'other'
  let responseMetadata: ProviderMetadata | undefined
  const liveId = (id: string) => `${call.step}-${id}`

  // Plain async iteration: retries and timeouts of model calls are the provider layer's Effect
  // schedule (withRetry); here an Effect fiber per call would only add cost on the hot path.
  const consume = async (signal: AbortSignal) => {
    for await (const part of call.model.stream(call.request, { signal })) {
      switch (part.type) {
        case 'text-start':
        case 'reasoning-start': {
          const block: Block = { kind: part.type === 'text-start' ? 'text' : 'reasoning', text: '' }
          blocks.set(part.id, block)
          content.push(block)
          call.emit([{ type: part.type, id: liveId(part.id) }])
          break
        }
        case 'text-delta':
        case 'reasoning-delta': {
          const block = blocks.get(part.id)
          if (block === undefined) break
          block.text += part.delta
          call.emit([{ type: part.type, id: liveId(part.id), delta: part.delta }])
          break
        }
        case 'text-end':
        case 'reasoning-end': {
          const block = blocks.get(part.id)
          if (block === undefined) break
          if (part.providerMetadata) block.providerMetadata = part.providerMetadata
          blocks.delete(part.id)
          call.emit([{ type: part.type, id: liveId(part.id) }])
          break
        }
        case 'tool-input-start':
          openTools.set(part.id, part.toolName)
          call.emit([{ type: 'tool-input-start', toolCallId: part.id, toolName: part.toolName }])
          break
        case 'tool-input-delta':
          if (openTools.has(part.id))
            call.emit([{ type: 'tool-input-delta', toolCallId: part.id, inputTextDelta: part.delta }])
          break
        case 'tool-call': {
          const parsed = parseToolInput(part.input)
          const toolCall: ToolCallPart = {
            type: 'tool-call',
            id: part.toolCallId,
            name: part.toolName,
            input: parsed.ok ? parsed.value : part.input,
            ...(part.providerMetadata ? { providerMetadata: part.providerMetadata } : {}),
          }
          toolCalls.push(toolCall)
          content.push(toolCall)
          openTools.delete(part.toolCallId)
          break
        }
        case 'finish':
          usage = part.usage
          finishReason = part.finishReason
          responseMetadata = part.providerMetadata
          break
        default:
          break
      }
    }
  }

  let failure: unknown
  try {
    await consume(call.signal)
  } catch (cause) {
    failure = cause
  }
  closeOpenBlocks(call, blocks, openTools, liveId)
  if (failure !== undefined || call.signal.aborted) {
    const error = call.signal.aborted
      ? new ProviderError({ reason: 'aborted', message: 'model call aborted', provider: call.model.provider })
      : toProviderError(call.model, failure)
    return { type: 'model.failed', error: serializeError(error) }
  }

  const message: AssistantMessage = {
    role: 'assistant',
    content: content.map((entry) => {
      if ('type' in entry) return entry
      const base = entry.providerMetadata ? { providerMetadata: entry.providerMetadata } : {}
      return entry.kind === 'text'
        ? ({ type: 'text', text: entry.text, ...base } satisfies TextPart)
        : ({ type: 'reasoning', text: entry.text, ...base } satisfies ReasoningPart)
    }),
    ...(responseMetadata ? { providerMetadata: responseMetadata } : {}),
  }
  let output: JsonValue | undefined
  if (call.parseOutput && toolCalls.length === 0) {
    const text = message.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
    const parsed = call.parseOutput(text)
    if (!parsed.ok)
      return {
        type: 'model.failed',
        error: { tag: 'RunError', reason: 'invalid-output', message: parsed.error, retryable: false },
      }
    output = parsed.value
  }
  const plan = toolCalls.length === 0 ? [] : await call.plan(toolCalls)
  return {
    type: 'model.responded',
    message,
    usage,
    finishReason,
    plan,
    streamed: true,
    at: call.now(),
    ...(output === undefined ? {} : { output }),
  }
}

/** Closes blocks a failed or odd stream left open, so the run's stream stays well formed. */
function closeOpenBlocks(
  call: ModelCall,
  blocks: Map<string, Block>,
  openTools: Map<string, string>,
  liveId: (id: string) => string,
): void {
  const parts: StreamPart[] = []
  for (const [id, block] of blocks)
    parts.push({ type: block.kind === 'text' ? 'text-end' : 'reasoning-end', id: liveId(id) })
  for (const [toolCallId, toolName] of openTools)
    parts.push({
      type: 'tool-input-error',
      toolCallId,
      toolName,
      input: null,
      errorText: 'tool input was not completed',
    })
  if (parts.length > 0) call.emit(parts)
}
