/**
 * @vel/providers: `LanguageModel` implementations over the official OpenAI, Anthropic and Gemini
 * SDKs, one error mapping to `ProviderError`, retries on an Effect `Schedule`, timeouts, and a
 * config-driven factory. Each SDK (`openai`, `@anthropic-ai/sdk`, `@google/genai`) is an optional
 * peer loaded on the first call of a model of its provider, never when this package is imported; a
 * missing one is a `ProviderError { reason: 'unsupported' }` naming the package to install. This
 * package imports only `@vel/core` among Vel packages: never `@vel/actors`, `@vel/store` or
 * `@vel/http`. The scripted model for tests lives in `@vel/providers/testing`.
 */

/** `createAnthropicModel(settings)`: the Anthropic Messages API, thinking signatures round-tripped. */
export { createAnthropicModel } from './anthropic.ts'
// errors, retries, timeouts
/** `toProviderError(provider, error)`: any SDK, HTTP or network failure as a `ProviderError`. */
export { retryAfterFromHeaders, toProviderError } from './errors.ts'
// factory
/** `createModel(config)`: the model a `{ provider, model, apiKey?, baseURL?, ...settings }` config names. */
export { createModel, type ModelConfig, type ProviderName } from './factory.ts'
/** `createGeminiModel(settings)`: Gemini through `@google/genai`, thought signatures round-tripped. */
export { createGeminiModel } from './gemini.ts'
// schemas
/** `toGeminiSchema(schema, where)`: JSON Schema converted to Gemini's subset, or a `bad-request`. */
export { toGeminiSchema } from './gemini-schema.ts'
// models
/** `createOpenAIChatModel(settings)`: OpenAI Chat Completions, also any OpenAI-compatible server. */
export { createOpenAIChatModel, type OpenAIChatSettings } from './openai-chat.ts'
/** `createOpenAIResponsesModel(settings)`: the OpenAI Responses API, reasoning items round-tripped. */
export { createOpenAIResponsesModel } from './openai-responses.ts'
/** Settings every provider model takes, and request defaults. */
export type { ProviderSettings, RequestDefaults } from './provider-settings.ts'
/** `withRetry(model, options)`: retries retryable failures that happen before any content. */
export { type RetryOptions, withRetry } from './retry.ts'
/** `guardStream(provider, open, options)`: abort, whole-call and idle timeouts around one stream. */
export { type GuardOptions, guardStream } from './stream-guard.ts'
