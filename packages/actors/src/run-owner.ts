import {
  type AppendOptions,
  type ChildReport,
  type Command,
  contentPartCount,
  type HumanRequest,
  interruptedToolCalls,
  type JournalEntryInput,
  type Lease,
  type ModelRequest,
  messagesForModel,
  type PositionedPart,
  positionReplayed,
  RunError,
  type RunEvent,
  type RunPatch,
  type RunState,
  resumeCommands,
  runStateVersion,
  type SessionTurn,
  type Store,
  StoreError,
  type StreamPart,
  type Tool,
  type ToolContext,
} from '@vel/core'
import { createActor } from 'xstate'
import type { ResolvedAgent } from './agent-resolve.ts'
import { CallControl } from './call-control.ts'
import { handOverReasons } from './hand-over.ts'
import { executeModelCall, type LivePart } from './model-executor.ts'
import type { OwnerHost } from './owner-host.ts'
import { retryTransient } from './retry.ts'
import { type RunActorRef, runLogic } from './run-logic.ts'
import { type CallObservation, type RunObserver, silentObserver } from './run-observer.ts'
import { type Summarizer, summarizeStep } from './summarize.ts'
import { executeTool } from './tool-executor.ts'

/** One input to a run's mailbox. */
type Input =
  | {
      readonly kind: 'event'
      readonly event: RunEvent
      /** `caller`: from outside (approve, respond, cancel), answered with an error if illegal. */
      readonly from: 'caller' | 'executor' | 'timer'
      readonly done?: (error?: unknown) => void
      /** Runs once the event is journaled and applied (a tool handler waits for its `tool.started`). */
      readonly onCommit?: () => void
    }
  /** Take the run: acquire its lease and load it, then continue what it was doing. */
  | {
      readonly kind: 'wake'
      readonly republish: boolean
      readonly done?: (error?: unknown) => void
    }
  /** Start a new run whose index row exists and whose lease is held. */
  | {
      readonly kind: 'start'
      readonly event: RunEvent
      readonly lease: Lease
      /** The run's agent, resolved by the spawn. */
      readonly agent: ResolvedAgent
      /** Follows the run for traces and metrics; its span is already in `event` (`trace`). */
      readonly observer?: RunObserver
      /** The start is journaled already, at this seq: `createRun` wrote it with the row (ADR 0122). */
      readonly journaled?: number
      readonly done: (error?: unknown) => void
    }
  /** The run is waiting and nothing is in flight: write it down and let go of it. */
  | { readonly kind: 'passivate' }
  /** Shutdown: stop model calls, let tools finish, then hand over (snapshot, lease released). */
  | { readonly kind: 'drain'; readonly finished: () => void }
  /** Hand over now (shutdown after its grace period): abort what still runs. */
  | { readonly kind: 'handover'; readonly done?: (error?: unknown) => void }
  /** The lease was lost (renewal failed): stop at once, writing nothing. */
  | { readonly kind: 'lost' }

const noParts: ReadonlyArray<StreamPart> = []

/** An event acted on but not journaled yet (`RunOwner.holdable`), and what waits for it. */
interface Held {
  readonly event: RunEvent
  readonly before: RunState
  readonly state: RunState
  readonly commands: ReadonlyArray<Command>
  /** Its journal entry, stamped when it was held. */
  readonly entry: JournalEntryInput
  /** The seq it is journaled at: its tools' parts meanwhile are positioned after it. */
  readonly seq: number
  /** Parts its tools added meanwhile: they go out after its own. */
  readonly foreign: PositionedPart[]
}

/** An event as the journal entry that records it, stamped `at`. */
const entryOf = (event: RunEvent, at: number): JournalEntryInput => ({
  type: event.type,
  data: event as never,
  at,
})

const isTerminal = (state: RunState) =>
  state.phase === 'completed' || state.phase === 'failed' || state.phase === 'cancelled'

/** The index row of a run that ended: its outcome, and no pending requests. */
const finalPatch = (state: RunState): RunPatch => ({
  status: state.phase as 'completed' | 'failed' | 'cancelled',
  answer: state.answer,
  error: state.error,
  pending: [],
})

/**
 * What a run's last append carries (ADR 0127): its final index row and, for a completed run of a
 * session, its turn: one write, so the row never says completed before the turn is in the session.
 * A store without `features.sessionTurn` gets neither for such a run: `finish` writes the turn,
 * then the row (undefined: nothing goes with the entry).
 */
const finalWrite = (state: RunState, store: Store): Pick<AppendOptions, 'run' | 'session'> | undefined => {
  const session = turnOf(state)
  if (session === undefined) return { run: finalPatch(state) }
  return store.features?.sessionTurn === true ? { run: finalPatch(state), session } : undefined
}

/** The turn a run that ended writes to its session: only a completed run of a session has one. */
const turnOf = (state: RunState): SessionTurn | undefined =>
  state.sessionId !== null && state.phase === 'completed'
    ? { sessionId: state.sessionId, messages: state.messages.slice(state.priorCount) }
    : undefined

/** What makes journal entries of model responses carry their live parts' positions. */
const liveContentCount = (event: RunEvent): number =>
  event.type === 'model.responded' && event.streamed
    ? contentPartCount(event.message)
    : event.type === 'model.failed' && event.streamed
      ? contentPartCount(event.partial)
      : 0

/**
 * The owner of one run in this process: its mailbox, its actor and its executors. Every input (an
 * executor's outcome, a human's answer, a cancel, a timer, waking, draining, losing the lease) enters
 * one queue and is handled to the end before the next: the event goes through the actor (whose
 * transition is `step`, computed once), is appended to the journal fenced by the lease epoch, and
 * only then is committed: its parts go to the outlet and its commands are carried out. An event the
 * reducer rejects is never journaled. Nothing is dropped while the run changes hands: an input that
 * arrives while the owner passivates or wakes waits in the queue.
 */
export class RunOwner {
  readonly runId: string
  private queue: Input[] = []
  private pumping = false
  private actor: RunActorRef | undefined
  private agent: ResolvedAgent | undefined
  private lease: Lease | undefined
  private seq = 0
  /**
   * The last entry whose parts went out: the journal's head, except between an append's return and
   * its commit, when a tool's parts must still go before that entry's (`emitForeign`).
   */
  private outSeq = 0
  private eventsSinceSnapshot = 0
  private readonly inflight = new Map<string, CallControl>()
  private budgetTimer: ReturnType<typeof setTimeout> | undefined
  private draining: (() => void) | undefined
  private liveIndex = 0
  /** An event acted on, to be journaled with the next entry (`holdable`). */
  private held: Held | undefined
  /** The options of an append without a snapshot, made again only when the lease changes. */
  private appendOptions: { readonly lease: Lease } | undefined
  private observer: RunObserver = silentObserver
  /** Gone for good from this process (finished, corrupted, lost): the runtime drops it. */
  closed = false

  constructor(
    private readonly host: OwnerHost,
    runId: string,
  ) {
    this.runId = runId
  }

  /** The run's state, if it is in memory here. */
  get state(): RunState | undefined {
    return this.actor?.getSnapshot().context
  }

  /**
   * The run's state and the seq it is at (`get`): while an event is held (ADR 0125), until its
   * append has returned, the state from before it, as a crash would leave it.
   */
  get committed(): { readonly state: RunState; readonly seq: number } | undefined {
    const held = this.held
    if (held !== undefined) return { state: held.before, seq: held.seq - 1 }
    const state = this.state
    return state === undefined ? undefined : { state, seq: this.seq }
  }

  /** Whether this process holds the run in memory with its lease. */
  get live(): boolean {
    return this.actor !== undefined && !this.closed
  }

  get currentLease(): Lease | undefined {
    return this.lease
  }

  /** The lease was renewed by the runtime. */
  renewed(lease: Lease): void {
    if (this.lease && lease.epoch === this.lease.epoch) this.lease = lease
  }

  /** Adds an input; the queue is handled in order. */
  enqueue(input: Input): void {
    this.queue.push(input)
    if (!this.pumping) void this.pump()
  }

  /** Delivers a caller's event; resolves once it is journaled and applied. */
  deliver(event: RunEvent): Promise<void> {
    return new Promise((resolve, reject) =>
      this.enqueue({
        kind: 'event',
        event,
        from: 'caller',
        done: (error) => (error ? reject(error) : resolve()),
      }),
    )
  }

  private async pump(): Promise<void> {
    this.pumping = true
    try {
      while (this.queue.length > 0) {
        const input = this.queue.shift() as Input
        try {
          // An event for a run held here (most inputs) goes straight to `apply`: no async hop
          // through `handle` and `onEvent`.
          if (input.kind === 'event' && this.live && !this.draining) {
            await this.apply(input.event, input.from)
            input.onCommit?.()
          } else if (input.kind === 'event' && !this.closed) await this.onEvent(input)
          else await this.handle(input)
          if ('done' in input) input.done?.()
        } catch (error) {
          if ('done' in input && input.done) input.done(error)
          else if (!RunError.isInstance(error) || error.reason !== 'invalid-state')
            this.host.report(error, this.runId)
        }
      }
    } finally {
      this.pumping = false
    }
    // Nothing left to do: a run that only waits for humans leaves memory; a draining run whose tools
    // are done is handed over; a run no longer held here leaves the table (an input arriving later
    // finds a fresh owner and wakes the run).
    if (this.closed || this.queue.length > 0) return
    if (this.live && this.inflight.size === 0 && this.draining) {
      const finished = this.draining
      this.draining = undefined
      this.enqueue({ kind: 'drain', finished })
    } else if (this.live && this.inflight.size === 0 && this.state?.phase === 'waiting' && !this.draining)
      this.enqueue({ kind: 'passivate' })
    else if (!this.live) this.host.released(this)
  }

  private async handle(input: Input): Promise<void> {
    if (this.closed) {
      // This owner let go for good while the input waited: the runtime finds the run's owner now.
      if (input.kind === 'event' && input.from === 'caller')
        return this.host.redeliver(this.runId, input.event)
      if (input.kind === 'drain') return input.finished()
      return
    }
    switch (input.kind) {
      case 'start':
        this.observer = input.observer ?? silentObserver
        return this.start(input.event, input.lease, input.agent, input.journaled)
      case 'wake':
        if (!this.live) await this.wake(input.republish)
        return
      case 'event':
        return this.onEvent(input)
      case 'passivate':
        return this.passivate()
      case 'drain':
        return this.drain(input.finished)
      case 'handover':
        return this.handOver()
      case 'lost':
        return this.abandon(new StoreError('fenced', 'the lease was lost'))
    }
  }

  private async onEvent(input: Extract<Input, { kind: 'event' }>): Promise<void> {
    const { event } = input
    if (!this.live) {
      if (input.from !== 'caller') return // an executor of an owner that let go: its outcome is moot
      await this.wake(false)
    }
    if (this.draining && input.from === 'executor' && event.type.startsWith('model.')) return
    await this.apply(event, input.from)
    input.onCommit?.()
  }

  /**
   * Computes the event once, journals it (unless it is `journaled` at that seq already), then
   * commits it. A held event (see `holdable`) is journaled with it, in the same append, first.
   */
  private async apply(
    event: RunEvent,
    from: 'caller' | 'executor' | 'timer' | 'resume',
    journaled?: number,
  ): Promise<void> {
    const actor = this.actor as RunActorRef
    const before = actor.getSnapshot().context
    if (isTerminal(before)) {
      if (from === 'caller')
        throw new RunError('invalid-state', `${event.type} rejected: run is ${before.phase}`, {
          runId: this.runId,
        })
      return
    }
    actor.send(event as never)
    const { context: state, commands } = actor.getSnapshot()
    const first = commands[0]
    if (commands.length === 1 && first?.type === 'reject') {
      if (from !== 'caller') return
      // Refuse only from the run's current state. An owner whose lease was taken without its
      // knowing (the renewal has not run yet) would refuse from a stale one: hand the run over and
      // let the event find the owner of now. One store read, only on a refusal.
      if (!(await this.holdsLease())) {
        this.abandon()
        return this.host.redeliver(this.runId, event)
      }
      throw new RunError('invalid-state', `${event.type} rejected: ${first.reason}`, { runId: this.runId })
    }
    if (
      journaled === undefined &&
      from === 'executor' &&
      this.held === undefined &&
      this.holdable(commands)
    ) {
      const entry = entryOf(event, this.host.now())
      this.held = { event, before, state, commands, entry, seq: this.seq + 1, foreign: [] }
      this.liveIndex = 0
      this.runCommands(state, commands)
      // Every tool ended at once, its outcome is in the mailbox: the event goes with it, one append.
      for (const command of commands)
        if (command.type === 'call-tool' && this.inflight.has(command.toolCallId)) return this.journalHeld()
      return
    }
    // Held until journaled: a tool's parts meanwhile still wait for the held event's.
    const held = this.held
    const appendStart = performance.now()
    let final: ReturnType<typeof finalWrite> | undefined
    if (journaled !== undefined) {
      // `createRun` wrote it with the row: nothing to append, the journal is at `journaled`.
      this.seq = journaled
      this.eventsSinceSnapshot += 1
    } else {
      const entry = entryOf(event, this.host.now())
      const entries = held === undefined ? [entry] : [held.entry, entry]
      // The run's final index row and session turn go with its last entry (two round trips fewer).
      final =
        isTerminal(state) && commands.some((command) => command.type === 'finish')
          ? finalWrite(state, this.host.store)
          : undefined
      try {
        await this.journal(entries, state, final)
      } catch (error) {
        // Lost ownership, or the store stays down: nothing was journaled, so nothing is acted on. The
        // run stays resumable from the store; a caller's event goes to whoever owns the run now.
        this.abandon(error)
        if (
          from === 'caller' &&
          StoreError.isInstance(error) &&
          (error.reason === 'conflict' || error.reason === 'fenced')
        )
          return this.host.redeliver(this.runId, event)
        throw error
      }
    }
    const elapsed = performance.now() - appendStart
    this.held = undefined
    if (held !== undefined) this.published(held, elapsed)
    this.observer.committed(event, state, commands, elapsed, held !== undefined)
    this.commit(this.seq, event, before, state, commands)
    if (event.type === 'run.started') this.armBudget()
    for (const command of commands) if (command.type === 'finish') return this.finish(final !== undefined)
  }

  /**
   * Appends `entries` (fenced by the lease) after the journal's head, with the snapshot when one
   * is due and the run's final index row when given; `state` is the state after the last.
   */
  private async journal(
    entries: ReadonlyArray<JournalEntryInput>,
    state: RunState,
    final: Pick<AppendOptions, 'run' | 'session'> | undefined,
  ): Promise<void> {
    // A snapshot due with these entries goes in the same write (one round trip on Postgres), as
    // does a run's final row and session turn (`final`).
    const snapshotDue =
      this.eventsSinceSnapshot + entries.length >= (this.agent as ResolvedAgent).snapshotEvery
    const lease = this.lease as Lease
    if (this.appendOptions?.lease !== lease) this.appendOptions = { lease }
    const snapshotOption = snapshotDue
      ? { snapshot: { state: state as never, schemaVersion: runStateVersion } }
      : undefined
    const options =
      snapshotOption === undefined && final === undefined
        ? this.appendOptions
        : { lease, ...snapshotOption, ...final }
    const expected = this.seq
    // The first attempt is a plain await; only a failure pays for the retry machinery.
    try {
      this.seq = await this.host.store.append(this.runId, entries, expected, options)
    } catch (first) {
      this.seq = await retryTransient(first, () =>
        this.host.store.append(this.runId, entries, expected, options),
      )
    }
    this.eventsSinceSnapshot = snapshotDue ? 0 : this.eventsSinceSnapshot + entries.length
  }

  /**
   * Whether an executor's event may be acted on before it is journaled, to be journaled with the
   * next entry in one append (one commit per step instead of two): its commands are only parts
   * and calls of tools without side effects, which may simply run again after a crash (as their
   * start is never journaled either). Its parts wait until it is journaled, so nothing outside
   * sees an event that a crash could take back. Kept only while every such tool ends at once.
   */
  private holdable(commands: ReadonlyArray<Command>): boolean {
    let calls = 0
    for (const command of commands) {
      if (command.type === 'emit') continue
      if (command.type !== 'call-tool') return false
      if ((this.agent as ResolvedAgent).tool(command.toolName)?.sideEffects !== 'none') return false
      calls += 1
    }
    return calls > 0
  }

  /** Journals the held event alone (a tool did not end at once, or the run stops or snapshots). */
  private async journalHeld(): Promise<void> {
    const held = this.held
    if (held === undefined) return
    const appendStart = performance.now()
    try {
      await this.journal([held.entry], held.state, undefined)
    } catch (error) {
      this.abandon(error)
      throw error
    }
    this.held = undefined
    this.published(held, performance.now() - appendStart)
  }

  /** A held event is journaled (at `held.seq`): its parts go out, then the parts its tools added. */
  private published(held: Held, elapsed: number): void {
    this.observer.committed(held.event, held.state, held.commands, elapsed)
    this.emitParts(held.seq, held.event, held.before, held.commands)
    const outlet = this.host.outlet(this.runId)
    for (const part of held.foreign) outlet.live(part)
  }

  /** The event is journaled: its parts go out, then its commands are carried out, in order. */
  private commit(
    seq: number,
    event: RunEvent,
    before: RunState,
    state: RunState,
    commands: ReadonlyArray<Command>,
  ): void {
    this.emitParts(seq, event, before, commands)
    this.liveIndex = 0
    this.runCommands(state, commands)
  }

  private emitParts(seq: number, event: RunEvent, before: RunState, commands: ReadonlyArray<Command>): void {
    this.outSeq = seq
    // Most events emit once: their parts are used as they are, not copied.
    let parts: ReadonlyArray<StreamPart> = noParts
    for (const command of commands)
      if (command.type === 'emit') parts = parts.length === 0 ? command.parts : [...parts, ...command.parts]
    const offset = liveContentCount(event)
    const positioned: PositionedPart[] =
      offset === 0
        ? positionReplayed(seq, event, before.step, parts)
        : parts.map((part, index) => ({
            position: {
              seq,
              index: offset + index,
              ...('epoch' in event && event.epoch !== undefined ? { epoch: event.epoch } : {}),
            },
            part,
          }))
    this.host.outlet(this.runId).commit(seq, positioned)
  }

  private runCommands(state: RunState, commands: ReadonlyArray<Command>): void {
    for (const command of commands) {
      switch (command.type) {
        case 'call-model':
          this.callModel(command, state)
          break
        case 'call-tool':
          this.callTool(command)
          break
        case 'request-approval':
        case 'contact-human':
          this.publishRequest(command.request)
          break
        case 'abort-inflight':
          for (const controller of this.inflight.values()) controller.abort(command.reason)
          this.inflight.clear()
          break
        default:
          break
      }
    }
  }

  private publishRequest(request: HumanRequest): void {
    if (request.expiresAt !== undefined)
      this.host.scheduleExpiry(this.runId, request.requestId, request.expiresAt)
    this.host.bus
      .publishRequest({ runId: this.runId, agentId: (this.agent as ResolvedAgent).id, request })
      .catch((error: unknown) => this.host.report(error, this.runId))
  }

  /** `summarized`: the agent's context step already ran for this call (its controller goes on). */
  private callModel(
    command: Extract<Command, { type: 'call-model' }>,
    state: RunState,
    summarized?: CallControl,
  ): void {
    const agent = this.agent as ResolvedAgent
    const controller = summarized ?? new CallControl()
    this.inflight.set('model', controller)
    if (summarized === undefined && agent.summarize !== undefined) {
      this.summarizeFirst(agent.summarize, command, state, controller)
      return
    }
    void this.runModel(command, state, controller)
  }

  private async runModel(
    command: Extract<Command, { type: 'call-model' }>,
    state: RunState,
    controller: CallControl,
  ): Promise<void> {
    const agent = this.agent as ResolvedAgent
    const seq = this.seq + 1
    const epoch = (this.lease as Lease).epoch
    const outlet = this.host.outlet(this.runId)
    const owner = this
    let call: CallObservation | undefined
    try {
      const listed = command.tools ? agent.toolsFor() : undefined
      const tools = listed === undefined || !('then' in listed) ? listed : await listed
      const messages = messagesForModel(state, agent.contexts)
      const withTools = tools !== undefined && tools.specs.length > 0
      // The usual request (tools, no settings) as one literal: spreads of conditional objects cost more.
      const request: ModelRequest =
        withTools && agent.modelSettings === undefined
          ? { messages, tools: tools.specs, toolChoice: 'auto' }
          : {
              ...agent.modelSettings,
              messages,
              ...(withTools ? { tools: tools.specs, toolChoice: 'auto' as const } : {}),
              ...(agent.responseFormat && !withTools ? { responseFormat: agent.responseFormat } : {}),
            }
      const observed = this.observer.modelCall(command.step, request)
      call = observed
      const outcome = await observed.within(() =>
        executeModelCall({
          model: agent.model,
          request,
          step: command.step,
          epoch,
          control: controller,
          // Method shorthand: one closure per call, not a named one (tsx names each arrow it makes).
          emit(live: LivePart) {
            if (controller.aborted) return
            outlet.live({
              position: {
                seq,
                index: owner.liveIndex++,
                ...(live.block === undefined ? {} : { block: live.block, offset: live.offset ?? 0 }),
                live: { epoch, ...(live.open === undefined ? {} : { open: live.open }) },
              },
              part: live.part,
            })
          },
          plan: agent.plan,
          runId: this.runId,
          tools: tools?.byName,
          ...(agent.parseOutput ? { parseOutput: agent.parseOutput } : {}),
          now: this.host.now,
        }),
      )
      observed.end(controller.aborted ? undefined : outcome)
      if (controller.aborted) return
      this.inflight.delete('model')
      this.enqueue({ kind: 'event', event: outcome, from: 'executor' })
    } catch (error) {
      call?.end()
      this.inflight.delete('model')
      this.host.report(error, this.runId)
    }
  }

  /** The context step runs first; a summary is journaled before the model call is made from it. */
  private summarizeFirst(
    summarizer: Summarizer,
    command: Extract<Command, { type: 'call-model' }>,
    state: RunState,
    controller: CallControl,
  ): void {
    const agent = this.agent as ResolvedAgent
    const context = { runId: this.runId, agentId: agent.id, app: agent.app, signal: controller.signal }
    void summarizeStep(summarizer, state, context)
      .catch((error: unknown) => {
        // A failed summary leaves the context as it was: the model call still goes ahead.
        if (!controller.aborted) this.host.report(error, this.runId)
        return undefined
      })
      .then((event) => {
        if (controller.aborted || this.closed) return
        if (event === undefined) {
          this.callModel(command, state, controller)
          return
        }
        this.enqueue({
          kind: 'event',
          event,
          from: 'executor',
          onCommit: () => {
            if (!controller.aborted && !this.closed)
              this.callModel(command, this.state as RunState, controller)
          },
        })
      })
  }

  private callTool(command: Extract<Command, { type: 'call-tool' }>): void {
    const controller = new CallControl()
    this.inflight.set(command.toolCallId, controller)
    // A run its caller steers by reading: the tool waits until the caller has seen its input.
    const steering = this.host.steered(this.runId, command.toolCallId)
    if (steering !== undefined) {
      void steering.then((go) => {
        if (controller.aborted || this.closed) return
        if (go) return this.findTool(command, controller)
        this.inflight.delete(command.toolCallId)
        this.enqueue({
          kind: 'event',
          event: { type: 'run.cancelled', reason: 'the caller stopped reading before this tool started' },
          from: 'timer',
        })
      })
      return
    }
    this.findTool(command, controller)
  }

  private findTool(command: Extract<Command, { type: 'call-tool' }>, controller: CallControl): void {
    const agent = this.agent as ResolvedAgent
    const known = agent.tool(command.toolName)
    // After a restart no model call has listed the sources' tools yet: list them first.
    if (known === undefined && agent.hasSources)
      void Promise.resolve(agent.toolsFor()).then(
        () => this.startTool(command, agent.tool(command.toolName), controller),
        (error: unknown) => this.host.report(error, this.runId),
      )
    else this.startTool(command, known, controller)
  }

  private startTool(
    command: Extract<Command, { type: 'call-tool' }>,
    tool: Tool | undefined,
    controller: CallControl,
  ): void {
    if (controller.aborted || this.closed) return
    // Write-ahead for tools with effects: the handler runs only once `tool.started` is journaled. A
    // `none` tool may simply run again after a crash, so its start costs no write.
    if (tool?.sideEffects === 'none') this.runTool(command, tool, controller)
    else
      this.enqueue({
        kind: 'event',
        event: { type: 'tool.started', toolCallId: command.toolCallId, at: this.host.now() },
        from: 'executor',
        onCommit: () => this.runTool(command, tool, controller),
      })
  }

  private runTool(
    command: Extract<Command, { type: 'call-tool' }>,
    tool: Tool | undefined,
    controller: CallControl,
  ): void {
    if (controller.aborted || this.closed) return
    const call = this.observer.toolCall(command)
    if (tool === undefined) {
      this.toolEnded(command, controller, call, {
        type: 'tool.failed',
        toolCallId: command.toolCallId,
        error: `Unknown tool '${command.toolName}'`,
      })
      return
    }
    const agent = this.agent as ResolvedAgent
    const state = this.state as RunState
    const owner = this
    const { toolCallId } = command
    // The handler's context for its first attempt, in one literal (a spread of it with more
    // properties after costs far more); `signal` is an own getter, so a spread of it keeps it.
    const attempt = new CallControl(controller)
    const context: { -readonly [Key in keyof ToolContext]: ToolContext[Key] } = {
      runId: this.runId,
      sessionId: state.sessionId,
      agentId: agent.id,
      toolCallId,
      idempotencyKey: command.idempotencyKey,
      get signal() {
        return attempt.signal
      },
      app: agent.app,
      runtime: this.host.runtime,
      fencingToken: (this.lease as Lease).epoch,
      rootRunId: state.rootRunId ?? this.runId,
      // Method shorthand, as in `runModel`; they use no `this`, so a handler may take them apart.
      emit(parts: ReadonlyArray<StreamPart>) {
        if (!controller.aborted) owner.emitForeign(parts)
      },
      reportChild(report: ChildReport) {
        return owner.reportChild(toolCallId, report, controller)
      },
      reportedChildSeq: this.reportedChildSeq,
    }
    if (state.policy.deadline !== undefined) context.deadline = state.policy.deadline
    const outcome = call.within(() =>
      executeTool(tool, toolCallId, command.input, context, {
        signal: controller,
        first: { attempt, context },
        defaultTimeoutMs: agent.toolTimeoutMs,
        defaultRetry: agent.toolRetry,
      }),
    )
    if ('then' in outcome)
      outcome.then(
        (event) => this.toolEnded(command, controller, call, event),
        (error: unknown) => {
          call.end()
          this.host.report(error, this.runId)
        },
      )
    else this.toolEnded(command, controller, call, outcome)
  }

  /** A tool call's outcome: into the mailbox, unless the call was stopped (cancel, shutdown). */
  private toolEnded(
    command: Extract<Command, { type: 'call-tool' }>,
    controller: CallControl,
    call: CallObservation,
    event: RunEvent,
  ): void {
    call.end(controller.aborted ? undefined : event)
    // A tool stopped by cancel or shutdown has no result to journal: the run moved on, or will
    // resolve the call as interrupted when it resumes.
    if (controller.aborted) return
    this.inflight.delete(command.toolCallId)
    this.enqueue({ kind: 'event', event, from: 'executor' })
  }

  /** A tool's `reportedChildSeq`: one function per owner, as it needs nothing of the call. */
  private readonly reportedChildSeq = (childRunId: string): number => this.state?.children?.[childRunId] ?? 0

  /**
   * A child's progress, from the tool that supervises it: journaled as `child.reported` through the
   * mailbox like any outcome, so its parts get journal positions and its charge is replayed.
   */
  private reportChild(toolCallId: string, report: ChildReport, controller: CallControl): Promise<void> {
    if (controller.aborted || this.closed) return Promise.resolve()
    return new Promise((resolve) =>
      this.enqueue({
        kind: 'event',
        event: { type: 'child.reported', toolCallId, ...report },
        from: 'executor',
        done: () => resolve(),
      }),
    )
  }

  /** Parts a tool adds to the stream: live only, between journal entries (not in replays). */
  private emitForeign(parts: ReadonlyArray<StreamPart>): void {
    const outlet = this.host.outlet(this.runId)
    const epoch = (this.lease as Lease).epoch
    const held = this.held
    // Before the next entry (after the last one whose parts went out, not the journal's head, which
    // moves when an append returns, before its parts go out); while an event is held, after it (its
    // seq), out once its own parts are.
    const seq = (held === undefined ? this.outSeq : held.seq) + 1
    for (const part of parts) {
      const positioned = { position: { seq, index: this.liveIndex++, live: { epoch } }, part }
      if (held === undefined) outlet.live(positioned)
      else held.foreign.push(positioned)
    }
  }

  /** Whether the store still has this owner's lease as the current one. */
  private async holdsLease(): Promise<boolean> {
    const held = await this.host.store.getLease(this.runId).catch(() => undefined)
    const lease = this.lease
    return (
      held !== undefined &&
      lease !== undefined &&
      held.ownerId === lease.ownerId &&
      held.epoch === lease.epoch
    )
  }

  /** Starts a new run: `run.started` journaled first, as every event. */
  private async start(
    event: RunEvent,
    lease: Lease,
    agent: ResolvedAgent,
    journaled: number | undefined,
  ): Promise<void> {
    this.lease = lease
    this.agent = agent
    this.actor = createActor(runLogic, { input: undefined })
    this.actor.start()
    this.seq = 0
    this.outSeq = 0
    await this.apply(event, 'executor', journaled)
  }

  /** Takes the run from the store: lease, snapshot and journal tail, then what it was doing. */
  private async wake(republish: boolean): Promise<void> {
    const { store } = this.host
    const loaded = await this.host.acquire(this.runId)
    this.lease = loaded.lease
    this.agent = loaded.agent
    const { state, seq, record } = loaded
    try {
      if (isTerminal(state)) {
        // The process died between journaling the end and the bookkeeping: finish it now.
        this.actor = createActor(runLogic, { input: state })
        this.actor.start()
        this.seq = seq
        this.outSeq = seq
        if (record.status === 'running' || record.status === 'waiting') await this.finish()
        else await this.release(false)
        throw new RunError('invalid-state', `run ${this.runId} is ${state.phase}`, { runId: this.runId })
      }
      if (state.phase === 'idle') {
        // The process died between creating the run and journaling its start: nothing ran.
        const error = new RunError(
          'corrupted',
          `run ${this.runId} never started: its worker stopped before run.started`,
          {
            runId: this.runId,
          },
        )
        await store.updateRun(this.runId, { status: 'failed', error: error.toJSON(), pending: [] })
        this.host.settle(this.runId, { phase: 'failed', error: error.toJSON() })
        await store.releaseLease(loaded.lease).catch(() => undefined)
        this.closed = true
        this.host.released(this)
        throw new RunError('invalid-state', error.message, { runId: this.runId })
      }
      // The index says `running` from here on, before anything is journaled: a crash after the
      // next append leaves a run that `recover()` finds (a `waiting` row it would skip).
      if (record.status !== 'running') await store.updateRun(this.runId, { status: 'running' })
      this.actor = createActor(runLogic, { input: state })
      this.actor.start()
      this.seq = seq
      this.outSeq = seq
      this.eventsSinceSnapshot = 0
      this.observer = this.host.observe(state, loaded.agent)
      this.armBudget()
      const commands = resumeCommands(state)
      // Calls that started without a result: re-run (safe tools) or resolved as unknown (unsafe).
      for (const toolCallId of interruptedToolCalls(state))
        await this.apply({ type: 'tool.interrupted', toolCallId }, 'resume')
      for (const command of commands) {
        if (command.type === 'call-model') this.callModel(command, this.state as RunState)
        else if (command.type === 'call-tool') this.callTool(command)
        else if (republish && (command.type === 'request-approval' || command.type === 'contact-human'))
          this.publishRequest(command.request)
      }
    } catch (error) {
      if (!this.closed && this.actor === undefined)
        await store.releaseLease(loaded.lease).catch(() => undefined)
      throw error
    }
  }

  /** Arms the time budget from the journaled deadline, so it counts across restarts. */
  private armBudget(): void {
    const deadline = this.state?.policy.deadline
    if (deadline === undefined || this.budgetTimer !== undefined) return
    this.budgetTimer = setTimeout(
      () =>
        this.enqueue({
          kind: 'event',
          event: { type: 'budget.exhausted', budget: 'time', detail: 'the time budget ran out' },
          from: 'timer',
        }),
      Math.max(0, deadline - this.host.now()),
    )
    this.budgetTimer.unref?.()
  }

  private async snapshot(): Promise<void> {
    // A snapshot is of the journal's head: a held event goes in first.
    await this.journalHeld()
    await this.host.store.putSnapshot(this.runId, this.seq, this.state as never, runStateVersion)
    this.eventsSinceSnapshot = 0
  }

  /**
   * The run's bookkeeping once it ended; `indexed`: its final index row and session turn went with
   * the last entry (`finalWrite`).
   */
  private async finish(indexed = false): Promise<void> {
    const { store } = this.host
    const state = this.state as RunState
    if (!indexed) {
      // The last entry went alone (a store without `features.sessionTurn`, or finishing for a
      // process that died after it): the session first, once per run, so a crash before the
      // index update re-does it harmlessly.
      const turn = turnOf(state)
      if (turn !== undefined)
        await store.appendSession(turn.sessionId, turn.messages, undefined, { runId: this.runId })
      await store.updateRun(this.runId, finalPatch(state))
    }
    this.host.clearExpiries(this.runId)
    this.observer.closed('ended', state)
    // Settled while the owner is here, so the outcome leaves the runtime's tables with it (settled
    // after the release, it would first be moved to the table of outcomes held weakly). Whoever
    // awaits it runs later, once the run has left memory.
    this.host.settle(
      this.runId,
      state.phase === 'completed'
        ? { phase: 'completed', answer: state.answer }
        : state.phase === 'failed' && state.error
          ? { phase: 'failed', error: state.error }
          : { phase: 'cancelled', reason: 'cancelled' },
    )
    // Taken before the release drops it from the runtime's table (asking after would add a new one).
    const outlet = this.host.outlet(this.runId)
    await this.release(false)
    outlet.signal('ended')
  }

  private async passivate(): Promise<void> {
    const state = this.state
    if (!this.live || state?.phase !== 'waiting' || this.inflight.size > 0 || this.queue.length > 0) return
    await this.snapshot()
    await this.host.store.updateRun(this.runId, { status: 'waiting', pending: state.pending as never })
    this.observer.closed('paused', state)
    await this.release(true)
    this.host.outlet(this.runId).signal('paused')
  }

  /**
   * Stops holding the run in memory. With `releaseLease` (passivation, handover) the lease is freed
   * for anyone at once; without, the run is done here for good (a finished run's lease just expires).
   */
  private async release(releaseLease: boolean): Promise<void> {
    const lease = this.lease
    this.stopActor()
    if (!releaseLease) {
      this.closed = true
      this.host.released(this)
    } else if (lease)
      await this.host.store.releaseLease(lease).catch((error: unknown) => this.host.report(error, this.runId))
  }

  private stopActor(): void {
    this.held = undefined
    if (this.budgetTimer !== undefined) clearTimeout(this.budgetTimer)
    this.budgetTimer = undefined
    for (const controller of this.inflight.values()) controller.abort(handOverReasons.released)
    this.inflight.clear()
    this.actor?.stop()
    this.actor = undefined
  }

  /**
   * Shutdown: the model call stops (the run calls the model again wherever it resumes), running
   * tools finish and journal their outcome, then the run is handed over. Resolves `done` then.
   */
  private async drain(finished: () => void): Promise<void> {
    if (!this.live) return finished()
    this.inflight.get('model')?.abort(handOverReasons.shutdown)
    this.inflight.delete('model')
    if (this.inflight.size === 0) {
      await this.handOver()
      return finished()
    }
    this.draining = finished
  }

  /** Stops now: aborts what still runs, snapshots, frees the lease so another worker continues at once. */
  private async handOver(): Promise<void> {
    if (!this.live) return
    for (const controller of this.inflight.values()) controller.abort(handOverReasons.shutdown)
    this.inflight.clear()
    await this.snapshot().catch((error: unknown) => this.host.report(error, this.runId))
    this.observer.closed('released', this.state)
    await this.release(true)
    this.host.outlet(this.runId).signal('released')
  }

  /** Another worker owns the run now, or the store is gone: stop without writing anything. */
  abandon(cause?: unknown): void {
    if (!this.live) return
    this.observer.closed('lost', this.state)
    this.stopActor()
    this.closed = true
    const outlet = this.host.outlet(this.runId)
    this.host.released(this)
    const lost = !StoreError.isInstance(cause) || cause.reason === 'conflict' || cause.reason === 'fenced'
    if (!lost) this.host.report(cause, this.runId)
    outlet.signal('released')
  }
}
