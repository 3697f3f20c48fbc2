import { type FinishReason, type LanguageModel, type ModelPart, ProviderError } from '@vel/core'
import type OpenAI from 'openai'
import { toProviderError } from './errors.ts'
import { normalizeArguments, usageOf } from './message-helpers.ts'
import type { OpenAIChatSettings } from './openai-chat.ts'
import { openAIClient } from './openai-client.ts'
import { openAIResponsesBody, responsesProvider } from './openai-responses-request.ts'
import { Warnings, warningParts, withDefaults } from './provider-settings.ts'
import { guardStream } from './stream-guard.ts'

type StreamEvent = OpenAI.Responses.ResponseStreamEvent
type Response = OpenAI.Responses.Response

/**
 * A `LanguageModel` over the OpenAI Responses API (`provider: 'openai-responses'`). Reasoning item
 * ids and encrypted content ride on `reasoning-end`, message and function-call item ids on
 * `text-end`/`tool-call`, and the response id on `finish`, all under `openai-responses`.
 */
export function createOpenAIResponsesModel(settings: OpenAIChatSettings): LanguageModel {
  const getClient = openAIClient(responsesProvider, settings)
  // Where calls go, for error messages: the client's base URL once it exists.
  let endpoint = settings.baseURL
  return {
    provider: responsesProvider,
    modelId: settings.model,
    stream: (request, options = {}) =>
      guardStream(
        responsesProvider,
        async function* (signal) {
          const warnings = new Warnings()
          const body = openAIResponsesBody(settings.model, withDefaults(request, settings.defaults), warnings)
          yield* warningParts(warnings.messages, settings.onWarning)
          const openai = await getClient()
          endpoint = openai.baseURL
          const events = await openai.responses.create(
            body as unknown as OpenAI.Responses.ResponseCreateParamsStreaming,
            { signal },
          )
          yield* responsesParts(events)
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

const meta = (fields: Record<string, string | undefined>) => {
  const entry: Record<string, string> = {}
  for (const [key, value] of Object.entries(fields))
    if (value !== undefined && value !== null) entry[key] = value
  return { [responsesProvider]: entry }
}

/** Normalizes Responses API stream events. */
export async function* responsesParts(events: AsyncIterable<StreamEvent>): AsyncGenerator<ModelPart> {
  const callIds = new Map<string, string>()
  const summaryIndex = new Map<string, number>()
  let sawToolCall = false
  let refused = false
  for await (const event of events) {
    switch (event.type) {
      case 'response.created':
        yield { type: 'response-metadata', id: event.response.id, modelId: event.response.model }
        break
      case 'response.output_item.added': {
        const item = event.item
        if (item.type === 'message') yield { type: 'text-start', id: item.id }
        else if (item.type === 'reasoning') yield { type: 'reasoning-start', id: item.id }
        else if (item.type === 'function_call') {
          callIds.set(item.id ?? item.call_id, item.call_id)
          yield { type: 'tool-input-start', id: item.call_id, toolName: item.name }
        }
        break
      }
      case 'response.output_text.delta':
        yield { type: 'text-delta', id: event.item_id, delta: event.delta }
        break
      case 'response.refusal.delta':
        refused = true
        yield { type: 'text-delta', id: event.item_id, delta: event.delta }
        break
      case 'response.reasoning_summary_text.delta':
      case 'response.reasoning_text.delta': {
        const index = 'summary_index' in event ? event.summary_index : 0
        const previous = summaryIndex.get(event.item_id)
        summaryIndex.set(event.item_id, index)
        // Summary parts are separate paragraphs; keep them apart in the one reasoning block.
        const gap = previous !== undefined && previous !== index ? '\n\n' : ''
        yield { type: 'reasoning-delta', id: event.item_id, delta: gap + event.delta }
        break
      }
      case 'response.function_call_arguments.delta': {
        const callId = callIds.get(event.item_id)
        if (callId !== undefined && event.delta !== '')
          yield { type: 'tool-input-delta', id: callId, delta: event.delta }
        break
      }
      case 'response.output_item.done': {
        const item = event.item
        if (item.type === 'message')
          yield { type: 'text-end', id: item.id, providerMetadata: meta({ itemId: item.id }) }
        else if (item.type === 'reasoning')
          yield {
            type: 'reasoning-end',
            id: item.id,
            providerMetadata: meta({
              itemId: item.id,
              encryptedContent: item.encrypted_content ?? undefined,
            }),
          }
        else if (item.type === 'function_call') {
          sawToolCall = true
          yield { type: 'tool-input-end', id: item.call_id }
          yield {
            type: 'tool-call',
            toolCallId: item.call_id,
            toolName: item.name,
            input: normalizeArguments(item.arguments),
            providerMetadata: meta({ itemId: item.id }),
          }
        }
        break
      }
      case 'response.completed':
      case 'response.incomplete':
        yield finishPart(event.response, sawToolCall, refused)
        return
      case 'response.failed': {
        const failure = event.response.error
        throw toProviderError(responsesProvider, {
          code: failure?.code ?? 'server_error',
          message: failure?.message ?? 'response failed',
        })
      }
      case 'error':
        throw toProviderError(responsesProvider, { code: event.code ?? undefined, message: event.message })
      default:
        break
    }
  }
  throw new ProviderError({
    reason: 'network',
    provider: responsesProvider,
    message: `${responsesProvider}: stream ended before response.completed (connection closed mid-response)`,
  })
}

function finishPart(response: Response, sawToolCall: boolean, refused: boolean): ModelPart {
  const incomplete = response.incomplete_details?.reason
  const finishReason: FinishReason =
    incomplete === 'max_output_tokens'
      ? 'length'
      : incomplete === 'content_filter' || refused
        ? 'content-filter'
        : sawToolCall
          ? 'tool-calls'
          : incomplete === undefined
            ? 'stop'
            : 'other'
  const usage = response.usage
  return {
    type: 'finish',
    finishReason,
    usage: usageOf({
      inputTokens: usage?.input_tokens ?? 0,
      outputTokens: usage?.output_tokens ?? 0,
      reasoningTokens: usage?.output_tokens_details?.reasoning_tokens ?? 0,
      cachedInputTokens: usage?.input_tokens_details?.cached_tokens ?? 0,
    }),
    providerMetadata: meta({ responseId: response.id }),
  }
}
