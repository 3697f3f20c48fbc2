import { randomUUID } from 'node:crypto'
import {
  decodeRunState,
  emptyRunState,
  interruptedToolCalls,
  type JournalEntry,
  type JsonObject,
  type JsonValue,
  type Lease,
  type Message,
  messagesForModel,
  RunError,
  type RunEvent,
  type RunInput,
  type RunPolicy,
  type RunRecord,
  type RunState,
  resumeCommands,
  type Store,
  type StreamPart,
  step,
  toMessages,
} from '@vel/core'
import type { Agent, ResolvedAgent } from './agent.ts'
import { type Bus, createInProcessBus } from './bus.ts'
import { answerOf, RunChannel } from './run-channel.ts'
import { DriverClosedError, type DriverHost, RunDriver } from './run-driver.ts'

/** Options of `spawn`, `agent.run`, `agent.stream` and `agent.start`. */
export interface SpawnOptions {
  /** Conversation this run continues; its history is loaded at start and the run appended at the end. */
  readonly sessionId?: string
  /** Use this id instead of a random one. */
  readonly runId?: string
  /** A second spawn with the same key (per agent) returns the first run instead of starting another. */
  readonly idempotencyKey?: string
  readonly parentRunId?: string
  /** Stored on the run's index row (e.g. the principal that started it). */
  readonly metadata?: JsonObject
  /** Epoch ms by which the run must end (a parent passes its own so the tree shares one budget). */
  readonly deadline?: number
  /** Keep the run's stream parts for `handle.parts()` (default true for `start`/`stream`). */
  readonly stream?: boolean
}

/** A running (or finished, or waiting) run, as seen by the code that started or resumed it. */
export interface RunHandle {
  readonly runId: string
  /** The answer; rejects with a `RunError` if the run fails or is cancelled. */
  readonly result: Promise<JsonValue>
  /** UI message stream parts, from the start of this handle, ending with `finish`. */
  parts(): AsyncIterable<StreamPart>
  cancel(reason?: string): Promise<void>
  approve(toolCallId: string, options?: DecisionOptions): Promise<void>
  deny(toolCallId: string, options?: DecisionOptions): Promise<void>
  /** Answers a `contactHuman` question. */
  respond(requestId: string, answer: JsonValue, options?: { readonly by?: string }): Promise<void>
}

/** Who decided and why; recorded in the journal. */
export interface DecisionOptions {
  readonly reason?: string
  readonly by?: string
}

/** A run as stored: its index row, its state and the messages its next model call would get. */
export interface RunInfo {
  readonly record: RunRecord
  readonly state: RunState
  /** Factor 2: exactly what the next model call receives (empty once the run has ended). */
  readonly nextMessages: ReadonlyArray<Message>
}

/** Options of `createRuntime`. */
export interface RuntimeOptions {
  readonly store: Store
  readonly bus?: Bus
  readonly agents: ReadonlyArray<Agent>
  /** Identifies this worker in leases. Default: random. */
  readonly ownerId?: string
  /** Lease time-to-live; renewed every third of it. Default 30 s. */
  readonly leaseTtlMs?: number
  /** Clock (epoch ms), for tests. */
  readonly now?: () => number
  /** Errors with no caller to go to. Default: `console.error`. */
  readonly onError?: (error: unknown, runId: string) => void
}

/** Runs agents as actors over a store and a bus. */
export interface Runtime {
  readonly store: Store
  readonly bus: Bus
  readonly ownerId: string
  /** Adds an agent definition (and binds `agent.run` to this runtime). */
  register(agent: Agent): void
  /** Starts a run of an agent. Resolves once `run.started` is journaled. */
  spawn(agentId: string, input: RunInput, options?: SpawnOptions): Promise<RunHandle>
  /** Takes over a run from the store (after a crash or on another worker) and continues it. */
  resume(runId: string, options?: { readonly stream?: boolean }): Promise<RunHandle>
  /** Resumes every unfinished run whose lease expired, and schedules approval timeouts. */
  recover(): Promise<string[]>
  /** Index row, state and next model messages of any run, in memory or not. */
  get(runId: string): Promise<RunInfo>
  /** The run's journal (Factor 5: the event log is the state). */
  journal(
    runId: string,
    options?: { readonly afterSeq?: number; readonly limit?: number },
  ): Promise<JournalEntry[]>
  /**
   * The run's journal from `afterSeq`, then each new entry as it is appended, until the run ends.
   * Entries appended by this process arrive at once; a run owned by another process is polled.
   */
  follow(
    runId: string,
    options?: { readonly afterSeq?: number; readonly pollMs?: number; readonly signal?: AbortSignal },
  ): AsyncIterable<JournalEntry>
  /** A handle for any run; `parts()` shows what happens from now on. */
  handle(runId: string): RunHandle
  approve(runId: string, toolCallId: string, options?: DecisionOptions): Promise<void>
  deny(runId: string, toolCallId: string, options?: DecisionOptions): Promise<void>
  respond(
    runId: string,
    requestId: string,
    answer: JsonValue,
    options?: { readonly by?: string },
  ): Promise<void>
  cancel(runId: string, reason?: string): Promise<void>
  /** Whether this process holds the run in memory right now. */
  isActive(runId: string): boolean
  /** Runs held in memory right now (waiting runs are not). */
  readonly activeRuns: number
  /**
   * Stops taking work, stops model calls, lets running tools finish (for up to `graceMs`, default
   * 10 s, then aborts them) and releases every run, resumable by `recover()` here or elsewhere.
   */
  shutdown(options?: { readonly graceMs?: number }): Promise<void>
}

/**
 * The channels of runs watched in this process. A passivated run's channel is held weakly: it
 * lives as long as a handle does, so runs that nobody in this process awaits hold no memory.
 */
class ChannelTable {
  private readonly live = new Map<string, RunChannel>()
  private readonly parked = new Map<string, WeakRef<RunChannel>>()
  private readonly registry = new FinalizationRegistry<string>((runId) => {
    if (this.parked.get(runId)?.deref() === undefined) this.parked.delete(runId)
  })

  get(runId: string): RunChannel | undefined {
    return this.live.get(runId) ?? this.parked.get(runId)?.deref()
  }

  set(runId: string, channel: RunChannel): void {
    this.parked.delete(runId)
    this.live.set(runId, channel)
  }

  delete(runId: string): void {
    this.live.delete(runId)
    this.parked.delete(runId)
  }

  /** Holds the channel weakly and drops its buffered parts. */
  park(runId: string): void {
    const channel = this.live.get(runId)
    if (channel === undefined) return
    channel.trim()
    this.live.delete(runId)
    this.parked.set(runId, new WeakRef(channel))
    this.registry.register(channel, runId)
  }
}

/** The run's policy with the earlier of its own time budget and the one it was given. */
const withDeadline = (
  policy: Partial<RunPolicy>,
  maxDurationMs: number | undefined,
  given: number | undefined,
  now: number,
) => {
  const own = maxDurationMs === undefined ? undefined : now + maxDurationMs
  const deadline = own === undefined ? given : given === undefined ? own : Math.min(own, given)
  return deadline === undefined ? policy : { ...policy, deadline }
}

/** Creates a runtime. */
export function createRuntime(options: RuntimeOptions): Runtime {
  return new VelRuntime(options)
}

class VelRuntime implements Runtime, DriverHost {
  readonly store: Store
  readonly bus: Bus
  readonly ownerId: string
  readonly now: () => number
  private readonly leaseTtlMs: number
  private readonly agents = new Map<string, Agent>()
  private readonly drivers = new Map<string, RunDriver>()
  private readonly channels = new ChannelTable()
  private readonly rehydrating = new Map<string, Promise<RunDriver>>()
  private readonly expiries = new Map<string, ReturnType<typeof setTimeout>>()
  private readonly followers = new Map<string, Set<() => void>>()
  private readonly onError: (error: unknown, runId: string) => void
  private renewTimer: ReturnType<typeof setInterval> | undefined
  private stopped = false

  constructor(options: RuntimeOptions) {
    this.store = options.store
    this.bus = options.bus ?? createInProcessBus()
    this.ownerId = options.ownerId ?? `worker-${randomUUID()}`
    this.leaseTtlMs = options.leaseTtlMs ?? 30_000
    this.now = options.now ?? Date.now
    this.onError = options.onError ?? ((error, runId) => console.error(`[vel] run ${runId}:`, error))
    for (const agent of options.agents) this.register(agent)
  }

  isActive(runId: string): boolean {
    return this.drivers.get(runId)?.active === true
  }

  get activeRuns(): number {
    return this.drivers.size
  }

  register(agent: Agent): void {
    const known = this.agents.get(agent.id)
    if (known !== undefined && known !== agent)
      throw new TypeError(`two different agents are named '${agent.id}'`)
    this.agents.set(agent.id, agent)
    agent.attach(this)
    for (const child of agent.options.children ?? [])
      if (this.agents.get(child.id) !== child) this.register(child)
  }

  // DriverHost
  channel(runId: string): RunChannel | undefined {
    return this.channels.get(runId)
  }
  released(driver: RunDriver, reason: 'finished' | 'passivated' | 'abandoned' | 'drained'): void {
    if (this.drivers.get(driver.runId) === driver) this.drivers.delete(driver.runId)
    if (reason === 'finished' || reason === 'abandoned') this.channels.delete(driver.runId)
    else this.channels.park(driver.runId)
    if (reason === 'finished') this.clearExpiries(driver.runId)
    if (this.drivers.size === 0 && this.renewTimer !== undefined) {
      clearInterval(this.renewTimer)
      this.renewTimer = undefined
    }
  }
  journaled(runId: string): void {
    const wakers = this.followers.get(runId)
    if (wakers) for (const wake of wakers) wake()
  }
  scheduleExpiry(runId: string, requestId: string, expiresAt: number): void {
    const key = `${runId}\u0000${requestId}`
    if (this.expiries.has(key) || this.stopped) return
    const timer = setTimeout(
      () => {
        this.expiries.delete(key)
        this.deny(runId, requestId, { reason: 'approval timed out', by: 'vel:timeout' }).catch(
          (error: unknown) => {
            if (!RunError.isInstance(error) || error.reason !== 'invalid-state') this.report(error, runId)
          },
        )
      },
      Math.max(0, expiresAt - this.now()),
    )
    timer.unref?.()
    this.expiries.set(key, timer)
  }
  report(error: unknown, runId: string): void {
    this.onError(error, runId)
  }

  private clearExpiries(runId: string): void {
    for (const [key, timer] of this.expiries) {
      if (key.startsWith(`${runId}\u0000`)) {
        clearTimeout(timer)
        this.expiries.delete(key)
      }
    }
  }

  private async resolveAgent(agentId: string): Promise<ResolvedAgent> {
    const agent = this.agents.get(agentId)
    if (agent === undefined)
      throw new RunError('not-found', `no agent '${agentId}' is registered in this runtime`)
    return agent.resolve()
  }

  private watch(runId: string, buffer: boolean): RunChannel {
    let channel = this.channels.get(runId)
    if (channel === undefined) {
      channel = new RunChannel({ buffer })
      this.channels.set(runId, channel)
    }
    return channel
  }

  private adopt(driver: RunDriver): void {
    this.drivers.set(driver.runId, driver)
    if (this.renewTimer === undefined) {
      this.renewTimer = setInterval(() => void this.renewLeases(), Math.max(10, this.leaseTtlMs / 3))
      this.renewTimer.unref?.()
    }
  }

  private async renewLeases(): Promise<void> {
    await Promise.all(
      [...this.drivers.values()].map(async (driver) => {
        try {
          const lease = await this.store.renewLease(driver.lease, this.leaseTtlMs)
          if (lease) driver.lease = lease
          else driver.abandon()
        } catch (error) {
          this.report(error, driver.runId)
        }
      }),
    )
  }

  async spawn(agentId: string, input: RunInput, options: SpawnOptions = {}): Promise<RunHandle> {
    if (this.stopped) throw new RunError('invalid-state', 'the runtime is shut down')
    const agent = await this.resolveAgent(agentId)
    if (options.idempotencyKey !== undefined) {
      const existing = await this.store.findRunByIdempotencyKey(agentId, options.idempotencyKey)
      if (existing) return this.handle(existing.runId)
    }
    const runId = options.runId ?? randomUUID()
    const sessionId = options.sessionId ?? null
    await this.store.createRun({
      runId,
      agentId,
      sessionId,
      parentRunId: options.parentRunId ?? null,
      idempotencyKey: options.idempotencyKey ?? null,
      status: 'running',
      metadata: options.metadata ?? {},
    })
    const lease = await this.acquire(runId)
    const history = sessionId === null ? [] : ((await this.store.getSession(sessionId))?.messages ?? [])
    const channel = this.watch(runId, options.stream ?? true)
    const driver = new RunDriver(this, agent, emptyRunState, 0, lease, runId)
    this.adopt(driver)
    await driver.dispatch({
      type: 'run.started',
      runId,
      agentId,
      sessionId,
      parentRunId: options.parentRunId ?? null,
      ...(agent.instructions === undefined ? {} : { instructions: agent.instructions }),
      history,
      input: toMessages(input),
      policy: withDeadline(agent.policy, agent.maxDurationMs, options.deadline, this.now()),
      at: this.now(),
    })
    return this.makeHandle(runId, channel)
  }

  private async acquire(runId: string): Promise<Lease> {
    const lease = await this.store.acquireLease(runId, this.ownerId, this.leaseTtlMs)
    if (lease === undefined)
      throw new RunError('invalid-state', `run ${runId} is owned by another worker`, { runId })
    return lease
  }

  handle(runId: string): RunHandle {
    const channel = this.watch(runId, false)
    // A run that already ended (or lives elsewhere) is settled from the store, not by a driver here.
    if (!this.drivers.get(runId)?.active) void this.settleFromStore(runId, channel)
    return this.makeHandle(runId, channel)
  }

  private async settleFromStore(runId: string, channel: RunChannel): Promise<void> {
    try {
      const record = await this.store.getRun(runId)
      if (record === undefined) {
        channel.finish({
          phase: 'failed',
          error: { tag: 'RunError', reason: 'not-found', message: `no run ${runId}`, retryable: false },
        })
        this.channels.delete(runId)
      } else if (record.status === 'completed') channel.finish({ phase: 'completed', answer: record.answer })
      else if (record.status === 'failed')
        channel.finish({
          phase: 'failed',
          error: record.error ?? { tag: 'RunError', reason: 'unknown', message: 'failed', retryable: false },
        })
      else if (record.status === 'cancelled') channel.finish({ phase: 'cancelled', reason: 'cancelled' })
      else if (!this.drivers.get(runId)?.active) this.channels.park(runId)
      if (
        record &&
        record.status !== 'running' &&
        record.status !== 'waiting' &&
        this.channels.get(runId) === channel
      )
        this.channels.delete(runId)
    } catch (error) {
      this.report(error, runId)
    }
  }

  private makeHandle(runId: string, channel: RunChannel): RunHandle {
    const result = channel.outcome.promise.then((outcome) => answerOf(outcome, runId))
    // Callers that only stream never look at `result`: keep its rejection from being unhandled.
    result.catch(() => undefined)
    return {
      runId,
      result,
      parts: () => channel.parts(),
      cancel: (reason) => this.cancel(runId, reason),
      approve: (toolCallId, options) => this.approve(runId, toolCallId, options),
      deny: (toolCallId, options) => this.deny(runId, toolCallId, options),
      respond: (requestId, answer, options) => this.respond(runId, requestId, answer, options),
    }
  }

  /** Loads state from the snapshot and the journal tail. */
  private async load(runId: string): Promise<{ record: RunRecord; state: RunState; seq: number }> {
    const record = await this.store.getRun(runId)
    if (record === undefined) throw new RunError('not-found', `no run ${runId}`, { runId })
    const snapshot = await this.store.getSnapshot(runId)
    let state = snapshot ? decodeRunState(snapshot.state, snapshot.schemaVersion) : emptyRunState
    let seq = snapshot?.seq ?? 0
    for (const entry of await this.store.read(runId, { afterSeq: seq })) {
      state = step(state, entry.data as unknown as RunEvent)[0]
      seq = entry.seq
    }
    return { record, state, seq }
  }

  /** Brings a run into memory (one load at a time per run) and restarts its executors. */
  private rehydrate(runId: string, republish: boolean): Promise<RunDriver> {
    const existing = this.drivers.get(runId)
    if (existing?.active) return Promise.resolve(existing)
    let pending = this.rehydrating.get(runId)
    if (pending === undefined) {
      pending = this.doRehydrate(runId, republish).finally(() => this.rehydrating.delete(runId))
      this.rehydrating.set(runId, pending)
    }
    return pending
  }

  private async doRehydrate(runId: string, republish: boolean): Promise<RunDriver> {
    if (this.stopped) throw new RunError('invalid-state', 'the runtime is shut down')
    const record = await this.store.getRun(runId)
    if (record === undefined) throw new RunError('not-found', `no run ${runId}`, { runId })
    const agent = await this.resolveAgent(record.agentId)
    const lease = await this.acquire(runId)
    try {
      const { record, state, seq } = await this.load(runId)
      if (state.phase === 'completed' || state.phase === 'failed' || state.phase === 'cancelled') {
        // The process died between journaling the end and updating the index: finish the bookkeeping.
        if (record.status === 'running' || record.status === 'waiting') {
          await this.store.updateRun(runId, {
            status: state.phase,
            answer: state.answer,
            error: state.error,
            pending: [],
          })
          if (state.sessionId !== null && state.phase === 'completed')
            await this.store.appendSession(state.sessionId, state.messages.slice(state.priorCount))
          this.channels
            .get(runId)
            ?.finish(
              state.phase === 'completed'
                ? { phase: 'completed', answer: state.answer }
                : state.phase === 'failed' && state.error
                  ? { phase: 'failed', error: state.error }
                  : { phase: 'cancelled', reason: 'cancelled' },
            )
        }
        throw new RunError('invalid-state', `run ${runId} is ${state.phase}`, { runId })
      }
      if (state.phase === 'idle') {
        // The process died between creating the run and journaling its start: nothing ran.
        const error = new RunError(
          'corrupted',
          `run ${runId} never started: its worker stopped before run.started`,
          {
            runId,
          },
        )
        await this.store.updateRun(runId, { status: 'failed', error: error.toJSON(), pending: [] })
        this.channels.get(runId)?.finish({ phase: 'failed', error: error.toJSON() })
        throw new RunError('invalid-state', error.message, { runId })
      }
      const driver = new RunDriver(this, agent, state, seq, lease, runId)
      this.adopt(driver)
      // Calls that started without a result: re-run (safe tools) or resolve as unknown (unsafe).
      const commands = resumeCommands(state)
      for (const toolCallId of interruptedToolCalls(state))
        await driver.dispatch({ type: 'tool.interrupted', toolCallId })
      // Human requests are published again only when resuming, not when an answer brings the run back.
      driver.resume(
        republish
          ? commands
          : commands.filter((command) => command.type === 'call-model' || command.type === 'call-tool'),
      )
      return driver
    } catch (error) {
      await this.store.releaseLease(lease).catch(() => undefined)
      throw error
    }
  }

  async resume(runId: string, options: { readonly stream?: boolean } = {}): Promise<RunHandle> {
    const channel = this.watch(runId, options.stream ?? true)
    await this.rehydrate(runId, true)
    return this.makeHandle(runId, channel)
  }

  async recover(): Promise<string[]> {
    const resumed: string[] = []
    let cursor: string | undefined
    do {
      const page = await this.store.listRuns(
        { status: ['running', 'waiting'] },
        cursor === undefined ? { limit: 200 } : { cursor, limit: 200 },
      )
      for (const record of page.items) {
        if (this.drivers.has(record.runId) || !this.agents.has(record.agentId)) continue
        if (record.status === 'waiting') {
          for (const request of record.pending as unknown as Array<{
            requestId: string
            expiresAt?: number
          }>) {
            if (request.expiresAt !== undefined)
              this.scheduleExpiry(record.runId, request.requestId, request.expiresAt)
          }
          continue
        }
        const lease = await this.store.getLease(record.runId)
        if (lease !== undefined && lease.expiresAt > this.now()) continue
        try {
          await this.rehydrate(record.runId, true)
          resumed.push(record.runId)
        } catch (error) {
          if (!RunError.isInstance(error) || error.reason !== 'invalid-state')
            this.report(error, record.runId)
        }
      }
      cursor = page.nextCursor
    } while (cursor !== undefined)
    return resumed
  }

  async get(runId: string): Promise<RunInfo> {
    const live = this.drivers.get(runId)
    const { record, state } = await this.load(runId)
    const current = live?.active ? live.state : state
    const agent = this.agents.get(record.agentId)
    const resolved = agent ? await agent.resolve() : undefined
    const ended = current.phase === 'completed' || current.phase === 'failed' || current.phase === 'cancelled'
    return {
      record,
      state: current,
      nextMessages: ended ? [] : messagesForModel(current, resolved?.contexts),
    }
  }

  journal(
    runId: string,
    options: { readonly afterSeq?: number; readonly limit?: number } = {},
  ): Promise<JournalEntry[]> {
    return this.store.read(runId, options)
  }

  async *follow(
    runId: string,
    options: { readonly afterSeq?: number; readonly pollMs?: number; readonly signal?: AbortSignal } = {},
  ): AsyncGenerator<JournalEntry> {
    let afterSeq = options.afterSeq ?? 0
    let wake: (() => void) | undefined
    let dirty = true
    const waker = () => {
      dirty = true
      wake?.()
    }
    const wakers = this.followers.get(runId) ?? new Set()
    wakers.add(waker)
    this.followers.set(runId, wakers)
    const onAbort = () => waker()
    options.signal?.addEventListener('abort', onAbort)
    try {
      if ((await this.store.getRun(runId)) === undefined)
        throw new RunError('not-found', `no run ${runId}`, { runId })
      while (!options.signal?.aborted) {
        if (dirty) {
          dirty = false
          const entries = await this.store.read(runId, { afterSeq })
          for (const entry of entries) {
            afterSeq = entry.seq
            yield entry
          }
          const record = await this.store.getRun(runId)
          const ended =
            record === undefined ||
            record.status === 'completed' ||
            record.status === 'failed' ||
            record.status === 'cancelled'
          if (ended && (await this.store.lastSeq(runId)) <= afterSeq) return
          continue
        }
        await new Promise<void>((resolve) => {
          // Poll too: another process may own the run.
          const timer = setTimeout(() => {
            dirty = true
            resolve()
          }, options.pollMs ?? 250)
          timer.unref?.()
          wake = () => {
            clearTimeout(timer)
            resolve()
          }
        })
        wake = undefined
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort)
      wakers.delete(waker)
      if (wakers.size === 0) this.followers.delete(runId)
    }
  }

  /**
   * Delivers an event from a caller: to the live driver, or to a run rehydrated for it. An answer
   * for a request raised deeper in a tree of runs (agents used as tools) goes to the run that asked.
   */
  private async deliver(runId: string, event: RunEvent): Promise<void> {
    if (event.type === 'approval.decided' || event.type === 'human.responded') {
      const requestId = event.type === 'approval.decided' ? event.toolCallId : event.requestId
      runId = (await this.findRequester(runId, requestId)) ?? runId
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const driver = await this.rehydrate(runId, false)
      try {
        await driver.dispatch(event, true)
        return
      } catch (error) {
        // The driver passivated or finished between lookup and delivery: load it again.
        if (!(error instanceof DriverClosedError)) throw error
      }
    }
    throw new RunError('invalid-state', `run ${runId} kept changing hands; try again`, { runId })
  }

  /** The run in the tree under `runId` whose state waits on `requestId` (breadth first). */
  private async findRequester(runId: string, requestId: string): Promise<string | undefined> {
    const queue = [runId]
    for (let visited = 0; queue.length > 0 && visited < 1000; visited++) {
      const current = queue.shift() as string
      const live = this.drivers.get(current)
      const state = live?.active ? live.state : (await this.load(current).catch(() => undefined))?.state
      if (state?.toolCalls.some((call) => call.toolCallId === requestId && call.status !== 'done'))
        return current
      const children = await this.store.listRuns(
        { parentRunId: current, status: ['running', 'waiting'] },
        { limit: 100 },
      )
      for (const child of children.items) queue.push(child.runId)
    }
    return undefined
  }

  approve(runId: string, toolCallId: string, options: DecisionOptions = {}): Promise<void> {
    return this.deliver(runId, { type: 'approval.decided', toolCallId, approved: true, ...options })
  }

  deny(runId: string, toolCallId: string, options: DecisionOptions = {}): Promise<void> {
    return this.deliver(runId, { type: 'approval.decided', toolCallId, approved: false, ...options })
  }

  respond(
    runId: string,
    requestId: string,
    answer: JsonValue,
    options: { readonly by?: string } = {},
  ): Promise<void> {
    return this.deliver(runId, { type: 'human.responded', requestId, answer, ...options })
  }

  cancel(runId: string, reason?: string): Promise<void> {
    return this.deliver(runId, { type: 'run.cancelled', ...(reason === undefined ? {} : { reason }) })
  }

  async shutdown(options: { readonly graceMs?: number } = {}): Promise<void> {
    this.stopped = true
    for (const timer of this.expiries.values()) clearTimeout(timer)
    this.expiries.clear()
    const drivers = [...this.drivers.values()]
    let timer: ReturnType<typeof setTimeout> | undefined
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.graceMs ?? 10_000)
    })
    await Promise.race([Promise.all(drivers.map((driver) => driver.drain())), grace])
    clearTimeout(timer)
    // Tools still running after the grace period are aborted; their runs resume elsewhere.
    await Promise.all(drivers.filter((driver) => driver.active).map((driver) => driver.halt()))
    if (this.renewTimer !== undefined) clearInterval(this.renewTimer)
    this.renewTimer = undefined
  }
}
