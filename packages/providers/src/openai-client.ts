import type OpenAI from 'openai'
import { lazySdk } from './load-sdk.ts'
import type { OpenAIChatSettings } from './openai-chat.ts'

/**
 * The OpenAI client of one model, created on its first call (the `openai` package is loaded then,
 * not when this module is imported); SDK retries are off because `withRetry` owns retrying.
 */
export function openAIClient(provider: string, settings: OpenAIChatSettings): () => Promise<OpenAI> {
  const sdk = lazySdk(provider, 'openai', () => import('openai'))
  let client: OpenAI | undefined
  return async () => {
    if (client !== undefined) return client
    const { default: OpenAIClient } = await sdk()
    client = new OpenAIClient({
      apiKey: settings.apiKey,
      maxRetries: 0,
      ...(settings.baseURL === undefined ? {} : { baseURL: settings.baseURL }),
      ...(settings.headers === undefined ? {} : { defaultHeaders: settings.headers }),
      ...(settings.organization === undefined ? {} : { organization: settings.organization }),
      ...(settings.project === undefined ? {} : { project: settings.project }),
    })
    return client
  }
}
