import {
  type AssistantMessage,
  blockId,
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
  type Tool,
  type ToolCallPart,
  type ToolPlan,
  type Usage,
} from '@vel/core'

type ModelOutcome = Extract<RunEvent, { type: 'model.responded' | 'model.failed' }>
type ModelResponded = Extract<RunEvent, { type: 'model.responded' }>

/** A live part of a model call and where it stands in the response. */
export interface LivePart {
  readonly part: StreamPart
  /** Index of the content block (text, reasoning or tool call) in the assistant message. */
  readonly block?: number
  /** Characters of that block's text streamed so far, this part included. */
  readonly offset?: number
  /** The text or reasoning block left open after this part. */
  readonly open?: { readonly id: string; readonly kind: 'text' | 'reasoning' }
}

/** What a model call needs from the run. */
export interface ModelCall {
  readonly model: LanguageModel
  readonly request: ModelRequest
  readonly step: number
  /** Lease epoch of the run's owner: part of block ids, so a re-run after a takeover uses new ones. */
  readonly epoch?: number
  /** Aborts the call; its `signal` is made only if the model reads it. */
  readonly control: { readonly aborted: boolean; readonly signal: AbortSignal }
  /** Forwards live parts (text, reasoning, tool input) to the run's stream. */
  readonly emit: (part: LivePart) => void
  /**
   * Decides what to do with each tool call (validation, approval, built-ins), for run `runId` with
   * `tools` (the agent's last list when absent): at once, or a promise when a check is asynchronous.
   */
  readonly plan: (
    calls: ReadonlyArray<ToolCallPart>,
    runId: string,
    tools?: ReadonlyMap<string, Tool>,
  ) => ToolPlan[] | Promise<ToolPlan[]>
  readonly runId: string
  readonly tools?: ReadonlyMap<string, Tool> | undefined
  /** Parses and checks a structured answer; absent when the agent answers in text. */
  readonly parseOutput?: (text: string) => { ok: true; value: JsonValue } | { ok: false; error: string }
  readonly now: () => number
}

interface Block {
  kind: 'text' | 'reasoning'
  text: string
  /** Index in the message content, and the id its parts carry. */
  index: number
  id: string
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
  // Made on the first text or reasoning block and the first streamed tool input (most responses
  // of a tool loop have neither).
  let blocks: Map<string, Block> | undefined
  let openTools: Map<string, { toolName: string; block: number }> | undefined
  const toolCalls: ToolCallPart[] = []
  let usage: Usage | undefined
  let finishReason: FinishReason = 'other'
  let responseMetadata: ProviderMetadata | undefined
  let toolBlocks = 0

  // Plain async iteration: retries and timeouts of model calls are the provider layer's Effect
  // schedule (withRetry); here an Effect fiber per call would only add cost on the hot path.
  const { control } = call
  // An own getter, so a wrapper that spreads the options keeps it: the signal is made only if read.
  const options = {
    get signal() {
      return control.signal
    },
  }
  let failure: unknown
  try {
    for await (const part of call.model.stream(call.request, options)) {
      switch (part.type) {
        case 'text-start':
        case 'reasoning-start': {
          const kind = part.type === 'text-start' ? 'text' : 'reasoning'
          const index = content.length
          const block: Block = { kind, text: '', index, id: blockId(call.step, index, call.epoch) }
          blocks ??= new Map()
          blocks.set(part.id, block)
          content.push(block)
          call.emit({
            part: { type: part.type, id: block.id },
            block: index,
            offset: 0,
            open: { id: block.id, kind },
          })
          break
        }
        case 'text-delta':
        case 'reasoning-delta': {
          const block = blocks?.get(part.id)
          if (block === undefined || part.delta === '') break
          block.text += part.delta
          call.emit({
            part: { type: part.type, id: block.id, delta: part.delta },
            block: block.index,
            offset: block.text.length,
            open: { id: block.id, kind: block.kind },
          })
          break
        }
        case 'text-end':
        case 'reasoning-end': {
          const block = blocks?.get(part.id)
          if (block === undefined) break
          if (part.providerMetadata) block.providerMetadata = part.providerMetadata
          blocks?.delete(part.id)
          call.emit({
            part: { type: part.type, id: block.id },
            block: block.index,
            offset: block.text.length,
          })
          break
        }
        case 'tool-input-start': {
          // Its block is where the call will stand in the message, after the blocks before it.
          const block = content.length + toolBlocks
          toolBlocks += 1
          openTools ??= new Map()
          openTools.set(part.id, { toolName: part.toolName, block })
          call.emit({
            part: { type: 'tool-input-start', toolCallId: part.id, toolName: part.toolName },
            block,
          })
          break
        }
        case 'tool-input-delta': {
          const open = openTools?.get(part.id)
          if (open)
            call.emit({
              part: { type: 'tool-input-delta', toolCallId: part.id, inputTextDelta: part.delta },
              block: open.block,
            })
          break
        }
        case 'tool-call': {
          const parsed = parseToolInput(part.input)
          const input = parsed.ok ? parsed.value : part.input
          const toolCall: ToolCallPart = part.providerMetadata
            ? {
                type: 'tool-call',
                id: part.toolCallId,
                name: part.toolName,
                input,
                providerMetadata: part.providerMetadata,
              }
            : { type: 'tool-call', id: part.toolCallId, name: part.toolName, input }
          toolCalls.push(toolCall)
          content.push(toolCall)
          if (openTools?.delete(part.toolCallId)) toolBlocks -= 1
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
  } catch (cause) {
    failure = cause
  }
  if (blocks?.size || openTools?.size) closeOpenBlocks(call, blocks, openTools)
  if (failure !== undefined || call.control.aborted) {
    const error = call.control.aborted
      ? new ProviderError({ reason: 'aborted', message: 'model call aborted', provider: call.model.provider })
      : toProviderError(call.model, failure)
    // What was streamed stays part of the run: replays show it before the error, as live readers saw it.
    const streamedBlocks = content.filter((entry): entry is Block => !('type' in entry))
    return {
      type: 'model.failed',
      error: serializeError(error),
      ...(streamedBlocks.length === 0
        ? {}
        : { partial: { role: 'assistant', content: blockParts(streamedBlocks) }, streamed: true }),
      ...(call.epoch === undefined ? {} : { epoch: call.epoch }),
    }
  }

  // Only tool calls (no text or reasoning block was opened): the content is already message parts.
  const parts = blocks === undefined ? (content as AssistantMessage['content']) : blockParts(content)
  const message: AssistantMessage = responseMetadata
    ? { role: 'assistant', content: parts, providerMetadata: responseMetadata }
    : { role: 'assistant', content: parts }
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
  const planned = toolCalls.length === 0 ? [] : call.plan(toolCalls, call.runId, call.tools)
  const plan = Array.isArray(planned) ? planned : await planned
  // Keys added, not spread from conditional objects (V8's slow path), in the same order.
  const responded: { -readonly [Key in keyof ModelResponded]: ModelResponded[Key] } = {
    type: 'model.responded',
    message,
    usage: usage ?? emptyUsage(),
    finishReason,
    plan,
    streamed: true,
    at: call.now(),
  }
  if (call.epoch !== undefined) responded.epoch = call.epoch
  if (output !== undefined) responded.output = output
  return responded
}

/** The message content of what was streamed: text and reasoning blocks as parts, tool calls as they are. */
const blockParts = (entries: ReadonlyArray<Block | ToolCallPart>) =>
  entries.map((entry) => {
    if ('type' in entry) return entry
    const base = entry.providerMetadata ? { providerMetadata: entry.providerMetadata } : {}
    return entry.kind === 'text'
      ? ({ type: 'text', text: entry.text, ...base } satisfies TextPart)
      : ({ type: 'reasoning', text: entry.text, ...base } satisfies ReasoningPart)
  })

/** Closes blocks a failed or odd stream left open, so the run's stream stays well formed. */
function closeOpenBlocks(
  call: ModelCall,
  blocks: Map<string, Block> | undefined,
  openTools: Map<string, { toolName: string; block: number }> | undefined,
): void {
  for (const block of blocks?.values() ?? [])
    call.emit({
      part: { type: block.kind === 'text' ? 'text-end' : 'reasoning-end', id: block.id },
      block: block.index,
      offset: block.text.length,
    })
  for (const [toolCallId, { toolName, block }] of openTools ?? [])
    call.emit({
      part: {
        type: 'tool-input-error',
        toolCallId,
        toolName,
        input: null,
        errorText: 'tool input was not completed',
      },
      block,
    })
}
