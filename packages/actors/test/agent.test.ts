import type { AddressInfo } from 'node:net'
import { createServer } from 'node:net'
import {
  assertWellFormedStream,
  defineTool,
  type Message,
  type ModelRequest,
  ProviderError,
  RunError,
  type StreamPart,
} from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { describe, expect, it } from 'vitest'
import { Agent, contactHuman, createRuntime } from '../src/index.ts'
import { addTool, collect, partTypes, scripted, stepsOf } from './support.ts'

/** The benchmark model: one `add` call per missing tool result, then the sum. */
const adder = () =>
  scripted((request) => {
    const results = request.messages.flatMap((message: Message) =>
      message.role === 'tool'
        ? message.content.map((part) => ('output' in part ? Number(part.output) : 0))
        : [],
    )
    const n = results.length
    if (n < stepsOf(request))
      return { toolCalls: [{ id: `call_${n + 1}`, name: 'add', input: { a: n + 1, b: n + 1 } }] }
    return { text: `sum=${results.reduce((sum, value) => sum + value, 0)}` }
  })

const runtimeWith = (...agents: Agent[]) => createRuntime({ store: createMemoryStore(), agents })

/** The store, telling `seen` of each call of the named methods before it runs. */
const spied = <S extends object>(
  store: S,
  names: string[],
  seen: (name: string, args: unknown[]) => void,
): S =>
  new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver)
      if (typeof value !== 'function') return value
      if (typeof property === 'string' && names.includes(property))
        return (...args: unknown[]) => {
          seen(property, args)
          return value.apply(target, args)
        }
      return value.bind(target)
    },
  })

/** Every part of a stream that must end by throwing, and what it threw. */
async function collectUntilThrow(stream: AsyncIterable<StreamPart>) {
  const parts: StreamPart[] = []
  try {
    for await (const part of stream) parts.push(part)
  } catch (error) {
    assertWellFormedStream(parts)
    return { parts, error }
  }
  throw new Error('the stream ended without throwing')
}

describe('Agent.run and Agent.stream', () => {
  it('answers text-only with a well-formed stream', async () => {
    const agent = new Agent({
      id: 'hello',
      model: scripted(() => ({ text: 'Hello there' })),
      policies: { retry: false },
    })
    const parts = await collect(agent.stream('hi'))
    expect(partTypes(parts)).toEqual([
      'start',
      'start-step',
      'text-start',
      'text-delta',
      'text-end',
      'finish-step',
      'finish',
    ])
    expect(await agent.run('hi')).toBe('Hello there')
  })

  it('runs the tool loop and streams every tool step', async () => {
    const agent = new Agent({ id: 'adder', model: adder(), tools: [addTool], policies: { retry: false } })
    runtimeWith(agent)
    expect(await agent.run('Add the numbers step by step, then report the sum. steps=3')).toBe('sum=12')
    const parts = await collect(agent.stream('steps=2'))
    expect(partTypes(parts)).toEqual([
      'start',
      'start-step',
      'tool-input-start',
      'tool-input-delta',
      'tool-input-available',
      'tool-output-available',
      'finish-step',
      'start-step',
      'tool-input-start',
      'tool-input-delta',
      'tool-input-available',
      'tool-output-available',
      'finish-step',
      'start-step',
      'text-start',
      'text-delta',
      'text-end',
      'finish-step',
      'finish',
    ])
    expect(parts).toContainEqual({ type: 'tool-output-available', toolCallId: 'call_2', output: 4 })
  })

  it('runs parallel tool calls together and sends all results in call order', async () => {
    let seen: ModelRequest | undefined
    const model = scripted((request) => {
      if (request.messages.at(-1)?.role === 'tool') {
        seen = request
        return { text: 'done' }
      }
      return {
        toolCalls: [
          { id: 'a', name: 'add', input: { a: 1, b: 1 } },
          { id: 'b', name: 'add', input: { a: 2, b: 2 } },
          { id: 'c', name: 'add', input: { a: 3, b: 3 } },
        ],
      }
    })
    const agent = new Agent({ id: 'parallel', model, tools: [addTool], policies: { retry: false } })
    const parts = await collect(agent.stream('go'))
    expect(parts.filter((part) => part.type === 'tool-output-available')).toHaveLength(3)
    expect(seen?.messages.at(-1)).toEqual({
      role: 'tool',
      content: [
        { type: 'tool-result', toolCallId: 'a', toolName: 'add', output: 2 },
        { type: 'tool-result', toolCallId: 'b', toolName: 'add', output: 4 },
        { type: 'tool-result', toolCallId: 'c', toolName: 'add', output: 6 },
      ],
    })
  })

  it('turns a tool failure and invalid arguments into results the model reads', async () => {
    const flaky = defineTool({
      name: 'flaky',
      description: 'Always fails.',
      input: { type: 'object' },
      handler: () => {
        throw new Error('disk full')
      },
    })
    const requests: ModelRequest[] = []
    const model = scripted((request) => {
      requests.push(request)
      if (requests.length === 1)
        return {
          toolCalls: [
            { id: 'f', name: 'flaky', input: {} },
            { id: 'bad', name: 'add', input: { a: 'one' } },
            { id: 'ghost', name: 'nope', input: {} },
          ],
        }
      return { text: 'recovered' }
    })
    const agent = new Agent({ id: 'errors', model, tools: [addTool, flaky], policies: { retry: false } })
    const parts = await collect(agent.stream('go'))
    expect(partTypes(parts)).toContain('tool-output-error')
    expect(partTypes(parts).filter((type) => type === 'tool-input-error')).toHaveLength(2)
    const results = requests[1]?.messages.at(-1)
    expect(results).toMatchObject({
      role: 'tool',
      content: [
        { toolCallId: 'f', error: "Tool 'flaky' failed: disk full" },
        {
          toolCallId: 'bad',
          error: expect.stringMatching(/^Invalid arguments for 'add': .*\/a: must be number/),
        },
        { toolCallId: 'ghost', error: "Unknown tool 'nope'. Available tools: add, flaky." },
      ],
    })
  })

  it('rejects the run with a typed error when the model fails', async () => {
    const model = scripted(() => {
      throw new ProviderError({ reason: 'auth', message: 'bad key', provider: 'test', status: 401 })
    })
    const agent = new Agent({ id: 'broken', model, policies: { retry: false } })
    // The loop gets every part, then the run's error: a loop reading only text cannot miss it.
    const { parts, error } = await collectUntilThrow(agent.stream('hi'))
    expect(partTypes(parts).slice(-3)).toEqual(['finish-step', 'error', 'finish'])
    expect(parts).toContainEqual({ type: 'error', errorText: 'auth: bad key' })
    expect(error).toMatchObject({ _tag: 'RunError', reason: 'model-failed' })
    await expect(agent.run('hi')).rejects.toMatchObject({ _tag: 'RunError', reason: 'model-failed' })
  })

  it('stops at maxSteps with one tool-less summary call', async () => {
    const requests: ModelRequest[] = []
    const model = scripted((request) => {
      requests.push(request)
      return request.tools === undefined
        ? { text: 'summary' }
        : { toolCalls: [{ id: `c${requests.length}`, name: 'add', input: { a: 1, b: 1 } }] }
    })
    const agent = new Agent({
      id: 'limited',
      model,
      tools: [addTool],
      policies: { maxSteps: 2, retry: false },
    })
    const parts = await collect(agent.stream('loop forever'))
    expect(requests).toHaveLength(3)
    expect(requests[2]?.tools).toBeUndefined()
    expect(parts.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' })
  })

  it("the README's loop over a model it cannot reach throws, naming the provider and the URL", async () => {
    // A port bound, then closed: nothing listens there.
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    await new Promise<void>((resolve) => server.close(() => resolve()))
    const baseURL = `http://127.0.0.1:${port}/v1`
    const agent = new Agent({
      id: 'unreachable',
      model: { provider: 'openai', model: 'gpt-4.1-mini', apiKey: 'sk-test', baseURL },
      policies: { retry: false },
    })
    let printed = ''
    const readme = async () => {
      for await (const part of agent.stream('What is 2 + 40?')) {
        if (part.type === 'text-delta') printed += part.delta
      }
    }
    await expect(readme()).rejects.toMatchObject({ _tag: 'RunError', reason: 'model-failed' })
    await expect(readme()).rejects.toThrow(`openai (${baseURL}): `)
    expect(printed).toBe('')
  })

  it('fails gracefully when the token budget is exceeded', async () => {
    const model = scripted(() => ({
      toolCalls: [{ id: 'c', name: 'add', input: { a: 1, b: 1 } }],
      usage: { inputTokens: 600, outputTokens: 600, reasoningTokens: 0, cachedInputTokens: 0 },
    }))
    const agent = new Agent({
      id: 'budget',
      model,
      tools: [addTool],
      policies: { budget: { maxTokens: 1000 }, retry: false },
    })
    const { parts, error } = await collectUntilThrow(agent.stream('go'))
    expect(parts).toContainEqual({
      type: 'error',
      errorText: 'budget-exceeded: token budget of 1000 exceeded',
    })
    expect(error).toMatchObject({ reason: 'budget-exceeded' })
    await expect(agent.run('go')).rejects.toMatchObject({ reason: 'budget-exceeded' })
  })

  it('returns a structured answer checked against the output schema', async () => {
    const agent = new Agent({
      id: 'structured',
      model: scripted(() => ({ text: '{"city":"Paris","celsius":21}' })),
      output: {
        type: 'object',
        properties: { city: { type: 'string' }, celsius: { type: 'number' } },
        required: ['city', 'celsius'],
      },
      policies: { retry: false },
    })
    expect(await agent.run('weather?')).toEqual({ city: 'Paris', celsius: 21 })
    const wrong = new Agent({
      id: 'wrong',
      model: scripted(() => ({ text: '{"city":1}' })),
      output: { type: 'object', properties: { city: { type: 'string' } } },
      policies: { retry: false },
    })
    await expect(wrong.run('x')).rejects.toBeInstanceOf(RunError)
  })

  it('keeps session history across runs', async () => {
    const model = scripted((request) => ({
      text: `I have seen ${request.messages.filter((m) => m.role === 'user').length} user messages`,
    }))
    const agent = new Agent({ id: 'memory', model, instructions: 'Count.', policies: { retry: false } })
    const runtime = runtimeWith(agent)
    expect(await agent.run('one', { sessionId: 's' })).toBe('I have seen 1 user messages')
    expect(await agent.run('two', { sessionId: 's' })).toBe('I have seen 2 user messages')
    const session = await runtime.store.getSession('s')
    expect(session?.messages.map((message) => message.role)).toEqual([
      'user',
      'assistant',
      'user',
      'assistant',
    ])
  })
})

describe('humans in the loop', () => {
  const charge = defineTool({
    name: 'charge',
    description: 'Charges a card.',
    input: { type: 'object', properties: { cents: { type: 'number' } }, required: ['cents'] },
    handler: ({ cents }: { cents: number }) => ({ charged: cents }),
    needsApproval: ({ cents }: { cents: number }) => cents > 100,
  })
  const chargeModel = (cents: number) =>
    scripted((request) =>
      request.messages.at(-1)?.role === 'tool'
        ? { text: `result: ${JSON.stringify(request.messages.at(-1)?.content)}` }
        : { toolCalls: [{ id: 'pay', name: 'charge', input: { cents } }] },
    )

  it('approval granted: the run passivates, then finishes after approve', async () => {
    const agent = new Agent({
      id: 'payer',
      model: chargeModel(500),
      tools: [charge],
      policies: { retry: false },
    })
    const runtime = runtimeWith(agent)
    const handle = await agent.start('pay')
    const parts = handle.parts()[Symbol.asyncIterator]()
    const seen: string[] = []
    while (true) {
      const next = await parts.next()
      seen.push(next.value.type)
      if (next.value.type === 'tool-approval-request') break
    }
    await expect.poll(() => runtime.activeRuns).toBe(0)
    expect((await runtime.store.getRun(handle.runId))?.status).toBe('waiting')
    expect((await runtime.get(handle.runId)).record.pending).toMatchObject([
      { requestId: 'pay', kind: 'approval' },
    ])
    await handle.approve('pay', { by: 'ana' })
    // Between the approval and the end, the index no longer says the run waits.
    expect((await runtime.store.getRun(handle.runId))?.status).not.toBe('waiting')
    expect(await handle.result).toBe(
      'result: [{"type":"tool-result","toolCallId":"pay","toolName":"charge","output":{"charged":500}}]',
    )
    const journal = await runtime.journal(handle.runId)
    expect(journal.find((entry) => entry.type === 'approval.decided')?.data).toMatchObject({
      approved: true,
      by: 'ana',
    })
  })

  it('a small charge needs no approval (predicate)', async () => {
    const agent = new Agent({
      id: 'small',
      model: chargeModel(50),
      tools: [charge],
      policies: { retry: false },
    })
    expect(await agent.run('pay')).toContain('"charged":50')
  })

  it('approval denied: a denied result, and the stream shows it', async () => {
    const agent = new Agent({
      id: 'denied',
      model: chargeModel(500),
      tools: [charge],
      policies: { retry: false },
    })
    const runtime = runtimeWith(agent)
    runtime.bus
    const handle = await agent.start('pay')
    const all = collect(handle.parts())
    await expect.poll(async () => (await runtime.store.getRun(handle.runId))?.status).toBe('waiting')
    await handle.deny('pay', { reason: 'too expensive' })
    const parts = await all
    expect(parts).toContainEqual({ type: 'tool-output-denied', toolCallId: 'pay' })
    expect(await handle.result).toContain('Denied by a human: too expensive')
  })

  it('an approval timeout auto-denies', async () => {
    const agent = new Agent({
      id: 'timeout',
      model: chargeModel(500),
      tools: [charge],
      policies: { approvalTimeoutMs: 20, retry: false },
    })
    runtimeWith(agent)
    const handle = await agent.start('pay')
    expect(await handle.result).toContain('approval timed out')
  })

  it('contactHuman: asks, passivates, and the answer is the tool result', async () => {
    const model = scripted((request) => {
      const last = request.messages.at(-1)
      return last?.role === 'tool'
        ? { text: `ok, ${JSON.stringify((last.content[0] as { output: unknown }).output)}` }
        : { toolCalls: [{ id: 'q', name: 'contactHuman', input: { question: 'Which colour?' } }] }
    })
    const agent = new Agent({ id: 'asker', model, tools: [contactHuman], policies: { retry: false } })
    const runtime = runtimeWith(agent)
    const handle = await agent.start('paint it')
    await expect.poll(async () => (await runtime.store.getRun(handle.runId))?.status).toBe('waiting')
    await expect(handle.respond('wrong-id', 'x')).rejects.toMatchObject({ reason: 'invalid-state' })
    await handle.respond('q', 'blue', { by: 'bob' })
    expect(await handle.result).toBe('ok, "blue"')
  })

  it('approving a run that is not waiting is a typed error and changes nothing', async () => {
    const agent = new Agent({
      id: 'plain',
      model: scripted(() => ({ text: 'x' })),
      policies: { retry: false },
    })
    const runtime = runtimeWith(agent)
    const handle = await agent.start('hi')
    await handle.result
    const before = await runtime.journal(handle.runId)
    await expect(handle.approve('nothing')).rejects.toMatchObject({
      _tag: 'RunError',
      reason: 'invalid-state',
    })
    expect(await runtime.journal(handle.runId)).toEqual(before)
  })
})

describe('cancellation', () => {
  it('cancel mid-model aborts the model call; the stream ends with abort then finish', async () => {
    let aborted = false
    const model = scripted(
      (_request, { signal }) =>
        new Promise((_resolve, reject) => {
          signal?.addEventListener('abort', () => {
            aborted = true
            reject(new ProviderError({ reason: 'aborted', message: 'aborted', provider: 'test' }))
          })
        }),
    )
    const agent = new Agent({ id: 'slow-model', model, policies: { retry: false } })
    const handle = await agent.start('hi')
    const parts = collect(handle.parts())
    await handle.cancel('user left')
    expect(partTypes(await parts).slice(-3)).toEqual(['finish-step', 'abort', 'finish'])
    await expect(handle.result).rejects.toMatchObject({ reason: 'cancelled' })
    await expect.poll(() => aborted).toBe(true)
  })

  it('cancel mid-tool aborts the tool through its signal', async () => {
    let toolAborted = false
    let started!: () => void
    const running = new Promise<void>((resolve) => {
      started = resolve
    })
    const slow = defineTool({
      name: 'slow',
      description: 'Waits.',
      input: { type: 'object' },
      handler: (_input, context) =>
        new Promise((_resolve, reject) => {
          started()
          context.signal.addEventListener('abort', () => {
            toolAborted = true
            reject(new Error('aborted'))
          })
        }),
    })
    const agent = new Agent({
      id: 'slow-tool',
      model: scripted(() => ({ toolCalls: [{ id: 's', name: 'slow', input: {} }] })),
      tools: [slow],
      policies: { retry: false },
    })
    const handle = await agent.start('hi')
    const parts = collect(handle.parts())
    await running
    await handle.cancel()
    const all = await parts
    expect(all).toContainEqual({
      type: 'tool-output-error',
      toolCallId: 's',
      errorText: 'Cancelled before it finished.',
    })
    expect(partTypes(all).slice(-2)).toEqual(['abort', 'finish'])
    await expect.poll(() => toolAborted).toBe(true)
  })
})

describe('runtime inspection', () => {
  it('shows the exact next model messages, the journal and the state of any run', async () => {
    const agent = new Agent({
      id: 'inspect',
      model: scripted(() => ({ toolCalls: [{ id: 'p', name: 'charge', input: {} }] })),
      tools: [
        defineTool({
          name: 'charge',
          description: 'd',
          input: { type: 'object' },
          handler: () => 1,
          needsApproval: true,
        }),
      ],
      instructions: 'You are careful.',
      policies: { retry: false },
    })
    const runtime = runtimeWith(agent)
    const handle = await agent.start('hi')
    await expect.poll(async () => (await runtime.store.getRun(handle.runId))?.status).toBe('waiting')
    const info = await runtime.get(handle.runId)
    expect(info.state.phase).toBe('waiting')
    expect(info.nextMessages[0]).toEqual({ role: 'system', content: 'You are careful.' })
    const journal = await runtime.journal(handle.runId)
    expect(journal.map((entry) => entry.type)).toEqual(['run.started', 'model.responded'])
    await expect(runtime.get('missing')).rejects.toMatchObject({ reason: 'not-found' })
  })

  it('spawning an unknown agent is a typed error', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), agents: [] })
    await expect(runtime.spawn('ghost', 'hi')).rejects.toMatchObject({
      _tag: 'RunError',
      reason: 'not-found',
    })
  })

  it('an idempotency key returns the first run instead of starting another', async () => {
    const agent = new Agent({
      id: 'once',
      model: scripted(() => ({ text: 'x' })),
      policies: { retry: false },
    })
    const runtime = runtimeWith(agent)
    const first = await runtime.spawn('once', 'hi', { idempotencyKey: 'k1' })
    await first.result
    const second = await runtime.spawn('once', 'hi', { idempotencyKey: 'k1' })
    expect(second.runId).toBe(first.runId)
    expect((await runtime.store.listRuns({ agentId: 'once' })).items).toHaveLength(1)
  })

  it('asks the store for a key only when the keyed run could not be created', async () => {
    const lookups: string[] = []
    const store = spied(createMemoryStore(), ['findRunByIdempotencyKey'], (_, args) => {
      lookups.push(args[1] as string)
    })
    let release: () => void = () => undefined
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const agent = new Agent({
      id: 'slow',
      model: scripted(async () => {
        await held
        return { text: 'done' }
      }),
      policies: { retry: false },
    })
    const runtime = createRuntime({ store, agents: [agent] })
    // A new key: created at once, no lookup.
    const first = await runtime.spawn('slow', 'hi', { idempotencyKey: 'k1', sessionId: 's1' })
    expect(lookups).toEqual([])
    // The same key while that run still holds its session (busy), and with the run's own id: the
    // first run, found after the refusal.
    const again = await runtime.spawn('slow', 'hi', { idempotencyKey: 'k1', sessionId: 's1' })
    const byId = await runtime.spawn('slow', 'hi', { idempotencyKey: 'k1', runId: first.runId })
    expect([again.runId, byId.runId]).toEqual([first.runId, first.runId])
    expect(lookups).toEqual(['k1', 'k1'])
    release()
    expect(await first.result).toBe('done')
    expect(await again.result).toBe('done')
    const later = await runtime.spawn('slow', 'hi', { idempotencyKey: 'k1', sessionId: 's1' })
    expect(later.runId).toBe(first.runId)
    expect((await store.listRuns({ agentId: 'slow' })).items).toHaveLength(1)
  })

  it('journals a run start with its row: one write before the model is called', async () => {
    const writes: string[] = []
    const store = spied(createMemoryStore(), ['createRun', 'append'], (name) => {
      writes.push(name)
    })
    const calls: string[][] = []
    const agent = new Agent({
      id: 'once',
      model: scripted(() => {
        calls.push([...writes])
        return { text: 'done' }
      }),
      policies: { retry: false },
    })
    const runtime = createRuntime({ store, agents: [agent] })
    const run = await runtime.spawn('once', 'hi')
    expect(await run.result).toBe('done')
    // The model saw one write (the row, its lease and run.started); the answer is the second.
    expect(calls).toEqual([['createRun']])
    expect(writes).toEqual(['createRun', 'append'])
    expect((await store.read(run.runId)).map((entry) => [entry.seq, entry.type])).toEqual([
      [1, 'run.started'],
      [2, 'model.responded'],
    ])
    // With a session, its history is read first and the row claims it at that version: one write.
    writes.length = 0
    calls.length = 0
    await (await runtime.spawn('once', 'hi', { sessionId: 's1' })).result
    expect(calls).toEqual([['createRun']])
    // The session moved on between the read and the claim: busy, then the usual two writes, with
    // the history read once the session is claimed.
    const getSession = store.getSession.bind(store)
    store.getSession = async (sessionId) => {
      const read = await getSession(sessionId)
      store.getSession = getSession
      await store.appendSession(sessionId, [{ role: 'user', content: 'meanwhile' }])
      return read
    }
    writes.length = 0
    calls.length = 0
    const third = await runtime.spawn('once', 'again', { sessionId: 's1' })
    await third.result
    expect(calls).toEqual([['createRun', 'createRun', 'append']])
    const [start] = await store.read(third.runId)
    const history = (start?.data as { history?: { role: string; content: unknown }[] } | undefined)?.history
    expect(history?.map((message) => message.role)).toEqual(['user', 'assistant', 'user'])
    expect(history?.[2]?.content).toBe('meanwhile')
    // A store that ignores `entries` (written before them): the owner appends the start itself.
    const older = createMemoryStore()
    const createRun = older.createRun.bind(older)
    older.createRun = ({ entries: _, ...run }) => createRun(run)
    const runtime2 = createRuntime({ store: older, agents: [agent] })
    const run2 = await runtime2.spawn('once', 'hi')
    expect(await run2.result).toBe('done')
    expect((await older.read(run2.runId)).map((entry) => entry.type)).toEqual([
      'run.started',
      'model.responded',
    ])
  })
})
