import * as http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, serve } from '../src/index.ts'
import { setup } from './support.ts'

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`
const nestedObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`

describe('JSON nesting limit', () => {
  it.each([
    ['arrays', nested(5000)],
    ['objects', nestedObject(2000)],
  ])('answers a body of %s nested thousands deep with 400, not 500', async (_name, body) => {
    const { app } = setup()
    const response = await app.request('/runs', { method: 'POST', body })
    expect(response.status).toBe(400)
    const problem = (await response.json()) as { type: string; detail: string }
    expect(problem.type).toBe('urn:vel:problem:malformed-payload')
    expect(problem.detail).toContain('nested deeper than 64')
  })
})

/** One request through `agent`; resolves with status, headers and body text. */
function send(
  url: string,
  agent: http.Agent,
  options: { method: string; path: string; chunks?: ReadonlyArray<string> },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${url}${options.path}`, { method: options.method, agent }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        body += chunk
      })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }))
      response.on('error', reject)
    })
    request.on('error', reject)
    // No content-length: node sends `transfer-encoding: chunked`.
    for (const chunk of options.chunks ?? []) request.write(chunk)
    request.end()
  })
}

describe('an oversized chunked body over a real socket', () => {
  let server: RunningServer
  beforeAll(async () => {
    server = await serve({ runtime: setup().runtime, limits: { maxBodyBytes: 1024 }, port: 0 })
  })
  afterAll(async () => {
    await server.close()
  })

  it('answers 413 and the next request on a keep-alive agent succeeds', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const chunk = `"${'x'.repeat(4094)}",`
      const tooLarge = await send(server.url, agent, {
        method: 'POST',
        path: '/runs',
        chunks: ['[', ...Array.from({ length: 16 }, () => chunk), '1]'],
      })
      expect(tooLarge.status).toBe(413)
      // The server did not read the whole body, so it says it closes the connection.
      expect(tooLarge.headers.connection).toBe('close')
      const next = await send(server.url, agent, { method: 'GET', path: '/healthz' })
      expect(next.status).toBe(200)
      expect(JSON.parse(next.body)).toEqual({ status: 'ok' })
    } finally {
      agent.destroy()
    }
  })

  it('keeps the connection of a body that fits', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const first = await send(server.url, agent, {
        method: 'POST',
        path: '/runs',
        chunks: ['{"agentId":', '7}'],
      })
      expect(first.status).toBe(400)
      expect(first.headers.connection).toBe('keep-alive')
      expect((await send(server.url, agent, { method: 'GET', path: '/healthz' })).status).toBe(200)
    } finally {
      agent.destroy()
    }
  })
})
