import { randomUUID } from 'node:crypto'
import {
  type CreatedRun,
  comparePositions,
  decodeRunState,
  defaultPrices,
  emptyRunState,
  followsDirectly,
  forReplay,
  type JournalEntry,
  type JsonValue,
  type Lease,
  type ModelPrice,
  messagesForModel,
  type NewRun,
  newRunId,
  type PositionedPart,
  type PriceTable,
  positionReplayed,
  priceFor,
  RunError,
  type RunEvent,
  type RunInput,
  type RunPolicy,
  type RunRecord,
  type RunState,
  StoreError,
  StreamCursor,
  type StreamPart,
  step,
  toMessages,
} from '@vel/core'
import type { Agent } from './agent.ts'
import type { ResolvedAgent } from './agent-resolve.ts'
import { type Bus, createInProcessBus } from './bus.ts'
import { Outlet, type OutletSignal } from './outlet.ts'
import type { AcquiredRun, OwnerHost } from './owner-host.ts'
import type { RunObserver } from './run-observer.ts'
import { answerOf, outcomeOf, type RunOutcome } from './run-outcome.ts'
import { RunOwner } from './run-owner.ts'
import type {
  DecisionOptions,
  RunHandle,
  RunInfo,
  Runtime,
  RuntimeOptions,
  SpawnOptions,
  StreamOptions,
} from './runtime-types.ts'
import { type RunIdentity, Telemetry } from './telemetry.ts'

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

const isEnded = (state: RunState) =>
  state.phase === 'completed' || state.phase === 'failed' || state.phase === 'cancelled'

/** Thrown inside the runtime when another live worker holds a run's lease. */
class OwnedElsewhere extends Error {
  constructor(readonly lease: Lease | undefined) {
    super('owned by another worker')
  }
}

interface Deferred {
  readonly promise: Promise<RunOutcome>
  resolve(outcome: RunOutcome): void
}

const deferred = (): Deferred => {
  let resolve!: (outcome: RunOutcome) => void
  const promise = new Promise<RunOutcome>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

const heldOutcome = Symbol('vel.outcome')

/** A caller waits on it, so it keeps the process alive. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Creates a runtime. */
export function createRuntime(options: RuntimeOptions): Runtime {
  return new VelRuntime(options)
}

/**
 * The runtime: one owner per run in this process (a table filled synchronously, so `spawn`,
 * `recover`, answers and timers can never start two), the runs' outlets, lease renewal, routing of
 * answers to the run's owner, and the read side (`get`, `list`, `stream`) the adapters use.
 */
class VelRuntime implements Runtime, OwnerHost {
  readonly store: RuntimeOptions['store']
  readonly bus: Bus
  readonly ownerId: string
  readonly now: () => number
  readonly runtime: Runtime = this
  private readonly leaseTtlMs: number
  private readonly agents = new Map<string, Agent>()
  private readonly owners = new Map<string, RunOwner>()
  /** Callers waiting for a run that ended here to leave memory (its index row updated by then). */
  private readonly releaseWaiters = new Map<string, Array<() => void>>()
  private readonly outlets = new Map<string, Outlet>()
  /** The outcomes handles wait for, of runs whose owner is not here: held weakly. */
  private readonly outcomes = new Map<string, WeakRef<Deferred>>()
  /**
   * The outcomes of runs whose owner is in this process, held strongly: awaiting `handle.result`
   * keeps nothing alive, so a caller that dropped its handle (`agent.run` does) would otherwise
   * lose its result to the garbage collector while the run is still going. An outcome moves to the
   * weak table only if its owner leaves without settling it (a run that passivates).
   */
  private readonly held = new Map<string, Deferred>()
  /** Prices by `provider:modelId` (the price table is searched once per model). */
  private readonly modelPrices = new Map<string, ModelPrice | undefined>()
  private readonly forgotten = new FinalizationRegistry<string>((runId) => {
    if (this.outcomes.get(runId)?.deref() === undefined) this.outcomes.delete(runId)
  })
  /** Approval timeouts armed here, by run and request (a run's are cleared without a scan of all). */
  private readonly expiries = new Map<string, Map<string, ReturnType<typeof setTimeout>>>()
  /** Runs their caller steers by reading (`agent.stream`): the tool inputs read so far, and tools waiting for it. */
  private readonly steering = new Map<
    string,
    {
      readonly seen: Set<string>
      readonly waiting: Map<string, (go: boolean) => void>
      readonly detach: boolean
    }
  >()
  private readonly onError: (error: unknown, runId: string) => void
  private readonly prices: PriceTable
  private readonly telemetry: Telemetry
  private renewTimer: ReturnType<typeof setInterval> | undefined
  private stopped = false

  constructor(options: RuntimeOptions) {
    this.store = options.store
    this.bus = options.bus ?? createInProcessBus()
    this.ownerId = options.ownerId ?? `worker-${randomUUID()}`
    this.leaseTtlMs = options.leaseTtlMs ?? 30_000
    this.now = options.now ?? Date.now
    this.onError = options.onError ?? ((error, runId) => console.error(`[vel] run ${runId}:`, error))
    this.prices = options.prices ?? defaultPrices
    this.telemetry = new Telemetry(options.telemetry)
    for (const agent of options.agents) this.register(agent)
  }

  // --- agents

  register(agent: Agent): void {
    const known = this.agents.get(agent.id)
    if (known !== undefined && known !== agent)
      throw new TypeError(`two different agents are named '${agent.id}'`)
    this.agents.set(agent.id, agent)
    agent.attach(this)
    for (const child of agent.options.children ?? [])
      if (this.agents.get(child.id) !== child) this.register(child)
  }

  hasAgent(agentId: string): boolean {
    return this.agents.has(agentId)
  }

  agent(_runId: string, agentId: string): Promise<ResolvedAgent> {
    const agent = this.agents.get(agentId)
    if (agent === undefined)
      return Promise.reject(new RunError('not-found', `no agent '${agentId}' is registered in this runtime`))
    return agent.resolve()
  }

  // --- the table of owners

  isActive(runId: string): boolean {
    return this.owners.get(runId)?.live === true
  }

  get activeRuns(): number {
    let count = 0
    for (const owner of this.owners.values()) if (owner.live) count += 1
    return count
  }

  /** The run's owner here, created (synchronously) if there is none. */
  private ownerOf(runId: string): RunOwner {
    let owner = this.owners.get(runId)
    if (owner === undefined || owner.closed) {
      owner = new RunOwner(this, runId)
      this.owners.set(runId, owner)
      const awaited = this.outcomes.get(runId)?.deref()
      if (awaited !== undefined) this.held.set(runId, awaited)
      this.startRenewing()
    }
    return owner
  }

  released(owner: RunOwner): void {
    if (this.owners.get(owner.runId) === owner) {
      this.owners.delete(owner.runId)
      const unsettled = this.held.get(owner.runId)
      this.held.delete(owner.runId)
      if (unsettled !== undefined && this.outcomes.get(owner.runId)?.deref() !== unsettled)
        this.holdWeakly(owner.runId, unsettled)
    }
    for (const wake of this.releaseWaiters.get(owner.runId) ?? []) wake()
    this.releaseWaiters.delete(owner.runId)
    const outlet = this.outlets.get(owner.runId)
    if (outlet !== undefined && !outlet.listening) this.outlets.delete(owner.runId)
    if (this.owners.size === 0 && this.renewTimer !== undefined) {
      clearInterval(this.renewTimer)
      this.renewTimer = undefined
    }
  }

  private startRenewing(): void {
    if (this.renewTimer !== undefined) return
    this.renewTimer = setInterval(() => void this.renewLeases(), Math.max(10, this.leaseTtlMs / 3))
    this.renewTimer.unref?.()
  }

  private async renewLeases(): Promise<void> {
    await Promise.all(
      [...this.owners.values()].map(async (owner) => {
        const lease = owner.currentLease
        if (!owner.live || lease === undefined) return
        try {
          const renewed = await this.store.renewLease(lease, this.leaseTtlMs)
          if (renewed) owner.renewed(renewed)
          else owner.enqueue({ kind: 'lost' })
        } catch (error) {
          this.report(error, owner.runId)
        }
      }),
    )
  }

  outlet(runId: string): Outlet {
    let outlet = this.outlets.get(runId)
    if (outlet === undefined) {
      outlet = new Outlet((parts) => this.bus.publishParts(runId, parts))
      this.outlets.set(runId, outlet)
    }
    return outlet
  }

  // --- outcomes

  settle(runId: string, outcome: RunOutcome): void {
    this.held.get(runId)?.resolve(outcome)
    this.outcomes.get(runId)?.deref()?.resolve(outcome)
    this.outcomes.delete(runId)
    this.held.delete(runId)
  }

  private holdWeakly(runId: string, outcome: Deferred): void {
    this.outcomes.set(runId, new WeakRef(outcome))
    this.forgotten.register(outcome, runId)
  }

  /**
   * The deferred outcome of a run: held strongly while the run's owner is here, weakly otherwise
   * (a passivated run nobody holds a handle of costs nothing here).
   */
  private outcome(runId: string): Deferred {
    const here = this.owners.has(runId)
    let outcome = this.held.get(runId) ?? this.outcomes.get(runId)?.deref()
    if (outcome === undefined) {
      outcome = deferred()
      if (!here) this.holdWeakly(runId, outcome)
    }
    if (here) this.held.set(runId, outcome)
    return outcome
  }

  observe(state: RunState, agent: ResolvedAgent): RunObserver {
    return this.telemetry.resumed(
      identity(state.runId, state.agentId, state.sessionId, state.parentRunId, agent),
      state,
    )
  }

  report(error: unknown, runId: string): void {
    this.onError(error, runId)
  }

  // --- steering

  steered(runId: string, toolCallId: string): Promise<boolean> | undefined {
    const steering = this.steering.get(runId)
    if (steering === undefined) return undefined
    if (steering.seen.has(toolCallId)) return Promise.resolve(true)
    return new Promise((resolve) => steering.waiting.set(toolCallId, resolve))
  }

  /** The steering caller has read this tool call's input and asked for the next part. */
  private seen(runId: string, toolCallId: string): void {
    const steering = this.steering.get(runId)
    if (steering === undefined) return
    steering.seen.add(toolCallId)
    steering.waiting.get(toolCallId)?.(true)
    steering.waiting.delete(toolCallId)
  }

  /** The steering caller stopped reading: the run stops too, unless it detached. */
  private unsteer(runId: string, ended: boolean): void {
    const steering = this.steering.get(runId)
    if (steering === undefined) return
    this.steering.delete(runId)
    const go = ended || steering.detach
    for (const resolve of steering.waiting.values()) resolve(go)
    if (!go)
      this.cancel(runId, 'the caller stopped reading').catch((error: unknown) => {
        if (!RunError.isInstance(error) || error.reason !== 'invalid-state') this.report(error, runId)
      })
  }

  // --- approval timeouts

  scheduleExpiry(runId: string, requestId: string, expiresAt: number): void {
    const armed = this.expiries.get(runId)
    if (armed?.has(requestId) || this.stopped) return
    const timer = setTimeout(
      () => {
        const timers = this.expiries.get(runId)
        timers?.delete(requestId)
        if (timers?.size === 0) this.expiries.delete(runId)
        this.deny(runId, requestId, { reason: 'approval timed out', by: 'vel:timeout' }).catch(
          (error: unknown) => {
            if (!RunError.isInstance(error) || error.reason !== 'invalid-state') this.report(error, runId)
          },
        )
      },
      Math.max(0, expiresAt - this.now()),
    )
    timer.unref?.()
    if (armed === undefined) this.expiries.set(runId, new Map([[requestId, timer]]))
    else armed.set(requestId, timer)
  }

  clearExpiries(runId: string): void {
    const timers = this.expiries.get(runId)
    if (timers === undefined) return
    for (const timer of timers.values()) clearTimeout(timer)
    this.expiries.delete(runId)
  }

  // --- loading

  /** Snapshot plus journal tail, checked: a snapshot ahead of the journal, a gap or a rejected event is corruption. */
  private async load(runId: string): Promise<{ state: RunState; seq: number }> {
    const snapshot = await this.store.getSnapshot(runId)
    const entries = await this.store.read(runId, { afterSeq: snapshot?.seq ?? 0 })
    const last = entries.at(-1)?.seq ?? (await this.store.lastSeq(runId))
    let state = emptyRunState
    let seq = 0
    let replay = entries
    if (snapshot !== undefined) {
      try {
        if (snapshot.seq > last)
          throw new RunError(
            'corrupted',
            `snapshot at seq ${snapshot.seq} is past the journal's end (${last})`,
          )
        state = decodeRunState(snapshot.state, snapshot.schemaVersion)
        seq = snapshot.seq
      } catch (error) {
        // A bad snapshot is only a bad cache: rebuild from the whole journal if it is all there.
        state = emptyRunState
        seq = 0
        replay = await this.store.read(runId)
        if (replay[0]?.seq !== 1 && replay.length > 0)
          throw corrupted(runId, 'the journal was pruned and the snapshot is bad', error)
      }
    }
    for (const entry of replay) {
      if (entry.seq !== seq + 1)
        throw corrupted(runId, `journal gap: entry ${seq + 1} is missing (found ${entry.seq})`)
      const event = entry.data as unknown as RunEvent
      const [next, commands] = step(state, event)
      const first = commands[0]
      if (commands.length === 1 && first?.type === 'reject')
        throw corrupted(
          runId,
          `journal entry ${entry.seq} (${String(entry.type)}) is not a legal event: ${first.reason}`,
        )
      state = next
      seq = entry.seq
    }
    if (snapshot !== undefined && seq > 0 && state.runId !== '' && state.runId !== runId)
      throw corrupted(runId, `stored state belongs to run ${state.runId}`)
    return { state, seq }
  }

  async acquire(runId: string): Promise<AcquiredRun> {
    if (this.stopped) throw new RunError('invalid-state', 'the runtime is shut down')
    const record = await this.store.getRun(runId)
    if (record === undefined) throw new RunError('not-found', `no run ${runId}`, { runId })
    if (record.status === 'corrupted')
      throw new RunError('corrupted', `run ${runId} is marked corrupted: ${record.error?.message ?? ''}`, {
        runId,
      })
    // An ended run needs no owner: say so at once (its last owner's lease may still be running out).
    if (record.status === 'completed' || record.status === 'failed' || record.status === 'cancelled')
      throw new RunError('invalid-state', `run ${runId} is ${record.status}`, { runId })
    const agent = await this.agent(runId, record.agentId)
    const lease = await this.store.acquireLease(runId, this.ownerId, this.leaseTtlMs)
    if (lease === undefined) throw new OwnedElsewhere(await this.store.getLease(runId))
    try {
      const { state, seq } = await this.load(runId)
      return { lease, agent, record, state, seq }
    } catch (error) {
      if (RunError.isInstance(error) && error.reason === 'corrupted')
        await this.store
          .updateRun(runId, { status: 'corrupted', error: error.toJSON(), pending: [] })
          .catch((failure: unknown) => this.report(failure, runId))
      await this.store.releaseLease(lease).catch(() => undefined)
      if (RunError.isInstance(error) && error.reason === 'corrupted')
        this.settle(runId, { phase: 'failed', error: error.toJSON() })
      throw error
    }
  }

  // --- starting and resuming

  private priceOf(provider: string, modelId: string): ModelPrice | undefined {
    const key = `${provider}:${modelId}`
    if (this.modelPrices.has(key)) return this.modelPrices.get(key)
    const price = priceFor(this.prices, provider, modelId)
    this.modelPrices.set(key, price)
    return price
  }

  async spawn(agentId: string, input: RunInput, options: SpawnOptions = {}): Promise<RunHandle> {
    const started = await this.begin(agentId, input, options)
    return 'handle' in started ? started.handle : this.makeHandle(started.runId, started.outcome, undefined)
  }

  /** `agent.run`: spawns and waits for the answer, with no handle to build. */
  async run(agentId: string, input: RunInput, options: SpawnOptions = {}): Promise<JsonValue> {
    const started = await this.begin(agentId, input, options)
    if ('handle' in started) return started.handle.result
    const { runId } = started
    return started.outcome.promise.then((outcome) => answerOf(outcome, runId))
  }

  /** Starts a run (or finds the one its idempotency key names): what `spawn` and `run` share. */
  private async begin(
    agentId: string,
    input: RunInput,
    options: SpawnOptions,
  ): Promise<{ readonly handle: RunHandle } | { readonly runId: string; readonly outcome: Deferred }> {
    if (this.stopped) throw new RunError('invalid-state', 'the runtime is shut down')
    const agent = await this.agent('', agentId)
    // A given run id that is active here: ask for the key's run first, before touching its owner.
    const activeHere =
      options.runId !== undefined && (this.owners.has(options.runId) || this.steering.has(options.runId))
    if (options.idempotencyKey !== undefined && activeHere) {
      const existing = await this.store.findRunByIdempotencyKey(agentId, options.idempotencyKey)
      if (existing) return { handle: this.handle(existing.runId) }
    }
    const messages = toMessages(input)
    const runId = options.runId ?? newRunId()
    const sessionId = options.sessionId ?? null
    // The owner exists before the run does: `recover()` and answers find it, never a second one.
    const price = agent.price ?? this.priceOf(agent.model.provider, agent.model.modelId)
    if (agent.policy.maxCostUsd !== undefined && price === undefined)
      throw new RunError(
        'invalid-state',
        `agent ${agentId} has a maxCostUsd budget but no price for ${agent.model.provider}:${agent.model.modelId}; give the agent a price or the runtime prices`,
      )
    const owner = this.ownerOf(runId)
    const outcome = this.outcome(runId)
    let observer: RunObserver | undefined
    if (options.steer)
      this.steering.set(runId, { seen: new Set(), waiting: new Map(), detach: options.detach === true })
    let created: CreatedRun | undefined
    type StartEvent = Extract<RunEvent, { type: 'run.started' }>
    const startEvent = (
      history: NonNullable<StartEvent['history']>,
      trace: RunObserver['trace'],
    ): StartEvent => {
      const policy = withDeadline(agent.policy, agent.maxDurationMs, options.deadline, this.now())
      return {
        type: 'run.started',
        runId,
        agentId,
        sessionId,
        parentRunId: options.parentRunId ?? null,
        ...(options.parentRunId === undefined ? {} : { rootRunId: options.rootRunId ?? options.parentRunId }),
        ...(agent.instructions === undefined ? {} : { instructions: agent.instructions }),
        history,
        input: messages,
        policy: price === undefined ? policy : { ...policy, price },
        at: this.now(),
        ...(trace === undefined ? {} : { trace }),
      }
    }
    const identified = identity(runId, agentId, sessionId, options.parentRunId ?? null, agent)
    const newRun: NewRun = {
      runId,
      agentId,
      sessionId,
      parentRunId: options.parentRunId ?? null,
      idempotencyKey: options.idempotencyKey ?? null,
      status: 'running',
      metadata: options.metadata ?? {},
      claimSession: true,
      // The lease is taken in the same write as the row, so `recover()` never finds the run unowned.
      lease: { ownerId: this.ownerId, ttlMs: this.leaseTtlMs },
    }
    try {
      // With no span to start, a run journals its `run.started` in the same write as its row and
      // lease (ADR 0122): one write before its first part. Its session's history is read first,
      // and the row claims the session only at the version read (else the usual two writes). The
      // reducer must accept the start, as the owner will replay it. With a span, the span would
      // start before a start that may be refused (a duplicate key): such a run takes two writes.
      let early: StartEvent | undefined
      let sessionVersion: number | undefined
      if (!this.telemetry.observes(options.trace)) {
        const session = sessionId === null ? undefined : await this.store.getSession(sessionId)
        if (sessionId !== null) sessionVersion = session?.version ?? 0
        const event = startEvent(session?.messages ?? [], undefined)
        if (step(emptyRunState, event)[1][0]?.type !== 'reject') early = event
      }
      if (early !== undefined) {
        const entries = [{ type: early.type, data: early as never, at: early.at }]
        try {
          created = await this.store.createRun({
            ...newRun,
            entries,
            ...(sessionVersion === undefined ? {} : { sessionVersion }),
          })
        } catch (error) {
          // A busy session (an unfinished run, or a turn written since the read): the usual way,
          // which waits for a run ending here and reads the history once the session is claimed.
          if (!StoreError.isInstance(error) || error.reason !== 'busy' || sessionId === null) throw error
          early = undefined
        }
      }
      created ??= await this.createRun(newRun)
      // A store written before `NewRun.lease` ignores it: take the lease as before.
      const lease = created.lease ?? (await this.store.acquireLease(runId, this.ownerId, this.leaseTtlMs))
      if (lease === undefined)
        throw new RunError('invalid-state', `run ${runId} is owned by another worker`, { runId })
      // A store written before `NewRun.entries` ignores them (no `seq`): the owner journals the start,
      // and a session's history is read again now that the session is claimed.
      const journaled = early === undefined ? undefined : created.seq
      observer = this.telemetry.started(identified, options.trace)
      let event: RunEvent
      if (early !== undefined && (journaled !== undefined || sessionId === null)) event = early
      else {
        const history = sessionId === null ? [] : ((await this.store.getSession(sessionId))?.messages ?? [])
        event = startEvent(history, observer.trace)
      }
      const started = observer
      await new Promise<void>((resolve, reject) =>
        owner.enqueue({
          kind: 'start',
          event,
          lease,
          agent,
          observer: started,
          ...(journaled === undefined ? {} : { journaled }),
          done: (error) => (error ? reject(error) : resolve()),
        }),
      )
    } catch (error) {
      observer?.closed('lost', undefined)
      this.steering.delete(runId)
      if (!owner.live) this.released(owner)
      // A start with an idempotency key that was not created (the key is taken: a conflict, or the
      // session that run holds is busy): the run the key names. Asked only then, not before every
      // keyed start, which would cost every new run a round trip.
      if (created === undefined && options.idempotencyKey !== undefined) {
        const existing = await this.store.findRunByIdempotencyKey(agentId, options.idempotencyKey)
        if (existing) return { handle: this.handle(existing.runId) }
      }
      throw error
    }
    return { runId, outcome }
  }

  /**
   * Creates the run's index row, claiming its session: the store refuses it atomically while
   * another run of the session is unfinished (turns of one conversation queue up, across processes).
   */
  private async createRun(run: NewRun, attempt = 0): Promise<CreatedRun> {
    try {
      return await this.store.createRun(run)
    } catch (error) {
      const sessionId = run.sessionId
      if (!StoreError.isInstance(error) || error.reason !== 'busy' || sessionId == null) throw error
      const busy = await this.store.listRuns({ sessionId, status: ['running', 'waiting'] }, { limit: 1 })
      const holder = busy.items[0]
      // A run that ended here may not have its final row yet: its last append is in flight, or
      // (on a store without `features.sessionTurn`, or finishing after a crash) the row follows its
      // turn. A client that sends the next turn as soon as the answer is read must not be refused
      // for that. A holder that ended between the refusal and the look is gone: try once more.
      if (attempt < 3 && (holder === undefined || (await this.finishedHere(holder.runId))))
        return this.createRun(run, attempt + 1)
      throw holder === undefined
        ? new RunError('session-busy', `session ${sessionId} has an unfinished run; try again`)
        : sessionBusy(sessionId, holder)
    }
  }

  /**
   * Whether the run ended in this process and has now left memory (so its index row is final);
   * waits for that at most one lease TTL. False for a run that has not ended here.
   */
  private finishedHere(runId: string): Promise<boolean> {
    const state = this.owners.get(runId)?.state
    if (state === undefined || !isEnded(state)) return Promise.resolve(false)
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), this.leaseTtlMs)
      timer.unref?.()
      const waiters = this.releaseWaiters.get(runId) ?? []
      waiters.push(() => {
        clearTimeout(timer)
        resolve(true)
      })
      this.releaseWaiters.set(runId, waiters)
    })
  }

  async resume(runId: string): Promise<RunHandle> {
    const outcome = this.outcome(runId)
    await this.wake(runId, true)
    return this.makeHandle(runId, outcome, undefined)
  }

  /** Wakes the run here: through its owner's mailbox, so it is loaded once whoever asks. */
  private wake(runId: string, republish: boolean): Promise<void> {
    const owner = this.ownerOf(runId)
    if (owner.live) return Promise.resolve()
    return new Promise((resolve, reject) =>
      owner.enqueue({ kind: 'wake', republish, done: (error) => (error ? reject(error) : resolve()) }),
    )
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
        if (this.stopped) return resumed
        if (this.owners.has(record.runId) || !this.agents.has(record.agentId)) continue
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
        const lease = await this.store.getLease(record.runId).catch(() => undefined)
        if (lease !== undefined && lease.expiresAt > this.now() && lease.ownerId !== this.ownerId) continue
        try {
          await this.wake(record.runId, true)
          resumed.push(record.runId)
        } catch (error) {
          // One run that cannot be resumed (taken by another worker, finished, corrupted) never
          // stops recovery of the others.
          if (
            !(error instanceof OwnedElsewhere) &&
            !(RunError.isInstance(error) && error.reason === 'invalid-state')
          )
            this.report(error, record.runId)
        }
      }
      cursor = page.nextCursor
    } while (cursor !== undefined)
    return resumed
  }

  // --- delivering answers and cancels

  /**
   * Delivers a caller's event: to the owner here (waking the run if it sleeps), or to the worker
   * that holds the run's lease (through the bus), or, when neither can take it yet (the run is
   * being passivated or handed over elsewhere), it waits and tries again until the lease frees up.
   */
  private async deliver(runId: string, event: RunEvent): Promise<void> {
    if (event.type === 'approval.decided' || event.type === 'human.responded') {
      const requestId = event.type === 'approval.decided' ? event.toolCallId : event.requestId
      runId = (await this.findRequester(runId, requestId)) ?? runId
    }
    const deadline = this.now() + this.leaseTtlMs + 1000
    for (let attempt = 0; ; attempt++) {
      try {
        await this.ownerOf(runId).deliver(event)
        return
      } catch (error) {
        if (!(error instanceof OwnedElsewhere)) throw error
        const holder = error.lease
        if (holder && holder.ownerId !== this.ownerId && this.bus.route) {
          if (await this.bus.route(holder.ownerId, runId, event)) return
        }
        if (this.now() > deadline)
          throw new RunError(
            'invalid-state',
            `run ${runId} is held by ${holder?.ownerId ?? 'another worker'}; try again`,
            {
              runId,
              retryable: true,
            },
          )
        await sleep(Math.min(500, 10 * 2 ** attempt))
      }
    }
  }

  redeliver(runId: string, event: RunEvent): Promise<void> {
    return this.deliver(runId, event)
  }

  /** The run in the tree under `runId` whose state waits on `requestId` (breadth first). */
  private async findRequester(runId: string, requestId: string): Promise<string | undefined> {
    // A run waiting out of memory lists its requests in its index row (written with the status when
    // it passivated): one row read instead of loading the run, which its wake does anyway.
    if (!this.owners.has(runId)) {
      const record = await this.store.getRun(runId)
      if (
        record?.status === 'waiting' &&
        record.pending.some((request) => (request as { requestId?: unknown }).requestId === requestId)
      )
        return runId
    }
    const queue = [runId]
    for (let visited = 0; queue.length > 0 && visited < 1000; visited++) {
      const current = queue.shift() as string
      const live = this.owners.get(current)?.state
      const state = live ?? (await this.load(current).catch(() => undefined))?.state
      if (state?.toolCalls.some((call) => call.toolCallId === requestId && call.status !== 'done'))
        return current
      if (state === undefined || isEnded(state)) continue
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

  // --- reading

  async get(runId: string): Promise<RunInfo> {
    const record = await this.store.getRun(runId)
    if (record === undefined) throw new RunError('not-found', `no run ${runId}`, { runId })
    const owner = this.owners.get(runId)
    const loaded = owner?.committed ?? (await this.load(runId))
    const { state, seq } = loaded
    const agent = this.agents.get(record.agentId)
    const resolved = agent ? await agent.resolve() : undefined
    return {
      record,
      state,
      seq,
      nextMessages: isEnded(state) ? [] : messagesForModel(state, resolved?.contexts),
    }
  }

  record(runId: string) {
    return this.store.getRun(runId)
  }

  list(
    filter: Parameters<Runtime['list']>[0] = {},
    page: Parameters<Runtime['list']>[1] = {},
  ): ReturnType<Runtime['list']> {
    return this.store.listRuns(filter, page)
  }

  findByIdempotencyKey(agentId: string, idempotencyKey: string) {
    return this.store.findRunByIdempotencyKey(agentId, idempotencyKey)
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
    // Set by a commit: one that comes while the journal is being read is not waited for.
    let signalled = false
    const notify = () => {
      signalled = true
      wake?.()
    }
    const outlet = this.outlet(runId)
    // Woken by every commit, also of entries without parts (a tool's start).
    const unsubscribe = outlet.subscribe({ part: () => undefined, signal: notify, committed: notify })
    options.signal?.addEventListener('abort', notify)
    try {
      if ((await this.store.getRun(runId)) === undefined)
        throw new RunError('not-found', `no run ${runId}`, { runId })
      while (!options.signal?.aborted) {
        signalled = false
        const entries = await this.store.read(runId, { afterSeq })
        for (const entry of entries) {
          afterSeq = entry.seq
          yield entry
        }
        if (entries.length > 0) continue
        const record = await this.store.getRun(runId)
        if (record === undefined || (record.status !== 'running' && record.status !== 'waiting')) {
          // The run may have journaled its end between the read and the status: read once more.
          for (const entry of await this.store.read(runId, { afterSeq })) yield entry
          return
        }
        if (signalled) continue
        const here = this.owners.get(runId)?.live === true
        await new Promise<void>((resolve) => {
          wake = resolve
          if (!here) setTimeout(resolve, options.pollMs ?? 250).unref?.()
        })
        wake = undefined
      }
    } finally {
      options.signal?.removeEventListener('abort', notify)
      unsubscribe()
      if (!outlet.listening && !this.owners.get(runId)?.live) this.outlets.delete(runId)
    }
  }

  async *stream(runId: string, options: StreamOptions = {}): AsyncGenerator<PositionedPart> {
    const cursor = new StreamCursor(options.after)
    let queue: PositionedPart[] = []
    let signal: OutletSignal | undefined
    let wake: (() => void) | undefined
    const notify = () => {
      wake?.()
      wake = undefined
    }
    const outlet = this.outlet(runId)
    const unsubscribe = outlet.subscribe({
      part: (positioned) => {
        queue.push(positioned)
        notify()
      },
      signal: (value) => {
        signal = value
        notify()
      },
    })
    const remote = this.bus.subscribeParts?.(runId, (parts) => {
      queue.push(...parts)
      notify()
    })
    const onAbort = () => notify()
    options.signal?.addEventListener('abort', onAbort)
    let state = emptyRunState
    let seq = 0
    let finished = false
    const out: PositionedPart[] = []
    const accept = (positioned: PositionedPart) => {
      for (const part of cursor.accept(positioned)) {
        out.push({ position: positioned.position, part })
        if (part.type === 'finish') finished = true
      }
    }
    /**
     * Reads the journal after what was read, stepping the replayed state along. Parts the outlet
     * sent meanwhile that come before a journaled one are taken first, in position order: a tool's
     * live parts are in no journal entry, so once the entry after them were taken they would be
     * dropped as seen. A model call's deltas (live, in a block) are not: the journal has the
     * response whole. `live`: false for a reader that only reads the journal.
     */
    const catchUp = async (live = true) => {
      // Queued parts taken so far (removed once, at the end: nothing is queued while this runs).
      let taken = 0
      for (const entry of await this.store.read(runId, { afterSeq: seq })) {
        const event = entry.data as unknown as RunEvent
        const before = state
        const [next, commands] = step(state, forReplay(event))
        const parts: StreamPart[] = []
        for (const command of commands) if (command.type === 'emit') parts.push(...command.parts)
        for (const positioned of positionReplayed(entry.seq, event, before.step, parts)) {
          while (
            live &&
            taken < queue.length &&
            comparePositions((queue[taken] as PositionedPart).position, positioned.position) < 0
          ) {
            const queued = queue[taken++] as PositionedPart
            if (queued.position.live === undefined || queued.position.block === undefined) accept(queued)
          }
          accept(positioned)
        }
        state = next
        seq = entry.seq
      }
      if (taken > 0) queue.splice(0, taken)
    }
    try {
      if ((await this.store.getRun(runId)) === undefined)
        throw new RunError('not-found', `no run ${runId}`, { runId })
      // Subscribed before the journal is read, so nothing published in between is lost.
      if (remote !== undefined) await this.bus.partsSubscribed?.().catch(() => undefined)
      await catchUp(options.follow !== false)
      if (options.follow === false) {
        for (const positioned of out.splice(0)) yield positioned
        return
      }
      while (!options.signal?.aborted) {
        const batch = queue
        queue = []
        for (let index = 0; index < batch.length; index++) {
          const positioned = batch[index] as PositionedPart
          // A journaled part that does not follow what the reader has (it joined a bus after the
          // entry's first parts went out, e.g. a streamed response's text): the rest is in the journal.
          // The parts after it go back first in the queue, for the read to take in order.
          if (!positioned.position.live && !followsDirectly(cursor.position, positioned.position)) {
            queue = batch.slice(index + 1).concat(queue)
            batch.length = index + 1
            await catchUp()
          }
          accept(positioned)
        }
        for (const positioned of out.splice(0)) yield positioned
        if (finished || isEnded(state)) return
        const here = this.owners.get(runId)?.live === true
        if (options.untilPause && state.phase === 'waiting' && !here && queue.length === 0) {
          // Answers may already be journaled behind the pause: only a quiet journal is a pause.
          const before = seq
          await catchUp()
          if (seq === before) return
          continue
        }
        if (signal !== undefined) {
          // The run paused, ended or left this process's memory: read what it journaled.
          signal = undefined
          await catchUp()
          continue
        }
        // Parts that came while the reader was busy with the last ones: take them before waiting.
        if (queue.length > 0) continue
        const polling = !here && remote === undefined
        await new Promise<void>((resolve) => {
          wake = resolve
          if (polling) {
            const timer = setTimeout(resolve, options.pollMs ?? 250)
            timer.unref?.()
          }
        })
        wake = undefined
        if (polling || (!here && queue.length === 0)) await catchUp()
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort)
      unsubscribe()
      remote?.()
      if (!outlet.listening && !this.owners.get(runId)?.live) this.outlets.delete(runId)
    }
  }

  handle(runId: string): RunHandle {
    const outcome = this.outcome(runId)
    // A run that already ended (or lives elsewhere) is settled from the store, not by an owner here.
    if (!this.isActive(runId))
      void this.store.getRun(runId).then(
        (record) => {
          const ended = outcomeOf(record, runId)
          if (ended) outcome.resolve(ended)
        },
        (error: unknown) => this.report(error, runId),
      )
    return this.makeHandle(runId, outcome, 'now')
  }

  private makeHandle(runId: string, outcome: Deferred, from: 'now' | undefined): RunHandle {
    const result = outcome.promise.then((value) => answerOf(value, runId))
    // Callers that only stream never look at `result`: keep its rejection from being unhandled.
    result.catch(() => undefined)
    const startAt =
      from === 'now'
        ? this.store.lastSeq(runId).then((seq) => ({ seq, index: Number.MAX_SAFE_INTEGER }))
        : undefined
    startAt?.catch(() => undefined)
    const runtime = this
    const handle: RunHandle = {
      runId,
      result,
      async *parts(options = {}) {
        const after = startAt ? await startAt : undefined
        for await (const positioned of runtime.stream(runId, { ...options, ...(after ? { after } : {}) }))
          yield positioned.part
      },
      async *steered() {
        let ended = false
        try {
          for await (const positioned of runtime.stream(runId)) {
            const part = positioned.part
            yield part
            // The caller asked for the next part: it has read this one (a tool input it let pass).
            if (part.type === 'tool-input-available') runtime.seen(runId, part.toolCallId)
            if (part.type === 'finish') ended = true
          }
        } finally {
          runtime.unsteer(runId, ended)
        }
      },
      cancel: (reason) => this.cancel(runId, reason),
      approve: (toolCallId, options) => this.approve(runId, toolCallId, options),
      deny: (toolCallId, options) => this.deny(runId, toolCallId, options),
      respond: (requestId, answer, options) => this.respond(runId, requestId, answer, options),
    }
    // The handle holds the outcome, so a run someone awaits keeps it (the table holds it weakly).
    Object.defineProperty(handle, heldOutcome, { value: outcome })
    return handle
  }

  // --- shutdown

  async shutdown(options: { readonly graceMs?: number } = {}): Promise<void> {
    this.stopped = true
    for (const timers of this.expiries.values()) for (const timer of timers.values()) clearTimeout(timer)
    this.expiries.clear()
    const owners = [...this.owners.values()].filter((owner) => owner.live)
    let timer: ReturnType<typeof setTimeout> | undefined
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.graceMs ?? 10_000)
    })
    const drained = owners.map(
      (owner) => new Promise<void>((finished) => owner.enqueue({ kind: 'drain', finished })),
    )
    await Promise.race([Promise.all(drained), grace])
    clearTimeout(timer)
    // Tools still running after the grace period are aborted; their runs resume elsewhere at once.
    await Promise.all(
      owners
        .filter((owner) => owner.live)
        .map((owner) => new Promise<void>((done) => owner.enqueue({ kind: 'handover', done: () => done() }))),
    )
    if (this.renewTimer !== undefined) clearInterval(this.renewTimer)
    this.renewTimer = undefined
  }
}

const identity = (
  runId: string,
  agentId: string,
  sessionId: string | null,
  parentRunId: string | null,
  agent: ResolvedAgent,
): RunIdentity => ({
  runId,
  agentId,
  sessionId,
  parentRunId,
  provider: agent.model.provider,
  modelId: agent.model.modelId,
})

const sessionBusy = (sessionId: string, holder: RunRecord) =>
  new RunError(
    'session-busy',
    `session ${sessionId} has an unfinished run (${holder.runId}, ${holder.status}); answer or cancel it first`,
    { runId: holder.runId },
  )

const corrupted = (runId: string, why: string, cause?: unknown) =>
  new RunError('corrupted', `run ${runId}: ${why}`, { runId, ...(cause === undefined ? {} : { cause }) })
