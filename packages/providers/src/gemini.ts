import type { GenerateContentResponse, GoogleGenAI } from '@google/genai'
import {
  type FinishReason,
  type LanguageModel,
  type ModelPart,
  type ModelRequest,
  ProviderError,
} from '@vel/core'
import { geminiParams, syntheticCallPrefix } from './gemini-request.ts'
import { lazySdk } from './load-sdk.ts'
import { usageOf } from './message-helpers.ts'
import { type ProviderSettings, Warnings, warningParts, withDefaults } from './provider-settings.ts'
import { guardStream } from './stream-guard.ts'

const finishReasons: Record<string, FinishReason> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content-filter',
  RECITATION: 'content-filter',
  BLOCKLIST: 'content-filter',
  PROHIBITED_CONTENT: 'content-filter',
  SPII: 'content-filter',
  IMAGE_SAFETY: 'content-filter',
  MALFORMED_FUNCTION_CALL: 'error',
  UNEXPECTED_TOOL_CALL: 'error',
}

/** The base URL the SDK client calls (its `apiClient` is not public API, hence the guard). */
const baseUrlOf = (genai: GoogleGenAI): string | undefined => {
  const api = (genai as unknown as { apiClient?: { getBaseUrl?: () => unknown } }).apiClient
  const url = typeof api?.getBaseUrl === 'function' ? api.getBaseUrl() : undefined
  return typeof url === 'string' ? url : undefined
}

/** A `LanguageModel` over the Gemini API through `@google/genai` (`provider: 'gemini'`). */
export function createGeminiModel(settings: ProviderSettings): LanguageModel {
  const sdk = lazySdk('gemini', '@google/genai', () => import('@google/genai'))
  let client: GoogleGenAI | undefined
  // Where calls go, for error messages: the client's base URL once it exists.
  let endpoint = settings.baseURL
  const getClient = async () => {
    if (client !== undefined) return client
    const { GoogleGenAI: Client } = await sdk()
    client = new Client({
      apiKey: settings.apiKey,
      vertexai: false,
      httpOptions: {
        ...(settings.baseURL === undefined ? {} : { baseUrl: settings.baseURL }),
        ...(settings.headers === undefined ? {} : { headers: { ...settings.headers } }),
      },
    })
    return client
  }
  return {
    provider: 'gemini',
    modelId: settings.model,
    stream: (request, options = {}) => {
      // The SDK's errors carry no headers; a wrapped fetch keeps them for `retry-after`.
      let headers: Headers | undefined
      const recordingFetch: typeof fetch = async (input, init) => {
        const response = await fetch(input, init)
        headers = response.headers
        return response
      }
      return guardStream(
        'gemini',
        async function* (signal) {
          const warnings = new Warnings()
          const resolved = withDefaults(request, settings.defaults)
          const params = geminiParams(settings.model, resolved, warnings)
          yield* warningParts(warnings.messages, settings.onWarning)
          const genai = await getClient()
          endpoint = baseUrlOf(genai) ?? endpoint
          const responses = await genai.models.generateContentStream({
            model: params.model,
            contents: params.contents,
            config: { ...params.config, abortSignal: signal, httpOptions: { fetch: recordingFetch } },
          } as Parameters<GoogleGenAI['models']['generateContentStream']>[0])
          yield* geminiParts(responses, assistantTurns(resolved))
        },
        {
          signal: options.signal,
          timeoutMs: settings.timeoutMs,
          idleTimeoutMs: settings.idleTimeoutMs,
          headers: () => headers,
          endpoint: () => endpoint,
        },
      )
    },
  }
}

const assistantTurns = (request: ModelRequest): number =>
  request.messages.reduce((count, message) => count + (message.role === 'assistant' ? 1 : 0), 0)

/**
 * Normalizes Gemini stream chunks. Gemini sends whole function calls (one `tool-call` each) and
 * may omit their ids: then `gemini-call-<turn>-<index>` is used, stable for the same conversation.
 * A `thoughtSignature` lands on the `text-end`/`reasoning-end`/`tool-call` of the part it came with.
 */
export async function* geminiParts(
  responses: AsyncIterable<GenerateContentResponse>,
  turn: number,
): AsyncGenerator<ModelPart> {
  let open: { kind: 'text' | 'reasoning'; id: string; signature?: string } | undefined
  let blocks = 0
  let calls = 0
  let started = false
  let finish: string | undefined
  let usage = usageOf({})
  const close = (): ModelPart | undefined => {
    if (open === undefined) return undefined
    const part: ModelPart = {
      type: `${open.kind}-end`,
      id: open.id,
      ...(open.signature === undefined
        ? {}
        : { providerMetadata: { gemini: { thoughtSignature: open.signature } } }),
    }
    open = undefined
    return part
  }
  for await (const response of responses) {
    if (!started) {
      started = true
      yield {
        type: 'response-metadata',
        ...(response.responseId === undefined ? {} : { id: response.responseId }),
        ...(response.modelVersion === undefined ? {} : { modelId: response.modelVersion }),
      }
    }
    const metadata = response.usageMetadata
    if (metadata !== undefined) {
      const thoughts = metadata.thoughtsTokenCount ?? 0
      usage = usageOf({
        inputTokens: (metadata.promptTokenCount ?? 0) + (metadata.toolUsePromptTokenCount ?? 0),
        outputTokens: (metadata.candidatesTokenCount ?? 0) + thoughts,
        reasoningTokens: thoughts,
        cachedInputTokens: metadata.cachedContentTokenCount ?? 0,
      })
    }
    const candidate = response.candidates?.[0]
    if (candidate === undefined) {
      const blocked = response.promptFeedback?.blockReason
      if (blocked !== undefined)
        throw new ProviderError({
          reason: 'content-filtered',
          provider: 'gemini',
          message: `gemini: prompt blocked (${blocked})`,
        })
      continue
    }
    for (const part of candidate.content?.parts ?? []) {
      if (part.functionCall !== undefined) {
        const ended = close()
        if (ended) yield ended
        const id = part.functionCall.id ?? `${syntheticCallPrefix}${turn}-${calls}`
        calls += 1
        const name = part.functionCall.name ?? ''
        const input = JSON.stringify(part.functionCall.args ?? {})
        yield { type: 'tool-input-start', id, toolName: name }
        yield { type: 'tool-input-delta', id, delta: input }
        yield { type: 'tool-input-end', id }
        yield {
          type: 'tool-call',
          toolCallId: id,
          toolName: name,
          input,
          ...(part.thoughtSignature === undefined
            ? {}
            : { providerMetadata: { gemini: { thoughtSignature: part.thoughtSignature } } }),
        }
        continue
      }
      // Gemini 3 ends a function-call turn with an empty text part: nothing to open a block for.
      if (part.text === undefined || (part.text === '' && part.thoughtSignature === undefined)) continue
      const kind = part.thought === true ? 'reasoning' : 'text'
      if (open?.kind !== kind || (part.thoughtSignature !== undefined && open.signature !== undefined)) {
        const ended = close()
        if (ended) yield ended
        open = { kind, id: `${kind}-${blocks}` }
        blocks += 1
        yield { type: `${kind}-start`, id: open.id }
      }
      if (part.text !== '') yield { type: `${kind}-delta`, id: open.id, delta: part.text }
      if (part.thoughtSignature !== undefined) open.signature = part.thoughtSignature
    }
    if (candidate.finishReason !== undefined) finish = candidate.finishReason
  }
  const ended = close()
  if (ended) yield ended
  if (finish === undefined)
    throw new ProviderError({
      reason: 'network',
      provider: 'gemini',
      message: 'gemini: stream ended without a finish reason (connection closed mid-response)',
    })
  const mapped = finishReasons[finish] ?? 'other'
  yield { type: 'finish', finishReason: mapped === 'stop' && calls > 0 ? 'tool-calls' : mapped, usage }
}
