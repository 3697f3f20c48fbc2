import {
  costOf,
  type JournalEntry,
  type JsonValue,
  type ModelPrice,
  type RunEvent,
  type Usage,
} from '@vel/core'

/** One row of a run's journal as the inspector shows it. */
export interface TimelineRow {
  readonly seq: number
  /** The event type, e.g. `model.responded`. */
  readonly type: string
  /** Epoch ms the entry was journaled. */
  readonly at: number
  /**
   * How long the thing this entry ends took: a model call since the entry before it (the call
   * starts once that entry is journaled), a tool since its `tool.started` (or, for a tool with no
   * side effects, which journals no start, since the entry that let it run), a human decision or
   * answer since the model response that asked for it. Absent for entries that end nothing.
   */
  readonly durationMs?: number
  /** Token usage of a model response. */
  readonly usage?: Usage
  /** Cost in US dollars of a model response at the run's price; absent when its model has none. */
  readonly costUsd?: number
  /** One line about what happened (tool name, decision, a snippet of text). */
  readonly summary: string
}

const snippetLength = 160

/** Compact JSON or text, cut to `max` characters. */
export const snippet = (value: JsonValue | undefined, max = snippetLength): string => {
  const text = typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value)
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/**
 * The journal as a timeline: one row per entry, with durations computed from the entries' times,
 * tokens of model responses and their cost at `price` (the run's, `state.policy.price`), and a
 * one-line summary. Pure; entries in seq order.
 */
export function timelineOf(entries: ReadonlyArray<JournalEntry>, price?: ModelPrice): TimelineRow[] {
  const toolNames = new Map<string, string>()
  const toolStarted = new Map<string, number>()
  // When each tool call could start: its model response, or the approval that let it run.
  const toolReady = new Map<string, number>()
  const requestedAt = new Map<string, number>()
  const rows: TimelineRow[] = []
  let previousAt: number | undefined
  for (const entry of entries) {
    const event = entry.data as unknown as RunEvent
    let durationMs: number | undefined
    let summary = ''
    let usage: Usage | undefined
    switch (event.type) {
      case 'run.started':
        summary = snippet(
          event.input
            .map((message) => (message.role === 'user' ? contentText(message.content) : ''))
            .join(' '),
        )
        break
      case 'model.responded': {
        if (previousAt !== undefined) durationMs = entry.at - previousAt
        usage = event.usage
        const calls: string[] = []
        let text = ''
        for (const part of event.message.content) {
          if (part.type === 'text') text += part.text
          if (part.type === 'tool-call') {
            toolNames.set(part.id, part.name)
            calls.push(part.name)
          }
        }
        for (const plan of event.plan) {
          if (plan.action === 'approve' || plan.action === 'ask-human')
            requestedAt.set(plan.toolCallId, entry.at)
          else toolReady.set(plan.toolCallId, entry.at)
        }
        summary = [text === '' ? '' : snippet(text), calls.length === 0 ? '' : `calls ${calls.join(', ')}`]
          .filter(Boolean)
          .join(' · ')
        break
      }
      case 'model.failed':
        if (previousAt !== undefined) durationMs = entry.at - previousAt
        summary = `${event.error.reason}: ${snippet(event.error.message)}`
        break
      case 'tool.started':
        toolStarted.set(event.toolCallId, entry.at)
        summary = toolNames.get(event.toolCallId) ?? event.toolCallId
        break
      case 'tool.succeeded':
      case 'tool.failed':
      case 'tool.interrupted': {
        const started = toolStarted.get(event.toolCallId) ?? toolReady.get(event.toolCallId)
        if (started !== undefined) durationMs = entry.at - started
        const name = toolNames.get(event.toolCallId) ?? event.toolCallId
        summary =
          event.type === 'tool.succeeded'
            ? `${name} → ${snippet(event.output)}`
            : event.type === 'tool.failed'
              ? `${name} failed: ${snippet(event.error)}`
              : `${name} interrupted`
        break
      }
      case 'approval.decided': {
        const asked = requestedAt.get(event.toolCallId)
        if (asked !== undefined) durationMs = entry.at - asked
        if (event.approved) toolReady.set(event.toolCallId, entry.at)
        const name = toolNames.get(event.toolCallId) ?? event.toolCallId
        summary = [
          `${name} ${event.approved ? 'approved' : 'denied'}`,
          event.by === undefined ? '' : `by ${event.by}`,
          event.reason === undefined ? '' : `(${snippet(event.reason)})`,
        ]
          .filter(Boolean)
          .join(' ')
        break
      }
      case 'human.responded': {
        const asked = requestedAt.get(event.requestId)
        if (asked !== undefined) durationMs = entry.at - asked
        summary = `${snippet(event.answer)}${event.by === undefined ? '' : ` (by ${event.by})`}`
        break
      }
      case 'run.cancelled':
        summary = event.reason ?? ''
        break
      case 'budget.exhausted':
        summary = `${event.budget}${event.detail === undefined ? '' : `: ${event.detail}`}`
        break
    }
    const costUsd = usage === undefined || price === undefined ? undefined : costOf(usage, price)
    rows.push({
      seq: entry.seq,
      type: entry.type,
      at: entry.at,
      ...(durationMs === undefined ? {} : { durationMs }),
      ...(usage === undefined ? {} : { usage }),
      ...(costUsd === undefined ? {} : { costUsd }),
      summary,
    })
    previousAt = entry.at
  }
  return rows
}

/** The text of a user message's content (a string or parts). */
export const contentText = (content: unknown): string => {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content.map((part) => (part?.type === 'text' ? String(part.text) : `[${part?.type}]`)).join(' ')
}
