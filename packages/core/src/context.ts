import { isToolError, type Message, type ToolResultPart } from './messages.ts'
import type { ContextPolicy, RunState } from './run-state.ts'

/** A custom context policy: from the run state, the exact messages to send. Must be pure. */
export type ContextFunction = (state: RunState) => ReadonlyArray<Message>

/** How the summary of older messages is put before the messages it does not cover. */
export const summaryPreamble = 'Summary of the earlier conversation:\n'

/**
 * Where a summary of the messages before `upTo` may end: moved past tool results, so the kept
 * messages never start with a result whose call was summarized away.
 */
export function summaryBoundary(messages: ReadonlyArray<Message>, upTo: number): number {
  let boundary = Math.max(0, Math.min(upTo, messages.length))
  while (boundary < messages.length && messages[boundary]?.role === 'tool') boundary += 1
  return boundary
}

/**
 * The transcript with `state.summary` applied: the system messages before its `upTo`, the summary
 * as a system message, then the messages from `upTo` on. Without a summary, `state.messages`.
 * Custom context functions that want the summary start from this.
 */
export function withSummary(state: RunState): ReadonlyArray<Message> {
  const summary = state.summary
  if (summary === undefined) return state.messages
  const kept: Message[] = []
  for (let index = 0; index < summary.upTo; index++) {
    const message = state.messages[index] as Message
    if (message.role === 'system') kept.push(message)
  }
  kept.push({ role: 'system', content: `${summaryPreamble}${summary.text}` })
  for (let index = summary.upTo; index < state.messages.length; index++)
    kept.push(state.messages[index] as Message)
  return kept
}

/**
 * The exact messages the next model call receives (Factor 2 and 3: nothing hidden, all from
 * state). A summary written by the agent's `summarize` step (`state.summary`) stands for the
 * messages it covers, then the policy applies: `full` sends everything; `window` keeps system
 * messages and the last `maxMessages` others without splitting a tool call from its result;
 * `stateless` drops prior session history; `custom` calls the named function with the state (see
 * `withSummary`). Repeated identical tool errors are folded in every policy.
 */
export function messagesForModel(
  state: RunState,
  custom?: Readonly<Record<string, ContextFunction>>,
): ReadonlyArray<Message> {
  const policy: ContextPolicy = state.policy.context
  let messages: ReadonlyArray<Message>
  switch (policy.type) {
    case 'full':
      messages = withSummary(state)
      break
    case 'window':
      messages = slidingWindow(withSummary(state), policy.maxMessages)
      break
    case 'stateless': {
      // Prior history is dropped, summarized or not; the run's own messages keep their summary.
      const from = Math.max(state.priorCount, state.summary?.upTo ?? 0)
      const summary = state.summary && state.summary.upTo > state.priorCount ? state.summary : undefined
      messages = [
        ...state.messages.slice(0, state.priorCount).filter((message) => message.role === 'system'),
        ...(summary ? [{ role: 'system' as const, content: `${summaryPreamble}${summary.text}` }] : []),
        ...state.messages.slice(from),
      ]
      break
    }
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
