import {
  type Command,
  type Lease,
  messagesForModel,
  RunError,
  type RunEvent,
  type RunState,
  runStateVersion,
  type SequencedPart,
  StoreError,
  type StreamPart,
  step,
} from '@vel/core'
import * as Cause from 'effect/Cause'
import * as Duration from 'effect/Duration'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Schedule from 'effect/Schedule'
import { type Actor, createActor } from 'xstate'
import type { ResolvedAgent } from './agent.ts'
import { agentMachine } from './agent-machine.ts'
import type { Bus } from './bus.ts'
import { executeModelCall } from './model-executor.ts'
import type { RunChannel } from './run-channel.ts'
import { executeTool } from './tool-executor.ts'

/** What a driver needs from its runtime. */
export interface DriverHost {
  readonly store: import('@vel/core').Store
  readonly bus: Bus
  readonly now: () => number
  channel(runId: string): RunChannel | undefined
  /** The driver stopped holding the run (finished, passivated, abandoned or drained). */
  released(driver: RunDriver, reason: 'finished' | 'passivated' | 'abandoned' | 'drained'): void
  /** An event was journaled at `seq` (for followers of the journal). */
  journaled(runId: string, seq: number): void
  /** A human request with an expiry was published. */
  scheduleExpiry(runId: string, requestId: string, expiresAt: number): void
  /** Errors that have no caller to go to (e.g. a bus failure). */
  report(error: unknown, runId: string): void
}

/** Thrown to the runtime when an event reaches a driver that no longer holds its run. */
export class DriverClosedError extends Error {
  constructor(readonly runId: string) {
    super(`run ${runId} is no longer active here`)
  }
}

/**
 * Appends; while the store reports a retryable (transient) failure, retries a few times on an
 * Effect schedule. The first attempt is a plain call: the hot path pays for no fiber.
 */
async function appendWithRetry(append: () => Promise<number>): Promise<number> {
  try {
    return await append()
  } catch (error) {
    if (!StoreError.isInstance(error) || !error.retryable) throw error
  }
  const retried = Effect.retry(Effect.tryPromise({ try: append, catch: (error) => error }), {
    schedule: Schedule.exponential(Duration.millis(50)).pipe(Schedule.intersect(Schedule.recurs(2))),
    while: (error) => StoreError.isInstance(error) && error.retryable,
  })
  const exit = await Effect.runPromiseExit(retried)
  if (Exit.isSuccess(exit)) return exit.value
  throw Cause.squash(exit.cause)
}

const isTerminal = (state: RunState) =>
  state.phase === 'completed' || state.phase === 'failed' || state.phase === 'cancelled'

/**
 * Holds one live run in this process: the agent actor, the write-ahead journal and the execution of
 * commands. Events are processed one at a time: journaled first (fenced by the lease), then sent to
 * the actor, then the resulting commands are carried out. A run waiting only on humans is
 * passivated: snapshot written, lease released, actor stopped, nothing left in memory.
 */
export class RunDriver {
  readonly runId: string
  state: RunState
  seq: number
  lease: Lease
  private readonly actor: Actor<typeof agentMachine>
  private queue: Promise<unknown> = Promise.resolve()
  private partSeq = 0
  private eventsSinceSnapshot = 0
  private inflight = 0
  private closed = false
  private draining: (() => void) | undefined
  private budgetTimer: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly host: DriverHost,
    readonly agent: ResolvedAgent,
    state: RunState,
    seq: number,
    lease: Lease,
    runId: string,
  ) {
    this.runId = runId
    this.state = state
    this.seq = seq
    this.lease = lease
    this.actor = createActor(agentMachine, {
      input: { state, execute: (command, state, signal) => this.execute(command, state, signal) },
    })
    this.actor.start()
  }

  get active(): boolean {
    return !this.closed
  }

  /** Starts executors for commands of a rehydrated run (model call, queued tools). */
  resume(commands: Command[]): void {
    this.armBudget()
    const executable = commands.filter(
      (command) => command.type === 'call-model' || command.type === 'call-tool',
    )
    if (executable.length > 0) this.actor.send({ type: 'vel.execute', commands: executable })
    for (const command of commands) {
      if (command.type === 'request-approval' || command.type === 'contact-human')
        this.publishRequest(command.request)
    }
  }

  /**
   * Journals an event and applies it. `external` events (from callers) are checked first and
   * rejected with a `RunError { reason: 'invalid-state' }` if illegal; internal ones from this
   * run's executors are dropped once the run has ended.
   */
  dispatch(event: RunEvent, external = false): Promise<void> {
    const result = this.queue.then(() => this.process(event, external))
    this.queue = result.catch(() => undefined)
    return result
  }

  private async process(event: RunEvent, external: boolean): Promise<void> {
    if (this.closed) throw new DriverClosedError(this.runId)
    if (external) {
      const [, commands] = step(this.state, event)
      const first = commands[0]
      if (commands.length === 1 && first?.type === 'reject')
        throw new RunError('invalid-state', `${event.type} rejected: ${first.reason}`, { runId: this.runId })
    } else if (isTerminal(this.state) || (this.draining && event.type.startsWith('model.'))) return
    const entry = { type: event.type, data: event as never, at: this.host.now() }
    try {
      this.seq = await appendWithRetry(() =>
        this.host.store.append(this.runId, [entry], this.seq, { lease: this.lease }),
      )
    } catch (error) {
      // Lost ownership, or the store stays unavailable: stop holding the run (nothing half-applied;
      // the event was not journaled). Its lease expires and `recover()` continues it from the store.
      this.abandon(error)
      if (StoreError.isInstance(error) && (error.reason === 'conflict' || error.reason === 'fenced'))
        throw new RunError('invalid-state', `run ${this.runId} is owned by another worker now`, {
          runId: this.runId,
          cause: error,
        })
      throw error
    }
    this.host.journaled(this.runId, this.seq)
    if (event.type === 'run.started') this.armBudget(event.policy?.deadline)
    const before = this.state.phase
    this.actor.send(event)
    const { state, commands } = this.actor.getSnapshot().context
    this.state = state
    this.eventsSinceSnapshot += 1
    // A run brought back by an answer is running again: the index must not keep saying `waiting`.
    if (before === 'waiting' && (state.phase === 'acting' || state.phase === 'thinking'))
      await this.host.store.updateRun(this.runId, { status: 'running', pending: state.pending as never })
    await this.carryOut(commands)
  }

  private async carryOut(commands: ReadonlyArray<Command>): Promise<void> {
    for (const command of commands) {
      switch (command.type) {
        case 'emit':
          this.emit(command.parts)
          break
        case 'request-approval':
        case 'contact-human':
          this.publishRequest(command.request)
          break
        case 'finish':
          await this.finish()
          return
        default:
          // call-model/call-tool run as child actors; abort-inflight happens as the actor stops.
          break
      }
    }
    if (this.state.phase === 'waiting' && this.inflight === 0) await this.passivate()
    else if (this.eventsSinceSnapshot >= this.agent.snapshotEvery) await this.snapshot()
  }

  private publishRequest(request: import('@vel/core').HumanRequest): void {
    if (request.expiresAt !== undefined)
      this.host.scheduleExpiry(this.runId, request.requestId, request.expiresAt)
    this.host.bus
      .publishRequest({ runId: this.runId, agentId: this.agent.id, request })
      .catch((error: unknown) => this.host.report(error, this.runId))
  }

  /** Sends parts to in-process watchers and the bus, numbered in order. */
  emit(parts: ReadonlyArray<StreamPart>): void {
    const sequenced: SequencedPart[] = parts.map((part) => {
      this.partSeq += 1
      return { seq: this.partSeq, journalSeq: this.seq, part }
    })
    this.host.channel(this.runId)?.deliver(sequenced)
    this.host.bus.publishParts(this.runId, sequenced)
  }

  /** Runs a model or tool command (called by the actor's child executors). */
  private async execute(command: Command, state: RunState, signal: AbortSignal): Promise<void> {
    if (this.closed || (this.draining && command.type === 'call-model')) return
    this.inflight += 1
    try {
      if (command.type === 'call-model') await this.callModel(command, state, signal)
      else if (command.type === 'call-tool') await this.callTool(command, signal)
    } catch (error) {
      if (!(error instanceof DriverClosedError) && !RunError.isInstance(error))
        this.host.report(error, this.runId)
    } finally {
      this.inflight -= 1
      if (this.inflight === 0) this.afterIdle()
    }
  }

  private afterIdle(): void {
    if (this.closed) return
    if (this.draining) {
      const done = this.draining
      void this.dispatchInternal(() => this.release('drained')).then(done)
    } else if (this.state.phase === 'waiting') void this.dispatchInternal(() => this.passivate())
  }

  /** Runs `work` in the event queue, after events already queued. */
  private dispatchInternal(work: () => Promise<void>): Promise<void> {
    const result = this.queue.then(() => (this.closed ? undefined : work()))
    this.queue = result.catch((error: unknown) => this.host.report(error, this.runId))
    return this.queue as Promise<void>
  }

  private async callModel(
    command: Extract<Command, { type: 'call-model' }>,
    state: RunState,
    signal: AbortSignal,
  ): Promise<void> {
    const agent = this.agent
    const tools = command.tools && agent.specs.length > 0
    const outcome = await executeModelCall({
      model: agent.model,
      request: {
        ...agent.modelSettings,
        messages: messagesForModel(state, agent.contexts),
        ...(tools ? { tools: agent.specs, toolChoice: 'auto' as const } : {}),
        ...(agent.responseFormat && !tools ? { responseFormat: agent.responseFormat } : {}),
      },
      step: command.step,
      signal,
      emit: (parts) => {
        if (!this.closed) this.emit(parts)
      },
      plan: (calls) => agent.plan(calls, { runId: this.runId }),
      ...(agent.parseOutput ? { parseOutput: agent.parseOutput } : {}),
      now: this.host.now,
    })
    if (signal.aborted) return
    await this.dispatch(outcome)
  }

  private async callTool(
    command: Extract<Command, { type: 'call-tool' }>,
    signal: AbortSignal,
  ): Promise<void> {
    const tool = this.agent.tools.get(command.toolName)
    // Write-ahead for tools with effects. A `none` tool may simply run again after a crash, which
    // is what resuming a queued call does, so its start costs no journal write.
    if (tool?.sideEffects !== 'none')
      await this.dispatch({ type: 'tool.started', toolCallId: command.toolCallId, at: this.host.now() })
    if (this.closed || signal.aborted) return
    const outcome =
      tool === undefined
        ? {
            type: 'tool.failed' as const,
            toolCallId: command.toolCallId,
            error: `Unknown tool '${command.toolName}'`,
          }
        : await executeTool(
            tool,
            command.toolCallId,
            command.input,
            {
              runId: this.runId,
              sessionId: this.state.sessionId,
              agentId: this.agent.id,
              idempotencyKey: command.idempotencyKey,
              app: this.agent.app,
              ...(this.state.policy.deadline === undefined ? {} : { deadline: this.state.policy.deadline }),
              emit: (parts) => {
                if (!this.closed && !signal.aborted) this.emit(parts)
              },
            },
            { signal, defaultTimeoutMs: this.agent.toolTimeoutMs },
          )
    // A tool stopped by cancel or shutdown has no result to journal: the run moved on, or will
    // resolve the call as interrupted when it resumes.
    if (signal.aborted) return
    await this.dispatch(outcome)
  }

  /** Arms the time budget from the journaled deadline, so it counts across restarts. */
  private armBudget(deadline = this.state.policy.deadline): void {
    if (deadline === undefined || this.budgetTimer !== undefined || isTerminal(this.state)) return
    this.budgetTimer = setTimeout(
      () => {
        this.dispatch({ type: 'budget.exhausted', budget: 'time', detail: 'the time budget ran out' }).catch(
          () => undefined,
        )
      },
      Math.max(0, deadline - this.host.now()),
    )
    this.budgetTimer.unref?.()
  }

  private async snapshot(): Promise<void> {
    await this.host.store.putSnapshot(this.runId, this.seq, this.state as never, runStateVersion)
    this.eventsSinceSnapshot = 0
  }

  private async finish(): Promise<void> {
    const { store } = this.host
    const state = this.state
    // The end is snapshotted like any point: when the tail since the last snapshot is long enough.
    if (this.eventsSinceSnapshot >= this.agent.snapshotEvery) await this.snapshot()
    await store.updateRun(this.runId, {
      status: state.phase as 'completed' | 'failed' | 'cancelled',
      answer: state.answer,
      error: state.error,
      pending: [],
    })
    if (state.sessionId !== null && state.phase === 'completed')
      await store.appendSession(state.sessionId, state.messages.slice(state.priorCount))
    const channel = this.host.channel(this.runId)
    await this.release('finished')
    if (state.phase === 'completed') channel?.finish({ phase: 'completed', answer: state.answer })
    else if (state.phase === 'failed' && state.error) channel?.finish({ phase: 'failed', error: state.error })
    else channel?.finish({ phase: 'cancelled', reason: 'cancelled' })
  }

  private async passivate(): Promise<void> {
    if (this.closed || this.state.phase !== 'waiting') return
    await this.snapshot()
    await this.host.store.updateRun(this.runId, { status: 'waiting', pending: this.state.pending as never })
    await this.release('passivated')
  }

  private async release(reason: 'finished' | 'passivated' | 'drained'): Promise<void> {
    if (this.closed) return
    if (reason === 'drained') await this.snapshot()
    this.close()
    // A finished run's lease needs no release: nothing recovers a finished run, and it expires.
    if (reason !== 'finished')
      await this.host.store
        .releaseLease(this.lease)
        .catch((error: unknown) => this.host.report(error, this.runId))
    this.host.released(this, reason)
  }

  private close(): void {
    this.closed = true
    if (this.budgetTimer !== undefined) clearTimeout(this.budgetTimer)
    this.actor.stop()
  }

  /** Shutdown after the grace period: abort what still runs, write nothing more, release the lease. */
  async halt(): Promise<void> {
    if (this.closed) return
    this.close()
    await this.host.store
      .releaseLease(this.lease)
      .catch((error: unknown) => this.host.report(error, this.runId))
    this.host.released(this, 'drained')
  }

  /** Another worker owns the run now, or the store is gone: stop without writing anything. */
  abandon(cause?: unknown): void {
    if (this.closed) return
    this.close()
    const lost = !StoreError.isInstance(cause) || cause.reason === 'conflict' || cause.reason === 'fenced'
    this.host.channel(this.runId)?.finish({
      phase: 'failed',
      error: lost
        ? {
            tag: 'RunError',
            reason: 'invalid-state',
            message: 'another worker took over this run',
            retryable: false,
          }
        : cause.toJSON(),
    })
    this.host.released(this, 'abandoned')
  }

  /** Lets running tools finish, stops model calls, and leaves the run resumable. */
  drain(): Promise<void> {
    if (this.closed) return Promise.resolve()
    return new Promise<void>((resolve) => {
      this.draining = resolve
      if (this.inflight === 0) this.afterIdle()
      else
        for (const child of Object.values(this.actor.getSnapshot().children)) {
          if (child?.id.startsWith('model-')) child.stop()
        }
    })
  }
}
