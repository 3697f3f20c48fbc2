/**
 * Issue 13 in a real browser: a `useChat` page over Vel's HTTP app shows part of the answer while
 * the model is still streaming. The model streams a few deltas, then waits on a gate only the test
 * opens, so text in the bubble before the gate opens can only have arrived live.
 */
import { fileURLToPath } from 'node:url'
import { Agent, createRuntime, type Runtime } from '@vel/actors'
import type { LanguageModel, ModelPart } from '@vel/core'
import { createHttpApp, type RunningServer, serve } from '@vel/http'
import { createMemoryStore } from '@vel/store'
import { Hono } from 'hono'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { artifactPath, browserAvailable, bundlePage, createGate, launchBrowser, pageHtml } from './support.ts'

const before = ['The actor ', 'streams ', 'this answer ']
const after = ['token ', 'by ', 'token.']
const gate = createGate()
let modelFinished = false

/** Streams `before` a delta at a time, waits for the gate, then streams `after`. */
const slowModel: LanguageModel = {
  provider: 'test',
  modelId: 'gated',
  async *stream(): AsyncGenerator<ModelPart> {
    yield { type: 'text-start', id: 't' }
    for (const delta of before) {
      await new Promise((resolve) => setTimeout(resolve, 30))
      yield { type: 'text-delta', id: 't', delta }
    }
    await gate.opened
    for (const delta of after) yield { type: 'text-delta', id: 't', delta }
    yield { type: 'text-end', id: 't' }
    modelFinished = true
    yield {
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 5, outputTokens: 6, reasoningTokens: 0, cachedInputTokens: 0 },
    }
  },
}

let runtime: Runtime
let server: RunningServer
let browser: Browser

beforeAll(async () => {
  if (!browserAvailable) return
  runtime = createRuntime({
    store: createMemoryStore(),
    agents: [new Agent({ id: 'slow', model: slowModel, policies: { retry: false } })],
    onError: () => undefined,
  })
  const script = await bundlePage(fileURLToPath(new URL('./pages/chat-page.tsx', import.meta.url)))
  const app = new Hono()
  app.get('/', (c) => c.html(pageHtml('Vel chat', '/chat-page.js')))
  app.get('/chat-page.js', (c) => c.body(script, 200, { 'content-type': 'text/javascript' }))
  app.route('/', createHttpApp({ runtime }))
  server = await serve({ app, port: 0 })
  browser = await launchBrowser()
})

afterAll(async () => {
  gate.open()
  await browser?.close()
  await server?.close()
  await runtime?.shutdown({ graceMs: 1000 })
})

describe.skipIf(!browserAvailable)('useChat in chromium', () => {
  it('shows part of the answer while the model is still streaming, then all of it', async () => {
    const page = await browser.newPage()
    await page.goto(`${server.url}/?agent=slow`)
    await page.getByLabel('message').fill('How do you stream?')
    await page.getByRole('button', { name: 'Send' }).click()

    const bubble = page.locator('[data-role=assistant]')
    // Everything before the gate: only a live stream can show it, since the model has not finished.
    await expect.poll(() => bubble.textContent(), { timeout: 60_000 }).toBe(before.join(''))
    expect(modelFinished).toBe(false)
    expect(await page.getByTestId('status').textContent()).toBe('streaming')
    await page.screenshot({ path: artifactPath('chat-streaming.png') })

    gate.open()
    await expect.poll(() => bubble.textContent(), { timeout: 60_000 }).toBe([...before, ...after].join(''))
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 60_000 }).toBe('ready')
    expect(modelFinished).toBe(true)
    await page.screenshot({ path: artifactPath('chat-finished.png') })
    await page.close()
  })
})
