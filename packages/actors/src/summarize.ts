import {
  addUsage,
  emptyUsage,
  isToolError,
  type LanguageModel,
  type Message,
  type RunEvent,
  type RunState,
  summaryBoundary,
  type Usage,
} from '@vel/core'

/** What an agent's `summarize` step is given besides the run state. */
export interface SummarizerContext {
  readonly runId: string
  readonly agentId: string
  /** The agent's `app` values. */
  readonly app: Readonly<Record<string, unknown>>
  /** Aborted when the run is cancelled, passivated, handed over or shut down: stop then. */
  readonly signal: AbortSignal
}

/** A summary the step wrote: it stands for `state.messages` before `upTo` from now on. */
export interface Summary {
  /** Index in `state.messages`; past the last summary's, and leaving at least one message after it. */
  readonly upTo: number
  /** The summary text, sent as a system message in place of the messages it covers. */
  readonly summary: string
  /** Tokens the summarizing call used; they count toward the run's token budget. */
  readonly usage?: Partial<Usage>
}

/**
 * An asynchronous context step (Factor 3): called at the edge before each model call of a run,
 * with the state the call would be made from. Return `undefined` to leave the context as it is, or
 * a `Summary`. A summary is journaled (`context.summarized`) before the model call is made, so a
 * replay, a resume on another worker and `runtime.get` all see the same context without calling
 * the summarizer again. `state.summary` is the last summary written, if any. If the step throws,
 * the model call goes ahead with the context unsummarized and the error goes to `onError`.
 */
export type Summarizer = (
  state: RunState,
  context: SummarizerContext,
) => Summary | undefined | null | Promise<Summary | undefined | null>

/** Options of `createSummarizer`. */
export interface SummarizerOptions {
  /** The model that writes summaries (often a smaller one than the agent's). */
  readonly model: LanguageModel
  /** Summarize once more than this many messages (system messages aside) are not summarized yet. */
  readonly maxMessages: number
  /** The newest messages kept verbatim after a summary. Default half of `maxMessages`. */
  readonly keepLast?: number
  /** The summarizing model's instructions. */
  readonly instructions?: string
}

const defaultInstructions =
  'You summarize a conversation between a user, an assistant and its tools for the assistant to continue it. Keep every fact, name, number, decision and open question; drop pleasantries. Answer with the summary only.'

const render = (message: Message): string => {
  if (typeof message.content === 'string') return `${message.role}: ${message.content}`
  const parts = message.content.map((part) => {
    switch (part.type) {
      case 'text':
        return part.text
      case 'tool-call':
        return `[called ${part.name} with ${JSON.stringify(part.input)}]`
      case 'tool-result':
        return isToolError(part)
          ? `[${part.toolName} failed: ${part.error}]`
          : `[${part.toolName} returned ${JSON.stringify(part.output)}]`
      default:
        return ''
    }
  })
  return `${message.role}: ${parts.filter((part) => part !== '').join(' ')}`
}

/**
 * The built-in summarizing step: once more than `maxMessages` messages are unsummarized, a model
 * call summarizes all but the newest `keepLast` (with the previous summary, if any), and the
 * summary stands for them from then on. The summary and its usage are journaled with the run.
 */
export function createSummarizer(options: SummarizerOptions): Summarizer {
  if (!Number.isInteger(options.maxMessages) || options.maxMessages < 2)
    throw new TypeError('createSummarizer: maxMessages must be an integer of at least 2')
  const keepLast = options.keepLast ?? Math.floor(options.maxMessages / 2)
  if (!Number.isInteger(keepLast) || keepLast < 1 || keepLast >= options.maxMessages)
    throw new TypeError('createSummarizer: keepLast must be at least 1 and less than maxMessages')
  return async (state, { signal }) => {
    const from = state.summary?.upTo ?? 0
    const unsummarized = state.messages.slice(from).filter((message) => message.role !== 'system')
    if (unsummarized.length <= options.maxMessages) return undefined
    const upTo = summaryBoundary(state.messages, state.messages.length - keepLast)
    if (upTo >= state.messages.length) return undefined
    const covered = state.messages.slice(from, upTo).filter((message) => message.role !== 'system')
    const transcript = [
      ...(state.summary ? [`Summary so far: ${state.summary.text}`] : []),
      ...covered.map(render),
    ].join('\n')
    let text = ''
    let usage = emptyUsage()
    for await (const part of options.model.stream(
      {
        messages: [
          { role: 'system', content: options.instructions ?? defaultInstructions },
          { role: 'user', content: transcript },
        ],
      },
      { signal },
    )) {
      if (part.type === 'text-delta') text += part.delta
      else if (part.type === 'finish') usage = addUsage(usage, part.usage)
    }
    return { upTo, summary: text.trim(), usage }
  }
}

/**
 * Runs the agent's summarizer for the state a model call is about to be made from. Returns the
 * `context.summarized` event to journal, or undefined (no summary). A summary that cannot apply
 * (out of range, not past the last one) is an error, so a faulty summarizer is heard of.
 */
export async function summarizeStep(
  summarizer: Summarizer,
  state: RunState,
  context: SummarizerContext,
): Promise<Extract<RunEvent, { type: 'context.summarized' }> | undefined> {
  const result = await summarizer(state, context)
  if (result === undefined || result === null) return undefined
  const upTo = Number.isInteger(result.upTo) ? summaryBoundary(state.messages, result.upTo) : -1
  if (upTo <= (state.summary?.upTo ?? 0) || upTo >= state.messages.length)
    throw new TypeError(
      `agent '${context.agentId}': summarize returned upTo ${result.upTo}, which must be past the last summary (${state.summary?.upTo ?? 0}) and below ${state.messages.length}`,
    )
  if (typeof result.summary !== 'string')
    throw new TypeError(`agent '${context.agentId}': summarize returned no summary text`)
  return {
    type: 'context.summarized',
    upTo,
    summary: result.summary,
    ...(result.usage === undefined ? {} : { usage: { ...emptyUsage(), ...result.usage } }),
  }
}
