import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { createModel } from '../src/factory.ts'
import { collectOk, fixture, ofType } from './support.ts'

describe('createModel', () => {
  it('builds each provider, reading keys from the environment', () => {
    const env = { OPENAI_API_KEY: 'o', ANTHROPIC_API_KEY: 'a', GOOGLE_API_KEY: 'g' }
    expect(createModel({ provider: 'openai', model: 'gpt-4.1' }, env)).toMatchObject({
      provider: 'openai',
      modelId: 'gpt-4.1',
    })
    expect(createModel({ provider: 'openai-responses', model: 'o4-mini' }, env).provider).toBe(
      'openai-responses',
    )
    expect(createModel({ provider: 'anthropic', model: 'claude-sonnet-5-5' }, env).provider).toBe('anthropic')
    expect(createModel({ provider: 'gemini', model: 'gemini-2.5-flash' }, env).provider).toBe('gemini')
  })

  it('throws auth naming the variable when no key is found', () => {
    expect(() => createModel({ provider: 'anthropic', model: 'claude' }, {})).toThrowError(
      expect.objectContaining({ reason: 'auth', message: expect.stringContaining('ANTHROPIC_API_KEY') }),
    )
    expect(() => createModel({ provider: 'gemini', model: 'g' }, {})).toThrowError(
      /GEMINI_API_KEY or GOOGLE_API_KEY/,
    )
    // A local OpenAI-compatible server needs no key.
    expect(
      createModel({ provider: 'openai', model: 'llama3', baseURL: 'http://127.0.0.1:11434/v1' }, {}).modelId,
    ).toBe('llama3')
  })

  it('rejects an unknown provider with unsupported', () => {
    expect(() => createModel({ provider: 'mistral', model: 'm', apiKey: 'k' })).toThrowError(
      expect.objectContaining({ reason: 'unsupported' }),
    )
  })

  it('warns about unknown settings and applies request defaults', async () => {
    const bodies: unknown[] = []
    const server = createServer((request, response) => {
      let raw = ''
      request.on('data', (chunk) => {
        raw += chunk
      })
      request.on('end', () => {
        bodies.push(JSON.parse(raw))
        response.writeHead(200, { 'content-type': 'text/event-stream' })
        response.end(fixture('anthropic/text.sse'))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const warnings: string[] = []
    const model = createModel({
      provider: 'anthropic',
      model: 'claude-sonnet-5-5',
      apiKey: 'k',
      baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      maxOutputTokens: 321,
      stopSequences: ['STOP'],
      frequencyPenalty: 1,
      onWarning: (message) => warnings.push(message),
    })
    expect(warnings).toEqual(["anthropic: unknown setting 'frequencyPenalty' ignored"])
    const first = await collectOk(model.stream({ messages: [{ role: 'user', content: 'Hi' }] }))
    const second = await collectOk(
      model.stream({ messages: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 5 }),
    )
    expect(ofType(first, 'warning').map((part) => part.message)).toEqual(warnings)
    expect(ofType(second, 'warning')).toEqual([])
    expect(bodies).toMatchObject([
      { max_tokens: 321, stop_sequences: ['STOP'] },
      { max_tokens: 5, stop_sequences: ['STOP'] },
    ])
    server.close()
  })
})
