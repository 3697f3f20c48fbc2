import type { RunInfo } from '@vel/actors'
import { TransportError } from '@vel/core'
import { Hono } from 'hono'
import { chatMessageIdKey, reconcileChatSession } from '../chat-history.ts'
import { approvalResponses, messageText } from '../chat-messages.ts'
import {
  authorizeSession,
  decidedBy,
  type HttpEnv,
  type RouteDeps,
  readBody,
  starterMetadata,
} from '../deps.ts'
import { InvalidFieldError } from '../errors.ts'
import { type Frame, type RunFramesOptions, runFrames } from '../run-stream.ts'
import * as Schemas from '../schemas.ts'
import { uiMessageStream } from '../sse.ts'
import { traceOf } from '../start-run.ts'

/**
 * `POST /agents/:agentId/chat`: the AI SDK's chat endpoint. The chat `id` is the Vel session; the
 * last message is the input. A new user message starts a run (or answers the question a waiting run
 * asked); an assistant message carrying approval responses decides the waiting run's approvals and
 * streams its continuation. Vel keeps the conversation itself; the earlier messages only say which
 * of its turns the chat still shows: `regenerate()`, an edit (`messageId`) and deleted messages
 * take the discarded turns out of the session before the new run reads it (`chat-history.ts`), and
 * a regenerate or edit that discards a run waiting for a human cancels that run.
 */
export function chatRoutes(deps: RouteDeps): Hono<HttpEnv> {
  const { runtime } = deps
  const app = new Hono<HttpEnv>()

  /** The newest run of this chat that waits for a human, if the caller may act on it. */
  const waitingRun = async (agentId: string, sessionId: string, c: Parameters<typeof readBody>[1]) => {
    const page = await runtime.list({ agentId, sessionId, status: ['running', 'waiting'] }, { limit: 20 })
    for (const record of page.items) {
      const info = await runtime.get(record.runId)
      if (info.state.phase !== 'waiting') continue
      await deps.guard.authorize(c.get('principal'), info.record)
      return info
    }
    return undefined
  }

  /**
   * The run's frames for a chat response; with `onClientAbort: 'cancel'`, a client that goes away
   * before the response ended (`useChat`'s `stop()`) cancels the run.
   */
  const chatFrames =
    (runId: string, options: Omit<RunFramesOptions, 'signal'>) =>
    (signal: AbortSignal): AsyncIterable<Frame> => {
      let ended = false
      if (deps.onClientAbort === 'cancel')
        signal.addEventListener('abort', () => {
          if (!ended) runtime.cancel(runId, 'the client stopped reading').catch(() => undefined)
        })
      return (async function* () {
        yield* runFrames(runtime, runId, { ...options, signal })
        ended = true
      })()
    }

  /** Applies `act` to a waiting run and streams what follows, as a continuation of the message. */
  const continueRun = async (c: Parameters<typeof readBody>[1], run: RunInfo, act: () => Promise<void>) => {
    const runId = run.record.runId
    const after = { seq: run.seq, index: Number.MAX_SAFE_INTEGER }
    await act()
    return uiMessageStream(c, chatFrames(runId, { after, continuation: true, untilPause: true }), {
      'x-vel-run-id': runId,
    })
  }

  /**
   * Whether a regenerate or an edit discards the waiting run's turn: the request names it, or the
   * earlier messages no longer show its answer (a plain new message answers its question instead).
   */
  const discards = (body: typeof Schemas.ChatBody.Type, run: RunInfo) => {
    if (body.trigger !== 'regenerate-message' && body.messageId === undefined) return false
    const { runId, metadata } = run.record
    const last = body.messages.at(-1)
    if (body.messageId === runId || (last !== undefined && last.id === metadata[chatMessageIdKey]))
      return true
    return !body.messages.slice(0, -1).some((message) => message.id === runId)
  }

  app.post('/agents/:agentId/chat', async (c) => {
    const agentId = c.req.param('agentId')
    const body = await readBody(deps, c, Schemas.ChatBody)
    const principal = c.get('principal')
    const index = body.messages.length - 1
    const last = body.messages[index] as (typeof body.messages)[number]
    await authorizeSession(deps, c, body.id)
    const found = await waitingRun(agentId, body.id, c)
    const pending = found?.state.pending ?? []

    if (last.role === 'assistant') {
      const ids = new Set(pending.filter((request) => request.kind === 'approval').map((r) => r.requestId))
      const decisions = approvalResponses(last).filter((response) => ids.has(response.approvalId))
      const waiting = found
      if (waiting === undefined || decisions.length === 0)
        throw new TransportError('invalid-state', `no run of chat ${body.id} waits for these approvals`)
      return continueRun(c, waiting, async () => {
        for (const decision of decisions) {
          const options = {
            ...decidedBy(principal),
            ...(decision.reason === undefined ? {} : { reason: decision.reason }),
          }
          if (decision.approved) await runtime.approve(waiting.record.runId, decision.approvalId, options)
          else await runtime.deny(waiting.record.runId, decision.approvalId, options)
        }
      })
    }

    if (last.role !== 'user')
      throw new InvalidFieldError([
        { field: `messages.${index}.role`, message: 'the last message must be from the user' },
      ])
    const text = messageText(last)
    if (text === '')
      throw new InvalidFieldError([
        { field: `messages.${index}.parts`, message: 'the last message has no text' },
      ])

    const waiting = found !== undefined && discards(body, found) ? undefined : found
    if (found !== undefined && waiting === undefined)
      await runtime.cancel(found.record.runId, 'the chat discarded this turn (regenerate or edit)')

    if (waiting !== undefined) {
      const question = pending.find((request) => request.kind === 'question')
      const approvals = pending.filter((request) => request.kind === 'approval').map((r) => r.requestId)
      if (question === undefined || approvals.length > 0)
        throw new TransportError(
          'invalid-state',
          `run ${waiting.record.runId} of chat ${body.id} waits for approval of ${approvals.join(', ')}`,
        )
      // The user's reply answers the question the run asked.
      return continueRun(c, waiting, () =>
        runtime.respond(waiting.record.runId, question.requestId, text, decidedBy(principal)),
      )
    }

    await reconcileChatSession(runtime, body.id, body.messages, body.messageId)
    const handle = await runtime.spawn(agentId, text, {
      sessionId: body.id,
      metadata: { ...starterMetadata(principal), [chatMessageIdKey]: last.id },
      ...traceOf(c.req.raw.headers),
    })
    return uiMessageStream(c, chatFrames(handle.runId, { untilPause: true }), {
      'x-vel-run-id': handle.runId,
    })
  })

  // `useChat({ resume: true })` asks here on load: the chat's run still working, replayed from its
  // start (the default transport treats a resumed stream as a replay), or 204 when none is.
  app.get('/agents/:agentId/chat/:chatId/stream', async (c) => {
    await authorizeSession(deps, c, c.req.param('chatId'))
    const page = await runtime.list(
      { agentId: c.req.param('agentId'), sessionId: c.req.param('chatId'), status: ['running', 'waiting'] },
      { limit: 20 },
    )
    for (const record of page.items) {
      const { state } = await runtime.get(record.runId)
      // A run paused at an approval is resumed too: the chat must show the pending request.
      if (state.phase !== 'thinking' && state.phase !== 'acting' && state.phase !== 'waiting') continue
      await deps.guard.authorize(c.get('principal'), record)
      return uiMessageStream(c, (signal) => runFrames(runtime, record.runId, { untilPause: true, signal }), {
        'x-vel-run-id': record.runId,
      })
    }
    return c.body(null, 204)
  })

  return app
}
