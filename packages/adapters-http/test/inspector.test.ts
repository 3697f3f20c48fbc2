import { Agent, createRuntime, sequence } from '@vel/actors'
import type { JournalEntry } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { createHttpApp, createInspector, inspectorCookie, timelineOf } from '../src/index.ts'
import {
  askerAgent,
  bankerAgent,
  echoAgent,
  parseSse,
  scriptedModel,
  stepperAgent,
  stepperGates,
  transfers,
} from './support.ts'

/*
 * The run inspector through `app.request`: pages are HTML, so the assertions look for what a user
 * reads (run ids, statuses, buttons) in the markup. The real-browser test is test/browser/inspector.
 */

const tokens = { 'alice-token': 'alice', 'bob-token': 'bob' }
const pipeline = sequence([echoAgent, echoAgent], { id: 'pipeline' })

const setup = (options: { auth?: boolean } = {}) => {
  const runtime = createRuntime({
    store: createMemoryStore(),
    agents: [echoAgent, bankerAgent, askerAgent, stepperAgent, pipeline],
    onError: () => undefined,
  })
  const auth = options.auth ? { auth: { tokens } } : {}
  return { runtime, app: createHttpApp({ runtime, inspector: true, ...auth }) }
}

/** What the helpers need of an app (the API's, or one the inspector is mounted in). */
interface App {
  request(input: string, init?: RequestInit): Response | Promise<Response>
}

const origin = 'http://localhost'
const get = (app: App, path: string, cookie?: string) =>
  app.request(`${origin}${path}`, cookie === undefined ? {} : { headers: { cookie } })
const post = (app: App, path: string, fields: Record<string, string>, cookie?: string, from = origin) =>
  app.request(`${origin}${path}`, {
    method: 'POST',
    body: new URLSearchParams(fields),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: from,
      ...(cookie === undefined ? {} : { cookie }),
    },
  })

/** Signs in through the form and returns the cookie the browser would send back. */
const signIn = async (app: App, token: string): Promise<string> => {
  const response = await post(app, '/inspector/sign-in', { token, next: '/inspector' })
  expect(response.status).toBe(303)
  const cookie = response.headers.get('set-cookie') ?? ''
  expect(cookie).toMatch(/HttpOnly/)
  expect(cookie).toMatch(/SameSite=Strict/)
  expect(cookie).toMatch(/Path=\/inspector/)
  return cookie.split(';')[0] ?? ''
}

const runIdsIn = (page: string): string[] =>
  [...page.matchAll(/data-run="([^"]+)"/g)].map((match) => match[1] ?? '')

describe('the run list', () => {
  it('lists runs newest first and filters by status, agent and session', async () => {
    const { runtime, app } = setup()
    const done = await runtime.spawn('echo', 'hello', { sessionId: 's-1' })
    await done.result
    const waiting = await runtime.spawn('banker', 'transfer please')
    for await (const _part of waiting.parts({ untilPause: true }));
    const other = await runtime.spawn('echo', 'again', { sessionId: 's-2' })
    await other.result

    const all = await (await get(app, '/inspector')).text()
    // With the slash, the same list (one redirect).
    const slash = await get(app, '/inspector/?agent=echo')
    expect(slash.status).toBe(301)
    expect(slash.headers.get('location')).toBe('/inspector?agent=echo')
    expect(runIdsIn(all)).toEqual([other.runId, waiting.runId, done.runId])
    expect(all).toContain('1 pending')

    const byStatus = await (await get(app, '/inspector?status=waiting&agent=&session=')).text()
    expect(runIdsIn(byStatus)).toEqual([waiting.runId])
    expect(byStatus).toContain('<option value="waiting" selected>')
    expect(runIdsIn(await (await get(app, '/inspector?agent=echo')).text())).toEqual([
      other.runId,
      done.runId,
    ])
    expect(runIdsIn(await (await get(app, '/inspector?session=s-1')).text())).toEqual([done.runId])
    expect(await (await get(app, '/inspector?agent=nobody')).text()).toContain('No runs match these filters')
    expect((await get(app, '/inspector?status=sleeping')).status).toBe(400)
    await runtime.shutdown()
  })

  it('pages with a cursor', async () => {
    const runtime = createRuntime({
      store: createMemoryStore(),
      agents: [echoAgent],
      onError: () => undefined,
    })
    const app = new Hono().route('/ui', createInspector({ runtime, pageSize: 2 }))
    for (const text of ['a', 'b', 'c']) await (await runtime.spawn('echo', text)).result
    // Runs made in the same millisecond are ordered by id: take the runtime's order.
    const ids = (await runtime.list()).items.map((record) => record.runId)
    expect(ids).toHaveLength(3)
    const first = await (await get(app, '/ui')).text()
    expect(runIdsIn(first)).toEqual(ids.slice(0, 2))
    const next = /href="([^"]+)">Older runs/.exec(first)?.[1]?.replaceAll('&amp;', '&')
    expect(next).toMatch(/^\/ui\?cursor=/)
    expect(runIdsIn(await (await get(app, next ?? '')).text())).toEqual(ids.slice(2))
    await runtime.shutdown()
  })
})

describe('auth: the API’s tokens, a cookie for the browser', () => {
  it('asks to sign in, refuses a bad token, and keeps a good one in an HttpOnly cookie', async () => {
    const { runtime, app } = setup({ auth: true })
    const page = await get(app, '/inspector?status=waiting')
    expect(page.status).toBe(401)
    const body = await page.text()
    expect(body).toContain('Sign in')
    expect(body).toContain('name="next" value="/inspector?status=waiting"')

    const refused = await post(app, '/inspector/sign-in', { token: 'wrong', next: '/inspector' })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('set-cookie')).toBeNull()
    expect(await refused.text()).toContain('That token was not accepted')

    const cookie = await signIn(app, 'alice-token')
    expect(cookie).toBe(`${inspectorCookie}=alice-token`)
    expect((await get(app, '/inspector', cookie)).status).toBe(200)
    // The cookie is the inspector's: the API itself still wants the header.
    expect((await get(app, '/runs', cookie)).status).toBe(401)
    // An open redirect is not followed: `next` must stay inside the inspector.
    const outside = await post(app, '/inspector/sign-in', {
      token: 'alice-token',
      next: 'https://evil.example/',
    })
    expect(outside.headers.get('location')).toBe('/inspector')
    await runtime.shutdown()
  })

  it('shows each principal only the runs the access rule allows', async () => {
    const { runtime, app } = setup({ auth: true })
    const started = await app.request('/runs?wait=true', {
      method: 'POST',
      headers: { authorization: 'Bearer alice-token', 'content-type': 'application/json' },
      body: JSON.stringify({ agentId: 'echo', input: 'mine' }),
    })
    const { runId } = (await started.json()) as { runId: string }
    const alice = await signIn(app, 'alice-token')
    const bob = await signIn(app, 'bob-token')
    expect(runIdsIn(await (await get(app, '/inspector', alice)).text())).toEqual([runId])
    expect(runIdsIn(await (await get(app, '/inspector', bob)).text())).toEqual([])
    expect((await get(app, `/inspector/runs/${runId}`, bob)).status).toBe(403)
    expect((await get(app, `/inspector/runs/${runId}/live`, bob)).status).toBe(403)
    expect((await post(app, `/inspector/runs/${runId}/cancel`, {}, bob)).status).toBe(403)
    expect((await get(app, `/inspector/runs/${runId}`, alice)).status).toBe(200)
    await runtime.shutdown()
  })

  it('refuses a form posted from another origin (CSRF)', async () => {
    const { runtime, app } = setup()
    const handle = await runtime.spawn('banker', 'transfer please')
    for await (const _part of handle.parts({ untilPause: true }));
    const before = transfers.length
    const forged = await post(
      app,
      `/inspector/runs/${handle.runId}/decisions`,
      { toolCallId: 'call-2', decision: 'approve' },
      undefined,
      'https://evil.example',
    )
    expect(forged.status).toBe(403)
    const huge = await post(app, `/inspector/runs/${handle.runId}/cancel`, { reason: 'x'.repeat(70_000) })
    expect(huge.status).toBe(413)
    expect((await runtime.get(handle.runId)).state.phase).toBe('waiting')
    expect(transfers.length).toBe(before)
    await runtime.shutdown()
  })

  it('mounts into an app of your own, where a verify function reads the app’s own session cookie', async () => {
    const runtime = createRuntime({
      store: createMemoryStore(),
      agents: [echoAgent],
      onError: () => undefined,
    })
    const verify = (request: Request) =>
      /(?:^|; )session=carol(?:;|$)/.test(request.headers.get('cookie') ?? '') ? 'carol' : undefined
    const app = new Hono().route('/ops/vel', createInspector({ runtime, auth: { verify } }))
    const handle = await runtime.spawn('echo', 'hi')
    await handle.result
    expect((await get(app, '/ops/vel')).status).toBe(401)
    const list = await (await get(app, '/ops/vel', 'session=carol')).text()
    expect(runIdsIn(list)).toEqual([handle.runId])
    expect(list).toContain(`href="/ops/vel/runs/${handle.runId}"`)
    expect(list).toContain('href="/ops/vel/assets/inspector.css"')
    expect((await get(app, `/ops/vel/runs/${handle.runId}`, 'session=carol')).status).toBe(200)
    expect((await get(app, '/ops/vel/assets/inspector.js')).headers.get('content-type')).toMatch(/javascript/)
    await runtime.shutdown()
  })

  it('is not served by createHttpApp unless asked for', async () => {
    const runtime = createRuntime({
      store: createMemoryStore(),
      agents: [echoAgent],
      onError: () => undefined,
    })
    expect((await createHttpApp({ runtime }).request('/inspector')).status).toBe(404)
    expect((await createHttpApp({ runtime, auth: { tokens } }).request('/inspector')).status).toBe(401)
    await runtime.shutdown()
  })
})

describe('a run page', () => {
  it('shows the transcript, the journal as a timeline with durations and tokens, and the answer', async () => {
    const { runtime, app } = setup()
    const handle = await runtime.spawn('banker', 'what is my balance?')
    await handle.result
    const page = await (await get(app, `/inspector/runs/${handle.runId}`)).text()
    expect(page).toContain('status-completed')
    expect(page).toContain('what is my balance?')
    expect(page).toContain('calls <code>balance</code>')
    expect(page).toContain('Done: {&quot;balance&quot;:100}')
    const types = [...page.matchAll(/data-type="([^"]+)"/g)].map((match) => match[1])
    // `balance` has no side effects, so no `tool.started` is journaled for it.
    expect(types).toEqual(['run.started', 'model.responded', 'tool.succeeded', 'model.responded'])
    expect(page).toContain('10 in · 5 out') // one model response
    expect(page).toContain('20 in · 10 out') // the run
    expect(page).toMatch(/<td>\d+ ms<\/td>/)
    expect(page).not.toContain('<th>Cost</th>') // the scripted model has no price
    expect(page).not.toContain('Cancel run')
    expect(page).not.toContain('data-live=') // nothing more will happen
    expect((await get(app, '/inspector/runs/nope')).status).toBe(404)
    await runtime.shutdown()
  })

  it('shows the cost of each response and of the run at the run’s price, and its budget', async () => {
    const runtime = createRuntime({
      store: createMemoryStore(),
      agents: [
        new Agent({
          id: 'priced',
          model: scriptedModel(() => ({ text: 'Hello.' })),
          price: { inputPerMTok: 2, outputPerMTok: 10 },
          policies: { retry: false, budget: { maxCostUsd: 1 } },
        }),
      ],
      onError: () => undefined,
    })
    const app = createHttpApp({ runtime, inspector: true })
    const handle = await runtime.spawn('priced', 'hello')
    await handle.result
    const page = await (await get(app, `/inspector/runs/${handle.runId}`)).text()
    // 10 input and 5 output tokens at $2 / $10 per million: $0.00007.
    expect(page).toContain('<th>Cost</th>')
    expect(page).toContain('<td>$0.000070</td>')
    expect(page).toContain('<dd class="cost">$0.000070 of $1.0000 budget</dd>')
    await runtime.shutdown()
  })

  it('shows a pipeline as a tree of runs, from any run in it', async () => {
    const { runtime, app } = setup()
    const handle = await runtime.spawn('pipeline', 'relay')
    await handle.result
    const children = (await runtime.list({ parentRunId: handle.runId })).items
    expect(children).toHaveLength(2)
    for (const runId of [handle.runId, children[0]?.runId ?? '']) {
      const page = await (await get(app, `/inspector/runs/${runId}`)).text()
      expect(page).toContain('<h2>Pipeline</h2>')
      for (const run of [handle.runId, ...children.map((child) => child.runId)]) expect(page).toContain(run)
      expect(page).toContain(`<code>${runId}</code> (this run)`)
      // The tree's usage, on the run it is the tree of (the parent, with its two children).
      if (runId === handle.runId) expect(page).toMatch(/<dd class="tree-usage">3 runs · \d+ in · \d+ out/)
    }
    await runtime.shutdown()
  })

  it('approves and denies a tool call from the page', async () => {
    const { runtime, app } = setup()
    const approved = await runtime.spawn('banker', 'transfer please')
    for await (const _part of approved.parts({ untilPause: true }));
    const page = await (await get(app, `/inspector/runs/${approved.runId}`)).text()
    expect(page).toContain('Waiting for you')
    const toolCallId = /name="toolCallId" value="([^"]+)"/.exec(page)?.[1] ?? ''
    expect(toolCallId).not.toBe('')
    const before = transfers.length
    const response = await post(app, `/inspector/runs/${approved.runId}/decisions`, {
      toolCallId,
      decision: 'approve',
      reason: 'looks right',
    })
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe(`/inspector/runs/${approved.runId}`)
    expect(await approved.result).toBe('Done: {"transferred":10}')
    expect(transfers.length).toBe(before + 1)
    const after = await (await get(app, `/inspector/runs/${approved.runId}`)).text()
    expect(after).toContain('transfer approved (looks right)')

    const denied = await runtime.spawn('banker', 'transfer please')
    for await (const _part of denied.parts({ untilPause: true }));
    await post(app, `/inspector/runs/${denied.runId}/decisions`, { toolCallId, decision: 'deny' })
    expect(await denied.result).toMatch(/^Failed:/)
    expect(transfers.length).toBe(before + 1)
    // A decision nobody waits for is a 409 page, not a crash.
    const late = await post(app, `/inspector/runs/${denied.runId}/decisions`, {
      toolCallId,
      decision: 'deny',
    })
    expect(late.status).toBe(409)
    expect((await post(app, `/inspector/runs/${denied.runId}/decisions`, { decision: 'maybe' })).status).toBe(
      400,
    )
    await runtime.shutdown()
  })

  it('answers a question and cancels a run from the page', async () => {
    const { runtime, app } = setup()
    const asked = await runtime.spawn('asker', 'pay the bill')
    for await (const _part of asked.parts({ untilPause: true }));
    const page = await (await get(app, `/inspector/runs/${asked.runId}`)).text()
    expect(page).toContain('<blockquote>Which account?</blockquote>')
    const requestId = /name="requestId" value="([^"]+)"/.exec(page)?.[1] ?? ''
    await post(app, `/inspector/runs/${asked.runId}/answers`, { requestId, answer: 'savings' })
    expect(await asked.result).toBe('Using savings')

    const waiting = await runtime.spawn('banker', 'transfer please')
    for await (const _part of waiting.parts({ untilPause: true }));
    expect(await (await get(app, `/inspector/runs/${waiting.runId}`)).text()).toContain('Cancel run')
    await post(app, `/inspector/runs/${waiting.runId}/cancel`, { reason: 'wrong account' })
    await expect(waiting.result).rejects.toThrow()
    const after = await (await get(app, `/inspector/runs/${waiting.runId}`)).text()
    expect(after).toContain('status-cancelled')
    expect(after).toContain('<code>run.cancelled</code>')
    expect(after).toContain('wrong account')
    await runtime.shutdown()
  })

  it('follows a running run live: its deltas, each journal entry, then the end', async () => {
    const { runtime, app } = setup()
    const handle = await runtime.spawn('stepper', 'go')
    // Wait until the first tool call blocks, so the page opens on a running run.
    while (stepperGates.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    const page = await (await get(app, `/inspector/runs/${handle.runId}`)).text()
    const live = /data-live="([^"]+)"/.exec(page)?.[1]?.replaceAll('&amp;', '&')
    expect(live).toMatch(/\/live\?after=\d+$/)
    const response = await get(app, live ?? '')
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/)
    const reading = response.text()
    // Release the waits one at a time, each once the run has asked for it.
    for (let opened = 0; opened < 3; opened += 1) {
      while (stepperGates.length <= opened) await new Promise((resolve) => setTimeout(resolve, 5))
      stepperGates[opened]?.open()
    }
    await handle.result
    const text = await reading
    const events = [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((match) => ({
      event: match[1],
      data: JSON.parse(match[2] ?? '{}') as { type?: string; text?: string },
    }))
    const entries = events.filter((event) => event.event === 'entry').map((event) => event.data.type)
    expect(entries[0]).toBe('tool.succeeded')
    expect(entries.at(-1)).toBe('model.responded')
    expect(entries.filter((type) => type === 'tool.succeeded')).toHaveLength(3)
    const deltas = events.filter((event) => event.event === 'delta').map((event) => event.data.text)
    expect(deltas.join('')).toContain('Step 2.Step 3.Finished after 3 waits.')
    expect(events.at(-1)?.event).toBe('end')
    expect(parseSse(text).length).toBeGreaterThan(0)
    await runtime.shutdown()
  })
})

describe('timelineOf', () => {
  const entry = (seq: number, at: number, data: Record<string, unknown>): JournalEntry => ({
    runId: 'r',
    seq,
    at,
    type: String(data.type),
    data: data as never,
  })
  const usage = { inputTokens: 3, outputTokens: 4, reasoningTokens: 0, cachedInputTokens: 0 }

  it('times model calls from the entry before, tools from their start, humans from the request', () => {
    const entries = [
      entry(1, 1000, {
        type: 'run.started',
        runId: 'r',
        agentId: 'a',
        input: [{ role: 'user', content: 'hi' }],
        at: 1000,
      }),
      entry(2, 1250, {
        type: 'model.responded',
        message: { role: 'assistant', content: [{ type: 'tool-call', id: 'c1', name: 'pay', input: {} }] },
        usage,
        finishReason: 'tool-calls',
        plan: [{ toolCallId: 'c1', action: 'approve', sideEffects: 'unsafe' }],
      }),
      entry(3, 61_250, { type: 'approval.decided', toolCallId: 'c1', approved: true, by: 'alice' }),
      entry(4, 61_300, { type: 'tool.started', toolCallId: 'c1' }),
      entry(5, 61_420, { type: 'tool.succeeded', toolCallId: 'c1', output: { ok: true } }),
      entry(6, 61_900, {
        type: 'model.responded',
        message: { role: 'assistant', content: [{ type: 'text', text: 'Paid.' }] },
        usage,
        finishReason: 'stop',
        plan: [],
      }),
    ]
    const rows = timelineOf(entries)
    expect(rows.map((row) => row.durationMs)).toEqual([undefined, 250, 60_000, undefined, 120, 480])
    expect(rows.map((row) => row.summary)).toEqual([
      'hi',
      'calls pay',
      'pay approved by alice',
      'pay',
      'pay → {"ok":true}',
      'Paid.',
    ])
    expect(rows[1]?.usage).toEqual(usage)
    expect(rows.every((row) => row.costUsd === undefined)).toBe(true) // no price, no cost
    // At $2 / $10 per million tokens: 3 in, 4 out = 0.000046 per response.
    const priced = timelineOf(entries, { inputPerMTok: 2, outputPerMTok: 10 })
    expect(priced.map((row) => row.costUsd)).toEqual([
      undefined,
      0.000046,
      undefined,
      undefined,
      undefined,
      0.000046,
    ])
  })
})
