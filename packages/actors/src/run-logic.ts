import {
  type Command,
  decodeRunState,
  emptyRunState,
  type JsonValue,
  type RunEvent,
  type RunState,
  step,
} from '@vel/core'
import type { ActorLogic, ActorRefFromLogic, ActorSystem, EventObject, Snapshot } from 'xstate'

/**
 * The run actor's snapshot: XState's snapshot fields around the reducer's `RunState` (its
 * `context`) and the commands the last event produced. Only `context` is persisted.
 */
export type RunSnapshot = Snapshot<JsonValue> & {
  readonly context: RunState
  /** What the last event asked the edge to do; consumed by the run's owner, never persisted. */
  readonly commands: ReadonlyArray<Command>
}

const isTerminal = (state: RunState): boolean =>
  state.phase === 'completed' || state.phase === 'failed' || state.phase === 'cancelled'

const snapshotOf = (state: RunState, commands: ReadonlyArray<Command>): RunSnapshot =>
  isTerminal(state)
    ? { status: 'done', output: state.answer, error: undefined, context: state, commands }
    : { status: 'active', output: undefined, error: undefined, context: state, commands }

/**
 * A run as XState actor logic: `transition` is `@vel/core`'s `step` and nothing else, the persisted
 * snapshot is the `RunState`, and restoring checks it with `decodeRunState`. Resuming a run is
 * creating the actor from its stored snapshot and sending it the journal's tail, the same events
 * through the same `step`. The logic runs nothing: the run's owner journals each event and only then
 * acts on the commands in the new snapshot.
 */
export const runLogic: ActorLogic<
  RunSnapshot,
  RunEvent & EventObject,
  RunState | undefined,
  // biome-ignore lint/suspicious/noExplicitAny: XState's own system type
  ActorSystem<any>
> = {
  transition: (snapshot, event) => {
    const [state, commands] = step(snapshot.context, event)
    return snapshotOf(state, commands)
  },
  getInitialSnapshot: (_scope, input) => snapshotOf(input ?? emptyRunState, []),
  getPersistedSnapshot: (snapshot) =>
    ({
      status: snapshot.status,
      output: snapshot.output,
      error: undefined,
      context: snapshot.context,
    }) as never,
  restoreSnapshot: (persisted) =>
    snapshotOf(decodeRunState((persisted as { context?: unknown }).context ?? persisted), []),
}

/** A live run actor. */
export type RunActorRef = ActorRefFromLogic<typeof runLogic>
