import { type JsonObject, type LanguageModel, ProviderError } from '@vel/core'
import { createAnthropicModel } from './anthropic.ts'
import { createGeminiModel } from './gemini.ts'
import { createOpenAIChatModel } from './openai-chat.ts'
import { createOpenAIResponsesModel } from './openai-responses.ts'
import type { RequestDefaults } from './provider-settings.ts'

/** The providers `createModel` knows. */
export type ProviderName = 'openai' | 'openai-responses' | 'anthropic' | 'gemini'

/** A model chosen by configuration (what an agent's `model: { provider, model }` holds). */
export interface ModelConfig {
  readonly provider: ProviderName | (string & {})
  /** Model id as the provider names it. */
  readonly model: string
  /** Default: `OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, or `GEMINI_API_KEY`/`GOOGLE_API_KEY`. */
  readonly apiKey?: string
  /** Another endpoint; for `openai`, any OpenAI-compatible server (then a key is optional). */
  readonly baseURL?: string
  readonly headers?: Readonly<Record<string, string>>
  /** Ceiling on one whole call; exceeded means `ProviderError { reason: 'timeout' }`. */
  readonly timeoutMs?: number
  /** Ceiling on the silence between stream chunks; exceeded means `timeout`. */
  readonly idleTimeoutMs?: number
  /** Receives every warning (unknown settings here, unsupported request settings per call). */
  readonly onWarning?: (message: string) => void
  /** OpenAI organization and project headers. */
  readonly organization?: string
  readonly project?: string
  /** Anthropic's required `max_tokens` when a request sets none. Default 4096. */
  readonly defaultMaxOutputTokens?: number
  /** Defaults for every request: */
  readonly maxOutputTokens?: number
  readonly temperature?: number
  readonly topP?: number
  readonly stopSequences?: ReadonlyArray<string>
  readonly seed?: number
  readonly providerOptions?: Record<string, JsonObject>
  readonly [setting: string]: unknown
}

const keyVariables: Record<ProviderName, ReadonlyArray<string>> = {
  openai: ['OPENAI_API_KEY'],
  'openai-responses': ['OPENAI_API_KEY'],
  anthropic: ['ANTHROPIC_API_KEY'],
  gemini: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
}

const known = new Set([
  'provider',
  'model',
  'apiKey',
  'baseURL',
  'headers',
  'timeoutMs',
  'idleTimeoutMs',
  'onWarning',
  'defaultMaxOutputTokens',
  'maxOutputTokens',
  'temperature',
  'topP',
  'stopSequences',
  'seed',
  'providerOptions',
])
const openAIOnly = new Set(['organization', 'project'])
const defaultKeys = [
  'maxOutputTokens',
  'temperature',
  'topP',
  'stopSequences',
  'seed',
  'providerOptions',
] as const

const isProvider = (name: string): name is ProviderName => Object.hasOwn(keyVariables, name)

/**
 * Creates the `LanguageModel` a config names. The API key falls back to the provider's environment
 * variable; a missing key throws `ProviderError { reason: 'auth' }`, an unknown provider
 * `reason: 'unsupported'`. Unknown settings are warnings (to `onWarning` now, and as `warning`
 * parts on the first call), never errors.
 */
export function createModel(
  config: ModelConfig,
  env: Readonly<Record<string, string | undefined>> = globalThis.process?.env ?? {},
): LanguageModel {
  const provider = config.provider
  if (!isProvider(provider))
    throw new ProviderError({
      reason: 'unsupported',
      provider: String(provider),
      message: `unknown provider '${provider}'; use one of ${Object.keys(keyVariables).join(', ')}`,
    })
  const variables = keyVariables[provider]
  let apiKey =
    config.apiKey ?? variables.map((name) => env[name]).find((value) => value !== undefined && value !== '')
  // Local OpenAI-compatible servers (Ollama, vLLM, llama.cpp) take no key.
  if (apiKey === undefined && provider === 'openai' && config.baseURL !== undefined) apiKey = 'unused'
  if (apiKey === undefined || apiKey === '')
    throw new ProviderError({
      reason: 'auth',
      provider,
      message: `${provider}: no API key; pass apiKey or set ${variables.join(' or ')}`,
    })
  const warnings = Object.keys(config)
    .filter((key) => !known.has(key) && !(openAIOnly.has(key) && provider.startsWith('openai')))
    .map((key) => `${provider}: unknown setting '${key}' ignored`)
  for (const warning of warnings) config.onWarning?.(warning)
  const defaults: Record<string, unknown> = {}
  for (const key of defaultKeys) if (config[key] !== undefined) defaults[key] = config[key]
  const settings = {
    model: config.model,
    apiKey,
    baseURL: config.baseURL,
    headers: config.headers,
    timeoutMs: config.timeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
    onWarning: config.onWarning,
    defaultMaxOutputTokens: config.defaultMaxOutputTokens,
    organization: config.organization,
    project: config.project,
    defaults: defaults as RequestDefaults,
  }
  const model =
    provider === 'openai'
      ? createOpenAIChatModel(settings)
      : provider === 'openai-responses'
        ? createOpenAIResponsesModel(settings)
        : provider === 'anthropic'
          ? createAnthropicModel(settings)
          : createGeminiModel(settings)
  return warnings.length === 0 ? model : withStartupWarnings(model, warnings)
}

/** Emits the config's warnings as `warning` parts at the start of the first call. */
function withStartupWarnings(model: LanguageModel, warnings: ReadonlyArray<string>): LanguageModel {
  let pending = warnings
  return {
    provider: model.provider,
    modelId: model.modelId,
    async *stream(request, options) {
      const now = pending
      pending = []
      for (const message of now) yield { type: 'warning', message }
      yield* model.stream(request, options)
    },
  }
}
