import { createRuntime, type Runtime } from '@vel/actors'
import { assertWellFormedStream, type Store, TransportError } from '@vel/core'
import { createHttpApp } from '@vel/http'
import { createMemoryStore } from '@vel/store'
import type { UIMessage } from 'ai'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNatsBus, createNatsClient, type NatsClient } from '../src/index.ts'
import {
  assemble,
  assertStepsInOrder,
  Gatekeeper,
  overHttp,
  type Reader,
  read,
  scenarioAgent,
  sseParts,
  startProcess,
  type Turn,
  type WorkerProcess,
} from './interleavings-support.ts'
import { connectNats, probeNats, uniquePrefix } from './support.ts'

/*
 * A property test over random interleavings of everything that can happen to a run: model deltas,
 * tool outcomes, human answers (through either worker, its HTTP app or the NATS client, the moment the request
 * is seen on NATS), a cancel, lease losses (another worker takes the run) and crashes (the owner
 * dies where it stands; another worker recovers the run). The test grants every model part and
 * tool outcome itself, so a scenario is a sequence of steps drawn from a seed. Four readers follow
 * each run from its start: the spawning worker's `handle.parts()`, another process's
 * `runtime.stream` (parts over NATS), SSE from the real HTTP app on that runtime, and the NATS
 * client. Each must see a well-formed stream with steps in order, and all that are still alive at
 * the end (a reader inside a crashed worker dies with it) must assemble the same UI message with
 * the AI SDK's own `readUIMessageStream`. Nothing here waits on time: every wait is for a condition.
 *
 * Reproduce a failure with the seed fast-check prints: VEL_PROPERTY_SEED=<seed> (and
 * VEL_PROPERTY_RUNS to run more scenarios).
 */

const available = await probeNats()
const seed = Number(process.env.VEL_PROPERTY_SEED ?? 20261202)
const numRuns = Number(process.env.VEL_PROPERTY_RUNS ?? 20)
const leaseTtlMs = 10_000

type Action =
  | { readonly kind: 'model'; readonly parts: number }
  | { readonly kind: 'tool'; readonly ok: boolean }
  | { readonly kind: 'answer'; readonly yes: boolean; readonly via: number }
  | { readonly kind: 'lease-loss'; readonly to: number }
  | { readonly kind: 'crash'; readonly to: number }
  | { readonly kind: 'settle'; readonly ticks: number }

interface Scenario {
  readonly turns: Turn[]
  readonly actions: Action[]
  /** Cancel the run (through `via`) before action `at`, if set. */
  readonly cancel: { readonly at: number; readonly via: number } | null
  /** Before which action a fifth reader joins. */
  readonly lateJoin: number
}

const turnArb = fc.record({
  deltas: fc.array(fc.constantFrom('a', 'bb', 'ccc', 'dd d'), { minLength: 1, maxLength: 4 }),
  tool: fc.constantFrom('add' as const, 'pay' as const, 'ask' as const),
})
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({ kind: fc.constant('model' as const), parts: fc.integer({ min: 1, max: 5 }) }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tool' as const), ok: fc.boolean() }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('answer' as const), yes: fc.boolean(), via: fc.nat(3) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lease-loss' as const), to: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), to: fc.nat(1) }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('settle' as const), ticks: fc.integer({ min: 1, max: 30 }) }),
  },
)
const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  turns: fc.array(turnArb, { minLength: 1, maxLength: 4 }),
  actions: fc.array(actionArb, { minLength: 5, maxLength: 30 }),
  cancel: fc.option(fc.record({ at: fc.nat(29), via: fc.nat(3) }), { freq: 3, nil: null }),
  lateJoin: fc.nat(29),
})

const ticks = async (count: number) => {
  for (let index = 0; index < count; index++) await new Promise((resolve) => setImmediate(resolve))
}

const waitFor = async (check: () => boolean | Promise<boolean>, what: string, ms = 20_000) => {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`waited in vain for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** The run's refusal of an event in its state (checked against how the run ended). */
const isRefusal = (error: unknown): boolean => {
  const message = error instanceof Error ? error.message : String(error)
  return /rejected|is (completed|failed|cancelled)/.test(message) && !/owned by another|held by/.test(message)
}

describe.skipIf(!available)('random interleavings: every reader ends with the same message', () => {
  const prefix = uniquePrefix('interleave')
  const store: Store = createMemoryStore()
  let observer: Runtime
  let app: ReturnType<typeof createHttpApp>
  let client: NatsClient
  const connections: Array<Awaited<ReturnType<typeof connectNats>>> = []
  const stopped: WorkerProcess[] = []
  let scenarios = 0
  let crashes = 0
  let leaseLosses = 0
  /** Decisions made through each way in: worker runtimes, the NATS client, a worker's HTTP app. */
  const decisions = [0, 0, 0, 0]

  beforeAll(async () => {
    const observerConnection = await connectNats()
    const clientConnection = await connectNats()
    connections.push(observerConnection, clientConnection)
    observer = createRuntime({
      store,
      agents: [],
      bus: createNatsBus({ connection: observerConnection, prefix }),
      onError: () => undefined,
    })
    app = createHttpApp({ runtime: observer })
    client = createNatsClient(clientConnection, { prefix, timeoutMs: 10_000 })
  })
  afterAll(async () => {
    client?.close()
    for (const process of stopped) await process.close().catch(() => undefined)
    await observer?.shutdown()
    for (const connection of connections) await connection.close()
  })

  it('over model deltas, tool outcomes, answers, cancels, lease losses and crashes', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        scenarios += 1
        const runId = `interleave-${scenarios}-${Math.random().toString(36).slice(2, 8)}`
        const gates = new Gatekeeper()
        let generation = 0
        const spawnProcess = () => {
          const name = `w${scenarios}x${generation++}`
          return startProcess({
            name,
            store,
            prefix,
            agent: scenarioAgent(name, scenario.turns, gates),
            leaseTtlMs,
          })
        }
        const live: WorkerProcess[] = [await spawnProcess(), await spawnProcess()]
        const all = [...live]
        const ops: Array<{ via: string; done: Promise<unknown> }> = []
        const outcomes: string[] = []
        const failures: unknown[] = []
        /** Answers and cancels the run refused: legal only for a run that ended otherwise first. */
        const refused: Array<{ what: string; error: unknown }> = []
        const answered = new Set<string>()

        const first = live[0] as WorkerProcess
        const handle = await first.runtime.spawn('scenario', 'go', { runId })
        const following = (signal: AbortSignal) => observer.stream(runId, { signal })
        const readers = [
          read('in-process handle.parts()', (signal) => handle.parts({ signal }), first.name),
          read('runtime.stream over NATS', following),
          read('SSE (HTTP app)', (signal) =>
            (async function* () {
              const response = await app.request(`/runs/${runId}/stream`, { signal })
              expect(response.status).toBe(200)
              yield* sseParts(response)
            })(),
          ),
          read('NATS client', (signal) => client.events(runId, { signal })),
        ]
        const natsReader = readers[3] as Reader
        let late: Reader | undefined
        /** What a failure report needs: the run, the workers, the calls, the answers, every reader. */
        const dump = async () =>
          [
            `record ${JSON.stringify(await store.getRun(runId))}`,
            `lease ${JSON.stringify(await store.getLease(runId))}`,
            `active ${live.map((process) => `${process.name}:${process.runtime.isActive(runId)}`)}`,
            `calls ${JSON.stringify(gates.calls.map((call) => [call.worker, call.kind, call.id, call.done, gates.stale.has(call.id)]))}`,
            `ops ${outcomes.join('; ')}`,
            `journal ${JSON.stringify((await store.read(runId)).map((entry) => entry.data))}`,
            ...[...readers, ...(late ? [late] : [])].map(
              (reader) => `${reader.name}:\n  ${reader.trace.join('\n  ')}`,
            ),
          ].join('\n')
        const check = async <T>(what: string, work: () => T | Promise<T>): Promise<T> => {
          try {
            return await work()
          } catch (error) {
            throw new Error(`${what}: ${String(error)}\n${await dump()}`)
          }
        }

        // Every reader follows from the start: subscribed (the SUB is at the server) before the first
        // model part goes out. A reader that joins later is checked below for what it can promise.
        await waitFor(() => readers.every((reader) => reader.parts.length > 0), 'every reader to start')
        for (const connection of connections) await connection.flush()

        const owner = () => live.find((process) => process.runtime.isActive(runId))
        /** Requests seen on NATS, not answered yet by this test. */
        const requests = () =>
          natsReader.parts.flatMap(
            (part): Array<{ id: string; kind: 'approval' | 'question' }> =>
              part.type === 'tool-approval-request' && !answered.has(part.toolCallId)
                ? [{ id: part.toolCallId, kind: 'approval' }]
                : part.type === 'data-vel-human-request' && !answered.has(String(part.id))
                  ? [{ id: String(part.id), kind: 'question' }]
                  : [],
          )
        const track = (via: string, what: string, work: Promise<unknown>) => {
          const entry = outcomes.push(`${via} ${what}: pending`) - 1
          const crashesBefore = crashes
          const done = work.then(
            () => {
              outcomes[entry] = `${via} ${what}: ok`
            },
            (error: unknown) => {
              outcomes[entry] = `${via} ${what}: ${String(error)}`
              if (isRefusal(error)) refused.push({ what, error })
              // A request the client sent to a worker that then died gets no reply: the caller
              // would try again (the run goes on either way).
              else if (
                TransportError.isInstance(error) &&
                error.reason === 'timeout' &&
                crashes > crashesBefore
              )
                return
              else failures.push({ via, error })
            },
          )
          ops.push({ via, done })
        }
        /** Who a decision goes through: a worker's runtime (0, 1), the NATS client (2), a worker's HTTP app (3). */
        const through = (via: number) => {
          const process = live[via % live.length] as WorkerProcess
          if (via === 2) return { name: 'client', target: client }
          return { name: process.name, target: via === 3 ? overHttp(process.runtime) : process.runtime }
        }
        /** Answers the first request seen on NATS, the moment it is seen. */
        const answer = (via: number, yes: boolean) => {
          const request = requests()[0]
          if (request === undefined) return
          answered.add(request.id)
          const { name, target } = through(via)
          decisions[via] = (decisions[via] ?? 0) + 1
          const text = yes ? 'yes' : 'no'
          if (request.kind === 'question')
            track(name, `respond ${request.id} (${via})`, target.respond(runId, request.id, text))
          else if (yes)
            track(name, `approve ${request.id} (${via})`, target.approve(runId, request.id, { by: 'test' }))
          else track(name, `deny ${request.id} (${via})`, target.deny(runId, request.id, { reason: 'no' }))
        }
        const cancel = (via: number) => {
          const { name, target } = through(via)
          track(name, `cancel (${via})`, target.cancel(runId, 'test'))
        }
        /** Everything the workers published is at the readers (NATS keeps order per connection). */
        const delivered = async () => {
          for (const process of live) await process.connection.flush()
          for (const connection of connections) await connection.flush()
        }
        const recoverElsewhere = async (to: number, not?: WorkerProcess) => {
          const others = live.filter((process) => process !== not)
          await (others[to % others.length] as WorkerProcess).runtime.recover()
        }

        for (const [index, action] of scenario.actions.entries()) {
          if (scenario.cancel?.at === index) cancel(scenario.cancel.via)
          if (scenario.lateJoin === index) late = read('a reader that joins late (runtime.stream)', following)
          switch (action.kind) {
            case 'model':
              for (let part = 0; part < action.parts; part++) gates.newest('model')?.grant()
              break
            case 'tool':
              gates.newest('tool')?.grant(action.ok)
              break
            case 'answer':
              answer(action.via, action.yes)
              break
            case 'settle':
              await ticks(action.ticks)
              break
            case 'lease-loss': {
              // Another worker takes the run: the owner's lease is freed under it and recover() runs.
              const holder = owner()
              const lease = await store.getLease(runId)
              if (holder === undefined || lease === undefined) break
              leaseLosses += 1
              await delivered()
              gates.supersede(holder.name)
              await store.releaseLease(lease)
              if ((await store.getRun(runId))?.status === 'running') await recoverElsewhere(action.to, holder)
              break
            }
            case 'crash': {
              // The owner (or, with none, a worker) dies; its lease runs out; another recovers.
              const victim = owner() ?? (live[action.to % live.length] as WorkerProcess)
              crashes += 1
              await delivered()
              await victim.crash()
              gates.dead.add(victim.name)
              live.splice(live.indexOf(victim), 1)
              for (const reader of readers) if (reader.process === victim.name) reader.abort.abort()
              const lease = await store.getLease(runId)
              if (lease?.ownerId === victim.name) await store.releaseLease(lease)
              const replacement = await spawnProcess()
              live.push(replacement)
              all.push(replacement)
              if ((await store.getRun(runId))?.status === 'running') await recoverElsewhere(action.to)
              break
            }
          }
        }

        // Then let everything run out: grant every step, answer every request, recover an orphan.
        const terminal = ['completed', 'failed', 'cancelled']
        await check('the run did not end', () =>
          waitFor(async () => {
            const record = await store.getRun(runId)
            if (record && terminal.includes(record.status)) return true
            gates.newest('model')?.grant()
            gates.newest('tool')?.grant(true)
            // Every way in takes its turn (a worker's runtime, the NATS client, a worker's HTTP app).
            if (requests().length > 0) answer(scenarios % 4, true)
            if (
              record?.status === 'running' &&
              owner() === undefined &&
              (await store.getLease(runId)) === undefined
            )
              await (live[0] as WorkerProcess).runtime.recover()
            return false
          }, `run ${runId} to end`),
        )
        const alive = readers.filter(
          (reader) => reader.process === undefined || !gates.dead.has(reader.process),
        )
        const lateReader = late ?? read('a reader that joins after the end', following)
        late = lateReader
        await check('a reader did not end', () =>
          waitFor(() => [...alive, lateReader].every((reader) => reader.ended), 'every reader to end'),
        )
        await Promise.all(
          ops
            .filter((op) => op.via === 'client' || live.some((process) => process.name === op.via))
            .map((op) => op.done),
        )
        const record = await store.getRun(runId)
        await check('an answer or a cancel failed', () => expect(failures).toEqual([]))
        // Each request was answered once, when seen: only a run that was cancelled (or, for a
        // cancel, ended) first may refuse it.
        for (const { what, error } of refused)
          if (
            !(
              record?.status === 'cancelled' ||
              (what.startsWith('cancel') && terminal.includes(record?.status ?? ''))
            )
          )
            await check(`${what} refused by a run that ended ${record?.status}`, () => {
              throw error
            })

        const messages: Array<[string, UIMessage | undefined]> = []
        for (const reader of [...alive, lateReader])
          await check(`${reader.name} saw a malformed stream`, async () => {
            expect(reader.failure).toBeUndefined()
            assertWellFormedStream(reader.parts)
            assertStepsInOrder(reader.parts)
            expect(reader.parts.at(-1)?.type).toBe('finish')
            messages.push([reader.name, await assemble(reader.parts)])
          })
        const [, expected] = messages[0] as [string, UIMessage | undefined]
        const lastText = (message: UIMessage | undefined) =>
          (message?.parts ?? []).flatMap((part) => (part.type === 'text' ? [part.text] : [])).at(-1)
        for (const [name, message] of messages) {
          // A reader that joined late may lack the partial block of an attempt a takeover
          // abandoned (never journaled, so only readers that watched it live have it).
          if (name === lateReader.name) continue
          await check(`${name} assembled another message than ${messages[0]?.[0]}`, () =>
            expect(message).toEqual(expected),
          )
        }
        // A completed run's answer is every reader's last text, the late one's too.
        if (record?.status === 'completed')
          for (const [name, message] of messages)
            await check(`${name} ends with another text than the answer`, () =>
              expect(lastText(message)).toBe(record.answer),
            )
        for (const process of all) if (process.alive) stopped.push(process)
        for (const process of stopped.splice(0)) await process.close()
      }),
      { numRuns, seed, endOnFailure: true },
    )
    expect(scenarios).toBeGreaterThanOrEqual(numRuns)
    console.info(
      `[interleavings] ${scenarios} scenarios, ${crashes} crashes, ${leaseLosses} lease losses; answers through runtimes ${(decisions[0] ?? 0) + (decisions[1] ?? 0)}, NATS client ${decisions[2]}, HTTP ${decisions[3]}`,
    )
  }, 120_000)
})
