import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import type { Frame } from '../src/run-stream.ts'
import { uiMessageStream } from '../src/sse.ts'
import { parseSse } from './support.ts'

describe('uiMessageStream', () => {
  it('writes id and data per frame, keep-alive comments while idle, and [DONE] last', async () => {
    const app = new Hono()
    app.get('/', (c) =>
      uiMessageStream(
        c,
        async function* (): AsyncGenerator<Frame> {
          yield { id: '1-0', part: { type: 'start' } }
          await new Promise((resolve) => setTimeout(resolve, 60))
          yield { id: '1-1', part: { type: 'finish' } }
        },
        { 'x-extra': 'yes' },
        10,
      ),
    )
    const response = await app.request('/')
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1')
    expect(response.headers.get('x-extra')).toBe('yes')
    const text = await response.text()
    expect(text).toContain(': keep-alive\n\n')
    expect(parseSse(text)).toEqual([
      { id: '1-0', data: '{"type":"start"}' },
      { id: '1-1', data: '{"type":"finish"}' },
      { id: '1-1', data: '[DONE]' },
    ])
  })

  it('reports a failure after the first frame in-band as an error part', async () => {
    const app = new Hono()
    app.get('/', (c) =>
      uiMessageStream(c, async function* (): AsyncGenerator<Frame> {
        yield { id: '1-0', part: { type: 'start' } }
        throw new Error('store went away')
      }),
    )
    const events = parseSse(await (await app.request('/')).text())
    expect(events.map((event) => event.data)).toEqual([
      '{"type":"start"}',
      '{"type":"error","errorText":"store went away"}',
      '[DONE]',
    ])
  })
})
