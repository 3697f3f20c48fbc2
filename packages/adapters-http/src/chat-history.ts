import { isDeepStrictEqual } from 'node:util'
import type { Runtime } from '@vel/actors'
import { type JsonValue, type Message, type RunRecord, TransportError } from '@vel/core'
import type * as Schemas from './schemas.ts'

type UIMessage = typeof Schemas.UIMessageBody.Type

/*
 * What the model sees is what the chat shows (ADR 0065). A chat's session is the concatenation of
 * its completed runs' turns; each turn is an input (the user message) and an output (everything the
 * run added after it). The chat names them by the ids `useChat` keeps: a turn's output by its
 * assistant message id (the run id, sent as `start.messageId`), its input by the user message id the
 * request that started it carried (`chatMessageId` in the run's metadata). Before a new turn starts:
 *   - a user message whose id is a turn's input (`regenerate()`, or an edit: `sendMessage` with
 *     `messageId`), or a `messageId` naming a turn, redoes that turn: it and every later turn leave
 *     the session;
 *   - when the request's earlier messages name at least one turn (the client sends its history, as
 *     `useChat` does), a turn part they no longer show (deleted with `setMessages`) leaves the session.
 * A client that sends only its last message keeps the session as it is, apart from a redo.
 * Parts leave for good: a later request that shows them again does not bring them back.
 */

/** Run metadata key: the id of the chat's user message that started the run. */
export const chatMessageIdKey = 'chatMessageId'
/** Run metadata key: which parts of the run's turn the session still holds (absent: both). */
export const sessionKeepsKey = 'sessionKeeps'

type Keeps = 'both' | 'input' | 'output' | 'none'

interface Turn {
  readonly record: RunRecord
  readonly inputId: string | undefined
  readonly keeps: Keeps
}

const keepsInput = (keeps: Keeps) => keeps === 'both' || keeps === 'input'
const keepsOutput = (keeps: Keeps) => keeps === 'both' || keeps === 'output'
const keepsOf = (input: boolean, output: boolean): Keeps =>
  input ? (output ? 'both' : 'input') : output ? 'output' : 'none'

const turnOf = (record: RunRecord): Turn => {
  const id = record.metadata[chatMessageIdKey]
  const keeps = record.metadata[sessionKeepsKey]
  return {
    record,
    inputId: typeof id === 'string' ? id : undefined,
    keeps: keeps === 'input' || keeps === 'output' || keeps === 'none' ? keeps : 'both',
  }
}

/** The session's completed runs, oldest first (turns of one session never overlap: `session-busy`). */
async function turnsOf(runtime: Runtime, sessionId: string): Promise<Turn[]> {
  const records: RunRecord[] = []
  let cursor: string | undefined
  do {
    const page = await runtime.list(
      { sessionId, status: 'completed' },
      cursor === undefined ? { limit: 200 } : { cursor, limit: 200 },
    )
    records.push(...page.items)
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return records.reverse().map(turnOf)
}

/** What each turn should keep after this request, or undefined when nothing changes. */
function plan(turns: ReadonlyArray<Turn>, messages: ReadonlyArray<UIMessage>, messageId: string | undefined) {
  const last = messages.at(-1) as UIMessage
  const shown = new Set(messages.slice(0, -1).map((message) => message.id))
  const redoFrom = turns.findIndex(
    (turn) =>
      turn.record.runId === messageId ||
      (turn.inputId !== undefined && (turn.inputId === messageId || turn.inputId === last.id)),
  )
  const speaksIds = turns.some(
    (turn) => shown.has(turn.record.runId) || (turn.inputId !== undefined && shown.has(turn.inputId)),
  )
  const wanted = turns.map((turn, index): Keeps => {
    if (redoFrom !== -1 && index >= redoFrom) return 'none'
    if (!speaksIds) return turn.keeps
    const output = keepsOutput(turn.keeps) && shown.has(turn.record.runId)
    // A turn not started from a chat has no input id: its input goes with its output.
    const input = keepsInput(turn.keeps) && (turn.inputId === undefined ? output : shown.has(turn.inputId))
    return keepsOf(input, output)
  })
  return wanted.some((keeps, index) => keeps !== turns[index]?.keeps) ? wanted : undefined
}

/** Serialized once: stored messages compare equal to the run's whatever the key order. */
const plain = (message: Message): JsonValue => JSON.parse(JSON.stringify(message)) as JsonValue

/** How long to wait for a run that ended here to update its index row (it takes milliseconds). */
const finishingWaitMs = 10_000

/**
 * Whether a run of the session is unfinished. A run that ended in this process may not have its
 * final index row yet (written after its turn on a store without `features.sessionTurn`, or when
 * finishing after a crash); a client sending the next turn at once waits for that instead.
 */
async function busy(runtime: Runtime, sessionId: string): Promise<boolean> {
  const holder = (await runtime.list({ sessionId, status: ['running', 'waiting'] }, { limit: 1 })).items[0]
  if (holder === undefined) return false
  if (!runtime.isActive(holder.runId)) return true
  const { phase } = (await runtime.get(holder.runId)).state
  if (phase !== 'completed' && phase !== 'failed' && phase !== 'cancelled') return true
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([
    runtime.handle(holder.runId).result.catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, finishingWaitMs)
      timer.unref?.()
    }),
  ])
  clearTimeout(timer)
  return (await runtime.list({ sessionId, status: ['running', 'waiting'] }, { limit: 1 })).items.length > 0
}

/**
 * Rewrites the chat's session before a new turn so that it holds exactly the turn parts the chat
 * still shows (see above). Does nothing while a run of the session is unfinished (the new run then
 * fails with `session-busy`), and nothing when nothing changes (one index listing). A rewrite reads
 * each turn's state and replaces the history at the version it read (`conflict` if another writer
 * moved it); it refuses (`invalid-state`, nothing written) a history its runs did not write alone.
 */
export async function reconcileChatSession(
  runtime: Runtime,
  sessionId: string,
  messages: ReadonlyArray<UIMessage>,
  messageId: string | undefined,
): Promise<void> {
  if (await busy(runtime, sessionId)) return
  const turns = await turnsOf(runtime, sessionId)
  if (turns.length === 0) return
  const wanted = plan(turns, messages, messageId)
  if (wanted === undefined) return

  const session = await runtime.store.getSession(sessionId)
  const stored = (session?.messages ?? []).map(plain)
  const parts = await Promise.all(
    turns.map(async (turn) => {
      const { state } = await runtime.get(turn.record.runId)
      const own = state.messages.slice(state.priorCount)
      const inputLength = own[0]?.role === 'user' ? 1 : 0
      return { input: own.slice(0, inputLength), output: own.slice(inputLength) }
    }),
  )
  // Which parts the stored history holds, in order (a part marked gone is not looked for; a mark
  // may keep more than the history after a crash); whatever it holds besides is not ours to drop.
  let offset = 0
  const holds = (part: ReadonlyArray<Message>) => {
    if (part.length === 0) return true
    const found = part.every((message, index) => isDeepStrictEqual(plain(message), stored[offset + index]))
    if (found) offset += part.length
    return found
  }
  const held = parts.map((part, index) => {
    const keeps = (turns[index] as Turn).keeps
    const input = keepsInput(keeps) && holds(part.input)
    return { input, output: keepsOutput(keeps) && holds(part.output) }
  })
  if (offset !== stored.length)
    throw new TransportError(
      'invalid-state',
      `session ${sessionId} holds history its runs did not write; it cannot be rewritten to match the chat`,
    )
  const next: Message[] = []
  const keeps = wanted.map((want, index) => {
    const part = parts[index] as (typeof parts)[number]
    const has = held[index] as (typeof held)[number]
    const input = keepsInput(want) && has.input
    const output = keepsOutput(want) && has.output
    if (input) next.push(...part.input)
    if (output) next.push(...part.output)
    return keepsOf(input, output)
  })
  await runtime.store.replaceSession(sessionId, next, session?.version ?? 0)
  // The history first, then the marks: a crash in between leaves marks that keep more than the
  // history, which the next rewrite reads from the history itself.
  for (const [index, turn] of turns.entries()) {
    const keep = keeps[index] as Keeps
    if (keep !== turn.keeps)
      await runtime.store.updateRun(turn.record.runId, {
        metadata: { ...turn.record.metadata, [sessionKeepsKey]: keep },
      })
  }
}
