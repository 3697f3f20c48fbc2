import type { JsonObject, ProviderMetadata } from './json.ts'
import type { Message } from './messages.ts'
import type { FinishReason } from './stream-parts.ts'

/** A tool as a model sees it: name, description and a JSON Schema for its input. */
export interface ToolSpec {
  readonly name: string
  readonly description: string
  /** JSON Schema (draft 2020-12 subset) of the input object. */
  readonly inputSchema: JsonObject
}

/** Token usage of one model call. Missing counts are 0. */
export interface Usage {
  inputTokens: number
  outputTokens: number
  /** Included in `outputTokens` where the provider reports it that way. */
  reasoningTokens: number
  /** Input tokens served from the provider's prompt cache (included in `inputTokens`). */
  cachedInputTokens: number
}

export const emptyUsage = (): Usage => ({
  inputTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
  cachedInputTokens: 0,
})

export const addUsage = (a: Usage, b: Usage): Usage => ({
  inputTokens: a.inputTokens + b.inputTokens,
  outputTokens: a.outputTokens + b.outputTokens,
  reasoningTokens: a.reasoningTokens + b.reasoningTokens,
  cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
})

/** One call to a model: the exact messages and tools it receives, plus settings. */
export interface ModelRequest {
  readonly messages: ReadonlyArray<Message>
  readonly tools?: ReadonlyArray<ToolSpec>
  /** `auto` (default), `none` (text only), `required`, or one named tool. */
  readonly toolChoice?: 'auto' | 'none' | 'required' | { readonly name: string }
  /** Structured output: the answer must be JSON matching `schema`. */
  readonly responseFormat?: { readonly type: 'json'; readonly schema: JsonObject; readonly name?: string }
  readonly maxOutputTokens?: number
  readonly temperature?: number
  readonly topP?: number
  readonly stopSequences?: ReadonlyArray<string>
  readonly seed?: number
  /** Provider-specific settings, keyed by provider name (e.g. `{ anthropic: { thinking: {...} } }`). */
  readonly providerOptions?: Record<string, JsonObject>
}

/**
 * What a model streams. Text and reasoning come in blocks (`*-start`, `*-delta`, `*-end` sharing an
 * `id`); tool input may stream (`tool-input-*`, whose `id` is the call's `toolCallId`) and always
 * ends in one complete `tool-call` whose `input` is the raw JSON string (validated by core, not the
 * provider). Exactly one `finish` ends
 * a successful stream; failures are thrown as `ProviderError`.
 */
export type ModelPart =
  | { type: 'response-metadata'; id?: string; modelId?: string }
  | { type: 'text-start'; id: string }
  | { type: 'text-delta'; id: string; delta: string }
  | { type: 'text-end'; id: string; providerMetadata?: ProviderMetadata }
  | { type: 'reasoning-start'; id: string }
  | { type: 'reasoning-delta'; id: string; delta: string }
  | { type: 'reasoning-end'; id: string; providerMetadata?: ProviderMetadata }
  | { type: 'tool-input-start'; id: string; toolName: string }
  | { type: 'tool-input-delta'; id: string; delta: string }
  | { type: 'tool-input-end'; id: string }
  | {
      type: 'tool-call'
      toolCallId: string
      toolName: string
      input: string
      providerMetadata?: ProviderMetadata
    }
  | { type: 'warning'; message: string }
  | {
      type: 'finish'
      finishReason: FinishReason
      usage: Usage
      /** Opaque data for the whole response, kept on the assistant message. */
      providerMetadata?: ProviderMetadata
    }

/** Call options for one model call. */
export interface ModelCallOptions {
  /** Aborts the HTTP request and the stream; the iterator then throws `ProviderError { reason: 'aborted' }`. */
  readonly signal?: AbortSignal
}

/**
 * A language model, in the style of the Vercel AI SDK's provider spec. Implementations must not
 * retry on their own (the runtime owns retry policy) and must throw only `ProviderError`.
 */
export interface LanguageModel {
  /** Provider name, e.g. `openai`, `anthropic`, `gemini`, `scripted`. */
  readonly provider: string
  /** Model id as the provider names it. */
  readonly modelId: string
  /** Streams one response. */
  stream(request: ModelRequest, options?: ModelCallOptions): AsyncIterable<ModelPart>
}
