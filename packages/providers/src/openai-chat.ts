import { type FinishReason, type LanguageModel, type ModelPart, ProviderError, type Usage } from '@vel/core'
import type OpenAI from 'openai'
import { normalizeArguments, usageOf } from './message-helpers.ts'
import { openAIChatBody } from './openai-chat-request.ts'
import { openAIClient } from './openai-client.ts'
import { type ProviderSettings, Warnings, warningParts, withDefaults } from './provider-settings.ts'
import { guardStream } from './stream-guard.ts'

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk

/** Settings of the Chat Completions model. */
export interface OpenAIChatSettings extends ProviderSettings {
  readonly organization?: string | undefined
  readonly project?: string | undefined
}

const finishReasons: Record<string, FinishReason> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool-calls',
  function_call: 'tool-calls',
  content_filter: 'content-filter',
}

/**
 * A `LanguageModel` over OpenAI Chat Completions (`provider: 'openai'`); with `baseURL` it serves
 * any OpenAI-compatible server, whose `reasoning_content`/`reasoning` deltas become reasoning parts.
 */
export function createOpenAIChatModel(settings: OpenAIChatSettings): LanguageModel {
  const getClient = openAIClient('openai', settings)
  // Where calls go, for error messages: the client's base URL once it exists.
  let endpoint = settings.baseURL
  return {
    provider: 'openai',
    modelId: settings.model,
    stream: (request, options = {}) =>
      guardStream(
        'openai',
        async function* (signal) {
          const warnings = new Warnings()
          const body = openAIChatBody(settings.model, withDefaults(request, settings.defaults), warnings)
          yield* warningParts(warnings.messages, settings.onWarning)
          const openai = await getClient()
          endpoint = openai.baseURL
          const stream = await openai.chat.completions.create(
            body as unknown as OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming,
            { signal },
          )
          yield* chatParts(stream)
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

interface OpenTool {
  readonly id: string
  readonly name: string
  input: string
}

/** Normalizes Chat Completions chunks; tool calls complete when the choice finishes. */
export async function* chatParts(chunks: AsyncIterable<Chunk>): AsyncGenerator<ModelPart> {
  const tools = new Map<number, OpenTool>()
  let open: 'text' | 'reasoning' | undefined
  let started = false
  let finish: string | undefined
  let refused = false
  let usage: Usage = usageOf({})
  for await (const chunk of chunks) {
    // Azure opens with a chunk of prompt content-filter results whose id and model are empty.
    if (!started && (chunk.id || chunk.model)) {
      started = true
      yield {
        type: 'response-metadata',
        ...(chunk.id ? { id: chunk.id } : {}),
        ...(chunk.model ? { modelId: chunk.model } : {}),
      }
    }
    if (chunk.usage) usage = chatUsage(chunk.usage)
    const choice = chunk.choices?.[0]
    if (choice === undefined) continue
    const delta = choice.delta as OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta & {
      reasoning_content?: unknown
      reasoning?: unknown
    }
    const reasoning = delta.reasoning_content ?? delta.reasoning
    const text = delta.content ?? delta.refusal
    if (typeof delta.refusal === 'string' && delta.refusal !== '') refused = true
    for (const [kind, value] of [
      ['reasoning', reasoning],
      ['text', text],
    ] as const) {
      if (typeof value !== 'string' || value === '') continue
      if (open !== kind) {
        if (open !== undefined) yield { type: `${open}-end`, id: open }
        open = kind
        yield { type: `${kind}-start`, id: kind }
      }
      yield { type: `${kind}-delta`, id: kind, delta: value }
    }
    for (const call of delta.tool_calls ?? []) {
      let tool = tools.get(call.index)
      if (tool === undefined) {
        const name = call.function?.name
        if (name === undefined || name === '')
          throw new ProviderError({
            reason: 'invalid-response',
            provider: 'openai',
            message: `openai: tool call #${call.index} started without a function name`,
          })
        tool = { id: call.id ?? `call_${call.index}`, name, input: '' }
        tools.set(call.index, tool)
        yield { type: 'tool-input-start', id: tool.id, toolName: name }
      }
      const argument = call.function?.arguments
      if (argument !== undefined && argument !== '') {
        tool.input += argument
        yield { type: 'tool-input-delta', id: tool.id, delta: argument }
      }
    }
    if (choice.finish_reason) finish = choice.finish_reason
  }
  if (finish === undefined)
    throw new ProviderError({
      reason: 'network',
      provider: 'openai',
      message: 'openai: stream ended before a finish reason (connection closed mid-response)',
    })
  if (open !== undefined) yield { type: `${open}-end`, id: open }
  for (const index of [...tools.keys()].sort((a, b) => a - b)) {
    const tool = tools.get(index) as OpenTool
    yield { type: 'tool-input-end', id: tool.id }
    yield {
      type: 'tool-call',
      toolCallId: tool.id,
      toolName: tool.name,
      input: normalizeArguments(tool.input),
    }
  }
  const finishReason = refused ? 'content-filter' : (finishReasons[finish] ?? 'other')
  yield { type: 'finish', finishReason, usage }
}

const chatUsage = (usage: NonNullable<Chunk['usage']>): Usage =>
  usageOf({
    inputTokens: usage.prompt_tokens,
    outputTokens: usage.completion_tokens,
    reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
    cachedInputTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
  })
