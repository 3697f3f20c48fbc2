/**
 * The run inspector (issue 17) in chromium over a real socket, with the API's auth: sign in with the
 * token, open the list, follow a live run (its text shows while the model is still streaming),
 * approve its pending tool call and see it complete. Screenshots go to the artifacts folder.
 */
import { fileURLToPath } from 'node:url'
import { Agent, contactHuman, createRuntime, type Runtime } from '@vel/actors'
import { defineTool, type LanguageModel, type ModelPart, type ModelRequest } from '@vel/core'
import { createHttpApp, type RunningServer, serve } from '@vel/http'
import { createMemoryStore } from '@vel/store'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { artifactPath, browserAvailable, createGate, launchBrowser } from './support.ts'

const token = 'inspector-test-token'
const usage = { inputTokens: 120, outputTokens: 18, reasoningTokens: 0, cachedInputTokens: 0 }
const streamed = ['Checking ', 'the ', 'balance ', 'before ', 'moving ', 'money… ']
const gate = createGate()
let firstCallFinished = false
const transfers: number[] = []

/**
 * First call: streams `streamed`, waits for the gate, then asks for `transfer` (which needs
 * approval). After the tool result: a short answer.
 */
const model: LanguageModel = {
  provider: 'test',
  modelId: 'gated-banker',
  async *stream(request: ModelRequest): AsyncGenerator<ModelPart> {
    const answered = request.messages.at(-1)?.role === 'tool'
    yield { type: 'text-start', id: 't' }
    if (answered) {
      for (const delta of ['Done: ', 'moved 25 to savings.']) yield { type: 'text-delta', id: 't', delta }
      yield { type: 'text-end', id: 't' }
      yield { type: 'finish', finishReason: 'stop', usage }
      return
    }
    for (const delta of streamed) {
      await new Promise((resolve) => setTimeout(resolve, 30))
      yield { type: 'text-delta', id: 't', delta }
    }
    await gate.opened
    yield { type: 'text-end', id: 't' }
    yield { type: 'tool-call', toolCallId: 'transfer-1', toolName: 'transfer', input: '{"amount":25}' }
    firstCallFinished = true
    yield { type: 'finish', finishReason: 'tool-calls', usage }
  },
}

const banker = new Agent({
  id: 'banker',
  model,
  instructions: 'You move money between accounts, carefully.',
  price: { inputPerMTok: 3, outputPerMTok: 15 },
  tools: [
    defineTool({
      name: 'transfer',
      description: 'Moves money to savings.',
      input: {
        type: 'object',
        properties: { amount: { type: 'number' } },
        required: ['amount'],
        additionalProperties: false,
      },
      handler: ({ amount }: { amount: number }) => {
        transfers.push(amount)
        return { moved: amount, to: 'savings' }
      },
      needsApproval: true,
      sideEffects: 'unsafe',
    }),
  ],
  policies: { retry: false },
})

/** Asks which account to use (`contactHuman`), then answers with the human's reply. */
const asker = new Agent({
  id: 'asker',
  model: {
    provider: 'test',
    modelId: 'asker',
    async *stream(request: ModelRequest): AsyncGenerator<ModelPart> {
      const last = request.messages.at(-1)
      if (last?.role === 'tool') {
        const result = last.content[0]
        const reply = result !== undefined && 'output' in result ? String(result.output) : 'nothing'
        yield { type: 'text-start', id: 't' }
        yield { type: 'text-delta', id: 't', delta: `Paying from ${reply}.` }
        yield { type: 'text-end', id: 't' }
        yield { type: 'finish', finishReason: 'stop', usage }
        return
      }
      const input = JSON.stringify({ question: 'Which account should I pay from?' })
      yield { type: 'tool-call', toolCallId: 'ask-1', toolName: 'contactHuman', input }
      yield { type: 'finish', finishReason: 'tool-calls', usage }
    },
  },
  tools: [contactHuman],
  policies: { retry: false },
})

let runtime: Runtime
let server: RunningServer
let browser: Browser

beforeAll(async () => {
  if (!browserAvailable) return
  runtime = createRuntime({ store: createMemoryStore(), agents: [banker, asker], onError: () => undefined })
  const app = createHttpApp({ runtime, auth: { tokens: { [token]: 'operator' } }, inspector: true })
  server = await serve({ app, port: 0 })
  browser = await launchBrowser()
})

afterAll(async () => {
  gate.open()
  await browser?.close()
  await server?.close()
  await runtime?.shutdown({ graceMs: 1000 })
})

const startRun = async (input: string, agentId = 'banker', sessionId = 'desk-7'): Promise<string> => {
  const response = await fetch(`${server.url}/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ agentId, input, sessionId }),
  })
  expect(response.status).toBe(201)
  return ((await response.json()) as { runId: string }).runId
}

describe.skipIf(!browserAvailable)('the run inspector in chromium', () => {
  it('signs in, lists runs, follows a live run, approves its tool call and sees it complete', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))

    // Signing in with the API's token.
    await page.goto(`${server.url}/inspector`)
    await expect.poll(() => page.title()).toContain('Sign in')
    await page.getByLabel('Token').fill('not-the-token')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.locator('.error').textContent()).toContain('not accepted')
    await page.getByLabel('Token').fill(token)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.locator('h1').textContent()).toBe('Runs')

    const runId = await startRun('Move 25 to savings, please.')
    await page.reload()
    const row = page.locator(`tr[data-run="${runId}"]`)
    await expect.poll(() => row.locator('.status').textContent()).toBe('running')
    await page.screenshot({ path: artifactPath('inspector-list.png') })

    // Following it live: the text shows while the model still streams (it waits on the gate).
    await row.locator('a').first().click()
    await expect
      .poll(() => page.locator('#live-text').textContent(), { timeout: 60_000 })
      .toBe(streamed.join(''))
    expect(firstCallFinished).toBe(false)
    expect(await page.locator('#live').isVisible()).toBe(true)
    await page.screenshot({ path: artifactPath('inspector-live.png'), fullPage: true })

    // The model asks for `transfer`: the page shows the pending approval without a reload.
    gate.open()
    const approval = page.locator('form.approval')
    await expect.poll(() => approval.count(), { timeout: 60_000 }).toBe(1)
    expect(await page.locator('.summary .status').textContent()).toBe('waiting')
    expect(await approval.textContent()).toContain('"amount": 25')
    await page.screenshot({ path: artifactPath('inspector-approval.png'), fullPage: true })
    // `VEL_DOCS_SCREENSHOTS=1` refreshes the README's picture from this very page.
    if (process.env.VEL_DOCS_SCREENSHOTS === '1')
      await page.screenshot({
        path: fileURLToPath(new URL('../../docs/images/inspector.png', import.meta.url)),
        fullPage: true,
      })
    expect(transfers).toEqual([])

    await approval.getByLabel('Reason').fill('verified by phone')
    await approval.getByRole('button', { name: 'Approve' }).click()
    await expect
      .poll(() => page.locator('.summary .status').textContent(), { timeout: 60_000 })
      .toBe('completed')
    expect(transfers).toEqual([25])
    await expect.poll(() => page.locator('.answer').textContent()).toContain('Done: moved 25 to savings.')
    const timeline = page.locator('table.timeline')
    expect(await timeline.textContent()).toContain('transfer approved by operator (verified by phone)')
    expect(await timeline.locator('tr[data-type="model.responded"]').count()).toBe(2)
    expect(await page.locator('.usage').textContent()).toBe('240 in · 36 out')
    // At $3 / $15 per million tokens: 120 in and 18 out is $0.00063 per response.
    expect(await page.locator('.cost').textContent()).toBe('$0.001260')
    await page.screenshot({ path: artifactPath('inspector-completed.png'), fullPage: true })

    // Back on the list, filtered by status.
    await page.goto(`${server.url}/inspector?status=completed`)
    expect(await page.locator(`tr[data-run="${runId}"] .status`).textContent()).toBe('completed')
    expect(errors).toEqual([])
    await page.close()
  })

  it('answers a question and cancels a run from their pages', async () => {
    gate.open() // the banker's first call streams straight through here
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${server.url}/inspector`)
    await page.getByLabel('Token').fill(token)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.locator('h1').textContent()).toBe('Runs')

    const asked = await startRun('Pay the electricity bill.', 'asker', 'desk-8')
    await page.goto(`${server.url}/inspector/runs/${asked}`)
    const question = page.locator('form.question')
    await expect.poll(() => question.count()).toBe(1)
    expect(await question.locator('blockquote').textContent()).toBe('Which account should I pay from?')
    await question.getByLabel('Answer').fill('the joint account')
    await question.getByRole('button', { name: 'Answer' }).click()
    await expect.poll(() => page.locator('.summary .status').textContent()).toBe('completed')
    expect(await page.locator('.answer').textContent()).toContain('Paying from the joint account.')
    await page.screenshot({ path: artifactPath('inspector-answered.png'), fullPage: true })

    // A run waiting for approval, cancelled from its page: the tool never runs.
    const waiting = await startRun('Move 25 to savings, please.', 'banker', 'desk-9')
    await page.goto(`${server.url}/inspector/runs/${waiting}`)
    await expect.poll(() => page.locator('form.approval').count()).toBe(1)
    const before = transfers.length
    await page.locator('form.cancel').getByPlaceholder('reason (optional)').fill('customer called back')
    await page.getByRole('button', { name: 'Cancel run' }).click()
    await expect.poll(() => page.locator('.summary .status').textContent()).toBe('cancelled')
    expect(await page.locator('table.timeline').textContent()).toContain('customer called back')
    expect(transfers.length).toBe(before)
    await context.close()
  })
})
