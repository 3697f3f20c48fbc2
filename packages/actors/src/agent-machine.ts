import { type Command, type RunEvent, type RunState, step } from '@vel/core'
import { type AnyActorRef, assign, enqueueActions, fromPromise, setup, stopChild } from 'xstate'

/** What an executor child actor receives: the command and a way to report events back. */
export interface ExecutorInput {
  readonly command: Command
  /** The run state the command was issued in (the model call's context is computed from it). */
  readonly state: RunState
  /** Runs the command to completion; reports outcomes as events through the run's journal. */
  readonly execute: (command: Command, state: RunState, signal: AbortSignal) => Promise<void>
}

const executor = fromPromise<void, ExecutorInput>(({ input, signal }) =>
  input.execute(input.command, input.state, signal),
)

/** Internal: run these commands' executors (used when a run is rehydrated). */
export interface ExecuteEvent {
  readonly type: 'vel.execute'
  readonly commands: Command[]
}

const isRunEvent = (event: { type: string }): event is RunEvent =>
  !event.type.startsWith('xstate.') && event.type !== 'vel.execute'

const phases = ['idle', 'thinking', 'acting', 'waiting', 'completed', 'failed', 'cancelled'] as const

/** Eventless transitions from `current` to the state named like the run's phase, when it changed. */
const follow = (current: string) =>
  phases
    .filter((phase) => phase !== current)
    .map((phase) => ({ guard: { type: 'phaseIs' as const, params: { phase } }, target: `#agent.${phase}` }))

/**
 * The agent actor. Its context is the run state; every run event goes through the pure `step`
 * reducer, and the machine's state mirrors the resulting phase (nothing here decides what the
 * reducer decides). `call-model` and `call-tool` commands run as spawned child actors, so stopping
 * the agent (cancel, passivation, shutdown) stops and aborts them. The other commands are left in
 * `context.commands` for the driver, which owns the journal and the outside world.
 */
export const agentMachine = setup({
  types: {
    context: {} as { state: RunState; commands: Command[]; execute: ExecutorInput['execute'] },
    events: {} as RunEvent | ExecuteEvent,
    input: {} as { state: RunState; execute: ExecutorInput['execute'] },
  },
  actors: { executor },
  actions: {
    apply: assign(({ context, event }) => {
      if (event.type === 'vel.execute') return { commands: event.commands }
      const [state, commands] = step(context.state, event)
      return { state, commands }
    }),
    spawnExecutors: enqueueActions(({ context, enqueue }) => {
      for (const command of context.commands) {
        if (command.type === 'call-model')
          enqueue.spawnChild('executor', {
            id: `model-${command.step}`,
            input: { command, state: context.state, execute: context.execute },
          })
        else if (command.type === 'call-tool')
          enqueue.spawnChild('executor', {
            id: `tool-${command.toolCallId}`,
            input: { command, state: context.state, execute: context.execute },
          })
      }
    }),
  },
  guards: {
    isRunEvent: ({ event }) => isRunEvent(event),
    phaseIs: ({ context }, params: { phase: RunState['phase'] }) => context.state.phase === params.phase,
  },
}).createMachine({
  id: 'agent',
  context: ({ input }) => ({ state: input.state, commands: [], execute: input.execute }),
  initial: 'routing',
  on: {
    // Every run event goes through the reducer without leaving the current state; the state then
    // follows the phase through the eventless transitions below (only when the phase changed).
    '*': { guard: 'isRunEvent', actions: ['apply', 'spawnExecutors'] },
    'vel.execute': { actions: ['apply', 'spawnExecutors'] },
    // A finished executor is removed at once: children kept around make every later event slower.
    'xstate.done.actor.*': {
      actions: stopChild(({ event }) => (event as unknown as { actorId: string }).actorId),
    },
    'xstate.error.actor.*': {
      actions: stopChild(({ event }) => (event as unknown as { actorId: string }).actorId),
    },
  },
  states: {
    // Entered on start and on rehydration: go to the state that mirrors the phase.
    routing: { always: follow('routing') },
    idle: { always: follow('idle') },
    thinking: { always: follow('thinking') },
    acting: { always: follow('acting') },
    waiting: { always: follow('waiting') },
    completed: { type: 'final' },
    failed: { type: 'final' },
    cancelled: { type: 'final' },
  },
})

export type AgentActorRef = AnyActorRef
