import { isToolError, type Message, type ToolResultPart } from './messages.ts'
import type { ContextPolicy, RunState } from './run-state.ts'

/** A custom context policy: from the run state, the exact messages to send. Must be pure. */
export type ContextFunction = (state: RunState) => ReadonlyArray<Message>

/**
 * The exact messages the next model call receives (Factor 2 and 3: nothing hidden, all from
 * state). `full` sends everything; `window` keeps system messages and the last `maxMessages`
 * others without splitting a tool call from its result; `stateless` drops prior session history;
 * `custom` calls the named function. Repeated identical tool errors are folded in every policy.
 */
export function messagesForModel(
  state: RunState,
  custom?: Readonly<Record<string, ContextFunction>>,
): ReadonlyArray<Message> {
  const policy: ContextPolicy = state.policy.context
  let messages: ReadonlyArray<Message>
  switch (policy.type) {
    case 'full':
      messages = state.messages
      break
    case 'window':
      messages = slidingWindow(state.messages, policy.maxMessages)
      break
    case 'stateless':
      messages = [
        ...state.messages.slice(0, state.priorCount).filter((message) => message.role === 'system'),
        ...state.messages.slice(state.priorCount),
      ]
      break
    case 'custom': {
      const fn = custom?.[policy.name]
      messages = fn ? fn(state) : state.messages
      break
    }
  }
  // Folding needs at least two errors; skipping the scan keeps the hot path flat.
  return state.toolErrors > 1 ? foldRepeatedErrors(messages) : messages
}

/** System messages plus the last `maxMessages` others, never starting on an orphaned tool result. */
export function slidingWindow(messages: ReadonlyArray<Message>, maxMessages: number): Message[] {
  const others = messages.filter((message) => message.role !== 'system')
  let start = Math.max(0, others.length - Math.max(1, maxMessages))
  while (start < others.length && others[start]?.role === 'tool') start += 1
  const kept = new Set(others.slice(start))
  return messages.filter((message) => message.role === 'system' || kept.has(message))
}

/** Replaces the text of a tool error seen before (same tool, same text) with a short back-reference. */
export function foldRepeatedErrors(messages: ReadonlyArray<Message>): ReadonlyArray<Message> {
  const seen = new Map<string, number>()
  let changed = false
  const folded = messages.map((message) => {
    if (message.role !== 'tool') return message
    let touched = false
    const content = message.content.map((part): ToolResultPart => {
      if (!isToolError(part)) return part
      const key = `${part.toolName}\u0000${part.error}`
      const count = (seen.get(key) ?? 0) + 1
      seen.set(key, count)
      if (count === 1) return part
      touched = true
      return { ...part, error: `Same error as before from '${part.toolName}' (repeat ${count}).` }
    })
    if (!touched) return message
    changed = true
    return { ...message, content }
  })
  return changed ? folded : messages
}
