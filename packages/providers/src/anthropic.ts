import type Anthropic from '@anthropic-ai/sdk'
import { type FinishReason, type LanguageModel, type ModelPart, ProviderError } from '@vel/core'
import { anthropicBody } from './anthropic-request.ts'
import { lazySdk } from './load-sdk.ts'
import { normalizeArguments, usageOf } from './message-helpers.ts'
import { type ProviderSettings, Warnings, warningParts, withDefaults } from './provider-settings.ts'
import { guardStream } from './stream-guard.ts'

type StreamEvent = Anthropic.Messages.RawMessageStreamEvent

const finishReasons: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool-calls',
  refusal: 'content-filter',
}

/** A `LanguageModel` over the Anthropic Messages API (`provider: 'anthropic'`), thinking included. */
export function createAnthropicModel(settings: ProviderSettings): LanguageModel {
  const sdk = lazySdk('anthropic', '@anthropic-ai/sdk', () => import('@anthropic-ai/sdk'))
  let client: Anthropic | undefined
  // Where calls go, for error messages: the client's base URL once it exists.
  let endpoint = settings.baseURL
  const getClient = async () => {
    if (client !== undefined) return client
    const { default: AnthropicClient } = await sdk()
    client = new AnthropicClient({
      apiKey: settings.apiKey,
      authToken: null,
      maxRetries: 0,
      ...(settings.baseURL === undefined ? {} : { baseURL: settings.baseURL }),
      ...(settings.headers === undefined ? {} : { defaultHeaders: settings.headers }),
    })
    return client
  }
  const maxTokens = settings.defaultMaxOutputTokens ?? 4096
  return {
    provider: 'anthropic',
    modelId: settings.model,
    stream: (request, options = {}) =>
      guardStream(
        'anthropic',
        async function* (signal) {
          const warnings = new Warnings()
          const body = anthropicBody(
            settings.model,
            withDefaults(request, settings.defaults),
            warnings,
            maxTokens,
          )
          yield* warningParts(warnings.messages, settings.onWarning)
          const anthropic = await getClient()
          endpoint = anthropic.baseURL
          const events = await anthropic.messages.create(
            body as unknown as Anthropic.Messages.MessageCreateParamsStreaming,
            { signal },
          )
          yield* anthropicParts(events)
        },
        {
          signal: options.signal,
          timeoutMs: settings.timeoutMs,
          idleTimeoutMs: settings.idleTimeoutMs,
          endpoint: () => endpoint,
        },
      ),
  }
}

interface Block {
  readonly kind: 'text' | 'reasoning' | 'tool' | 'other'
  readonly id: string
  readonly name?: string
  input: string
  signature?: string
  redactedData?: string
}

/** Normalizes Messages API stream events; thinking signatures land on `reasoning-end`. */
export async function* anthropicParts(events: AsyncIterable<StreamEvent>): AsyncGenerator<ModelPart> {
  const blocks = new Map<number, Block>()
  const counts = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, thinking: 0 }
  let stopReason: string | null = null
  let stopped = false
  for await (const event of events) {
    switch (event.type) {
      case 'message_start': {
        const usage = event.message.usage
        counts.input = usage.input_tokens ?? 0
        counts.output = usage.output_tokens ?? 0
        counts.cacheRead = usage.cache_read_input_tokens ?? 0
        counts.cacheWrite = usage.cache_creation_input_tokens ?? 0
        yield { type: 'response-metadata', id: event.message.id, modelId: event.message.model }
        break
      }
      case 'content_block_start': {
        const block = event.content_block
        if (block.type === 'text') {
          blocks.set(event.index, { kind: 'text', id: `text-${event.index}`, input: '' })
          yield { type: 'text-start', id: `text-${event.index}` }
          if (block.text !== '') yield { type: 'text-delta', id: `text-${event.index}`, delta: block.text }
        } else if (block.type === 'thinking' || block.type === 'redacted_thinking') {
          const id = `reasoning-${event.index}`
          const entry: Block = { kind: 'reasoning', id, input: '' }
          if (block.type === 'thinking' && block.signature !== '') entry.signature = block.signature
          if (block.type === 'redacted_thinking') entry.redactedData = block.data
          blocks.set(event.index, entry)
          yield { type: 'reasoning-start', id }
          if (block.type === 'thinking' && block.thinking !== '')
            yield { type: 'reasoning-delta', id, delta: block.thinking }
        } else if (block.type === 'tool_use') {
          blocks.set(event.index, { kind: 'tool', id: block.id, name: block.name, input: '' })
          yield { type: 'tool-input-start', id: block.id, toolName: block.name }
        } else blocks.set(event.index, { kind: 'other', id: String(event.index), input: '' })
        break
      }
      case 'content_block_delta': {
        const block = blocks.get(event.index)
        const delta = event.delta
        if (block === undefined) throw unexpected(`delta for unknown content block ${event.index}`)
        // Server tool blocks (`server_tool_use`, `web_search_tool_result`, ...) stream input too, but
        // the API runs them: only a client `tool_use` block becomes tool-input parts.
        if (delta.type === 'text_delta' && block.kind === 'text')
          yield { type: 'text-delta', id: block.id, delta: delta.text }
        else if (delta.type === 'thinking_delta' && block.kind === 'reasoning')
          yield { type: 'reasoning-delta', id: block.id, delta: delta.thinking }
        else if (delta.type === 'signature_delta' && block.kind === 'reasoning')
          block.signature = (block.signature ?? '') + delta.signature
        else if (delta.type === 'input_json_delta' && block.kind === 'tool' && delta.partial_json !== '') {
          block.input += delta.partial_json
          yield { type: 'tool-input-delta', id: block.id, delta: delta.partial_json }
        }
        break
      }
      case 'content_block_stop': {
        const block = blocks.get(event.index)
        if (block === undefined) throw unexpected(`stop for unknown content block ${event.index}`)
        blocks.delete(event.index)
        if (block.kind === 'text') yield { type: 'text-end', id: block.id }
        else if (block.kind === 'reasoning') {
          const metadata =
            block.redactedData === undefined
              ? { signature: block.signature ?? '' }
              : { redactedData: block.redactedData }
          yield { type: 'reasoning-end', id: block.id, providerMetadata: { anthropic: metadata } }
        } else if (block.kind === 'tool') {
          yield { type: 'tool-input-end', id: block.id }
          const input = normalizeArguments(block.input)
          yield { type: 'tool-call', toolCallId: block.id, toolName: block.name ?? '', input }
        }
        break
      }
      case 'message_delta': {
        stopReason = event.delta.stop_reason ?? stopReason
        const usage = event.usage
        // Fields the API leaves out (or sends as null) keep their message_start values.
        counts.output = usage.output_tokens ?? counts.output
        counts.input = usage.input_tokens ?? counts.input
        counts.cacheRead = usage.cache_read_input_tokens ?? counts.cacheRead
        counts.cacheWrite = usage.cache_creation_input_tokens ?? counts.cacheWrite
        counts.thinking = usage.output_tokens_details?.thinking_tokens ?? counts.thinking
        break
      }
      case 'message_stop':
        stopped = true
        break
    }
  }
  if (!stopped)
    throw new ProviderError({
      reason: 'network',
      provider: 'anthropic',
      message: 'anthropic: stream ended before message_stop (connection closed mid-response)',
    })
  yield {
    type: 'finish',
    finishReason: stopReason === null ? 'other' : (finishReasons[stopReason] ?? 'other'),
    usage: usageOf({
      // Anthropic counts cached and cache-written input apart from `input_tokens`; ours includes them.
      inputTokens: counts.input + counts.cacheRead + counts.cacheWrite,
      outputTokens: counts.output,
      reasoningTokens: counts.thinking,
      cachedInputTokens: counts.cacheRead,
    }),
  }
}

const unexpected = (message: string) =>
  new ProviderError({ reason: 'invalid-response', provider: 'anthropic', message: `anthropic: ${message}` })
