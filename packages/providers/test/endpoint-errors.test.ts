import { createServer } from 'node:net'
import type { LanguageModel, Message } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { createAnthropicModel } from '../src/anthropic.ts'
import { createGeminiModel } from '../src/gemini.ts'
import { createOpenAIChatModel } from '../src/openai-chat.ts'
import { createOpenAIResponsesModel } from '../src/openai-responses.ts'
import { collect, useFakeServer } from './support.ts'

/*
 * Issue 15: a bad key or an unreachable `baseURL` gave `network: openai: Connection error.`, which
 * does not say where the call went. Every provider error names the provider and the URL called.
 */

const fake = useFakeServer()
const hello = { messages: [{ role: 'user', content: 'Hi' }] as Message[] }

/** A URL nothing listens on: a port bound, then closed. */
const closedUrl = async (): Promise<string> => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

const providers: Array<[string, (baseURL: string) => LanguageModel, string]> = [
  ['openai', (baseURL) => createOpenAIChatModel({ model: 'gpt-4.1-mini', apiKey: 'k', baseURL }), '/v1'],
  [
    'openai-responses',
    (baseURL) => createOpenAIResponsesModel({ model: 'o4-mini', apiKey: 'k', baseURL }),
    '/v1',
  ],
  ['anthropic', (baseURL) => createAnthropicModel({ model: 'claude-sonnet-5-5', apiKey: 'k', baseURL }), ''],
  ['gemini', (baseURL) => createGeminiModel({ model: 'gemini-2.5-flash', apiKey: 'k', baseURL }), ''],
]

describe('provider errors name the provider and the URL', () => {
  it.each(providers)(
    '%s: an unreachable baseURL is a network error naming both',
    async (name, make, path) => {
      const url = `${await closedUrl()}${path}`
      const { error } = await collect(make(url).stream(hello))
      expect(error).toMatchObject({
        reason: 'network',
        provider: expect.stringContaining(name.split('-')[0] as string),
      })
      expect(error?.message).toContain(`${error?.provider} (${url}`)
    },
  )

  it.each(providers)('%s: a rejected key is an auth error naming both', async (_name, make, path) => {
    fake().reply({
      status: 401,
      json: { error: { message: 'invalid api key', type: 'authentication_error' } },
    })
    const url = `${fake().url}${path}`
    const { error } = await collect(make(url).stream(hello))
    expect(error?.reason).toBe('auth')
    expect(error?.message).toContain(`${error?.provider} (${url}`)
  })
})
