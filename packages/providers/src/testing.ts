/**
 * @vel/providers/testing: a scripted `LanguageModel` for tests, offline demos and benchmarks.
 * Deterministic, no timers, no I/O; it imports only `@vel/core`.
 */
import {
  type FinishReason,
  type JsonValue,
  type LanguageModel,
  type ModelCallOptions,
  type ModelPart,
  type ModelRequest,
  ProviderError,
  type ProviderMetadata,
  type Usage,
} from '@vel/core'

/** One scripted response. Parts come in this order: reasoning, text, tool calls, finish. */
export interface ScriptedResponse {
  /** The answer text; an array is streamed as one delta per element. */
  readonly text?: string | ReadonlyArray<string>
  /** Reasoning before the text; `providerMetadata` lands on `reasoning-end` (e.g. a signature). */
  readonly reasoning?: string | { readonly text: string; readonly providerMetadata?: ProviderMetadata }
  /** Tool calls; `input` is JSON (stringified) or a raw string sent as is. Ids default to `call-<turn>-<index>`. */
  readonly toolCalls?: ReadonlyArray<{
    readonly id?: string
    readonly name: string
    readonly input: JsonValue
  }>
  /** Missing counts are taken from the model's `usage` option (default 1 input, 1 output). */
  readonly usage?: Partial<Usage>
  /** Default `tool-calls` when there are tool calls, else `stop`. */
  readonly finishReason?: FinishReason
  /** On the `finish` part. */
  readonly providerMetadata?: ProviderMetadata
  /** Throw this instead of answering (after `failAfterParts` parts, default 0). */
  readonly error?: ProviderError
  readonly failAfterParts?: number
}

/** Options of `createScriptedModel`: a list of responses, or a function of the request. */
export interface ScriptedModelOptions {
  /** Played in order, one per call; a call past the end fails with `invalid-response` (unless `loop`). */
  readonly responses?: ReadonlyArray<ScriptedResponse>
  /** Computes each response; should be a pure function of the request for deterministic replays. */
  readonly respond?: (
    request: ModelRequest,
    context: { readonly call: number; readonly signal: AbortSignal | undefined },
  ) => ScriptedResponse | Promise<ScriptedResponse>
  /** Start over at the first response when the list is exhausted. */
  readonly loop?: boolean
  /** Keep every request in `requests` (default true; turn off in long benchmarks). */
  readonly record?: boolean
  readonly usage?: Partial<Usage>
  readonly provider?: string
  readonly modelId?: string
}

/** A scripted model plus what a test needs to look at. */
export interface ScriptedModel extends LanguageModel {
  /** Every request received, in order (empty when `record` is false). */
  readonly requests: ReadonlyArray<ModelRequest>
  /** Number of `stream` calls so far. */
  readonly calls: number
  /** The last request received. */
  lastRequest(): ModelRequest | undefined
  /** Forgets recorded requests and restarts the response list. */
  reset(): void
}

const assistantTurns = (request: ModelRequest): number => {
  let count = 0
  for (const message of request.messages) if (message.role === 'assistant') count += 1
  return count
}

/**
 * Creates a scripted model. Each call streams the response's parts synchronously (no timers);
 * an aborted `signal` makes the stream throw `ProviderError { reason: 'aborted' }`.
 */
export function createScriptedModel(options: ScriptedModelOptions): ScriptedModel {
  const provider = options.provider ?? 'scripted'
  const baseUsage: Usage = {
    inputTokens: options.usage?.inputTokens ?? 1,
    outputTokens: options.usage?.outputTokens ?? 1,
    reasoningTokens: options.usage?.reasoningTokens ?? 0,
    cachedInputTokens: options.usage?.cachedInputTokens ?? 0,
  }
  const record = options.record ?? true
  const requests: ModelRequest[] = []
  let calls = 0
  const pick = (request: ModelRequest, call: number, signal: AbortSignal | undefined) => {
    if (options.respond !== undefined) return options.respond(request, { call, signal })
    const list = options.responses ?? []
    const index = options.loop && list.length > 0 ? call % list.length : call
    const response = list[index]
    if (response === undefined)
      throw new ProviderError({
        reason: 'invalid-response',
        provider,
        message: `scripted: no response #${call + 1} (${list.length} scripted)`,
      })
    return response
  }
  const aborted = () =>
    new ProviderError({ reason: 'aborted', provider, message: 'scripted: call aborted', retryable: false })

  async function* stream(
    request: ModelRequest,
    callOptions: ModelCallOptions = {},
  ): AsyncGenerator<ModelPart> {
    const call = calls
    calls += 1
    if (record) requests.push(request)
    const signal = callOptions.signal
    if (signal?.aborted) throw aborted()
    const picked = pick(request, call, signal)
    const response = picked instanceof Promise ? await picked : picked
    const failAfter = response.error === undefined ? -1 : (response.failAfterParts ?? 0)
    let emitted = 0
    for (const part of partsOf(response, request, baseUsage)) {
      if (emitted === failAfter) throw response.error
      if (signal?.aborted) throw aborted()
      emitted += 1
      yield part
    }
    if (response.error !== undefined) throw response.error
  }

  return {
    provider,
    modelId: options.modelId ?? 'scripted',
    stream,
    requests,
    get calls() {
      return calls
    },
    lastRequest: () => requests.at(-1),
    reset() {
      requests.length = 0
      calls = 0
    },
  }
}

function* partsOf(response: ScriptedResponse, request: ModelRequest, baseUsage: Usage): Generator<ModelPart> {
  const reasoning = response.reasoning
  if (reasoning !== undefined) {
    const text = typeof reasoning === 'string' ? reasoning : reasoning.text
    yield { type: 'reasoning-start', id: 'reasoning-0' }
    if (text !== '') yield { type: 'reasoning-delta', id: 'reasoning-0', delta: text }
    const metadata = typeof reasoning === 'string' ? undefined : reasoning.providerMetadata
    yield metadata === undefined
      ? { type: 'reasoning-end', id: 'reasoning-0' }
      : { type: 'reasoning-end', id: 'reasoning-0', providerMetadata: metadata }
  }
  if (response.text !== undefined) {
    yield { type: 'text-start', id: 'text-0' }
    if (typeof response.text === 'string') yield { type: 'text-delta', id: 'text-0', delta: response.text }
    else for (const delta of response.text) yield { type: 'text-delta', id: 'text-0', delta }
    yield { type: 'text-end', id: 'text-0' }
  }
  const toolCalls = response.toolCalls ?? []
  if (toolCalls.length > 0) {
    const turn = assistantTurns(request)
    for (let index = 0; index < toolCalls.length; index++) {
      const call = toolCalls[index] as NonNullable<ScriptedResponse['toolCalls']>[number]
      const id = call.id ?? `call-${turn}-${index}`
      const input = typeof call.input === 'string' ? call.input : JSON.stringify(call.input)
      yield { type: 'tool-input-start', id, toolName: call.name }
      yield { type: 'tool-input-delta', id, delta: input }
      yield { type: 'tool-input-end', id }
      yield { type: 'tool-call', toolCallId: id, toolName: call.name, input }
    }
  }
  const usage = response.usage === undefined ? baseUsage : { ...baseUsage, ...response.usage }
  const finishReason = response.finishReason ?? (toolCalls.length > 0 ? 'tool-calls' : 'stop')
  yield response.providerMetadata === undefined
    ? { type: 'finish', finishReason, usage }
    : { type: 'finish', finishReason, usage, providerMetadata: response.providerMetadata }
}
