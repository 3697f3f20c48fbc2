import { RunError } from './errors.ts'
import type { RunPhase, RunState } from './run-state.ts'
import { runStateVersion } from './run-state.ts'

const phases: ReadonlySet<RunPhase> = new Set([
  'idle',
  'thinking',
  'acting',
  'waiting',
  'completed',
  'failed',
  'cancelled',
])

/**
 * Upgrades for older snapshot shapes, by the version they upgrade from. Version 1 is current; when
 * `RunState` changes, bump `runStateVersion` and add `1: (state) => ({ ...state, newField })`.
 */
const upgrades: Readonly<Record<number, (state: Record<string, unknown>) => Record<string, unknown>>> = {}

const roles: ReadonlySet<string> = new Set(['system', 'user', 'assistant', 'tool'])

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Checks and upgrades a stored state (a snapshot) to the current `RunState` shape. A state that is
 * not one, or is from a newer version, is a `RunError { reason: 'corrupted' }`; nothing is changed.
 */
export function decodeRunState(value: unknown, schemaVersion: number = runStateVersion): RunState {
  const corrupt = (why: string): never => {
    throw new RunError('corrupted', `snapshot is not a valid run state: ${why}`)
  }
  if (!isObject(value)) return corrupt('not an object')
  if (schemaVersion > runStateVersion)
    corrupt(`version ${schemaVersion} is newer than this code (${runStateVersion})`)
  let state = value
  for (let version = schemaVersion; version < runStateVersion; version++) {
    const upgrade = upgrades[version]
    if (upgrade === undefined) corrupt(`no upgrade from version ${version}`)
    else state = { ...upgrade(state), version: version + 1 }
  }
  if (typeof state.runId !== 'string' || state.runId === '') corrupt('runId missing')
  if (!phases.has(state.phase as RunPhase)) corrupt(`unknown phase ${JSON.stringify(state.phase)}`)
  if (!Array.isArray(state.messages)) corrupt('messages is not an array')
  if (!Array.isArray(state.toolCalls) || !Array.isArray(state.pending)) corrupt('toolCalls/pending missing')
  if (typeof state.step !== 'number' || !isObject(state.policy) || !isObject(state.usage))
    corrupt('step/policy/usage missing')
    // The transcript is what the model is sent: a message of the wrong shape would be sent as is.
  ;(state.messages as unknown[]).forEach((message, index) => {
    if (!isObject(message) || !roles.has(message.role as string))
      corrupt(`messages[${index}] is not a message`)
    const content = (message as { content?: unknown }).content
    if (typeof content !== 'string' && !Array.isArray(content)) corrupt(`messages[${index}] has no content`)
  })
  return state as unknown as RunState
}
