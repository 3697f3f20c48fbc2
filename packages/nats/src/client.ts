import { jetstream } from '@nats-io/jetstream'
import {
  headers as createHeaders,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  NoRespondersError,
  type Subscription,
  TimeoutError,
} from '@nats-io/transport-node'
import { activeTrace, type HumanRequestMessage } from '@vel/actors'
import {
  comparePositions,
  followsDirectly,
  type JsonObject,
  type JsonValue,
  newRunId,
  type PartPosition,
  type PositionedPart,
  type RunInput,
  StreamCursor,
  type StreamPart,
  type TraceCarrier,
  TransportError,
} from '@vel/core'
import { decodePayload, encodeJson, errorFromReply } from './codec.ts'
import {
  EventEnvelopeSchema,
  type HumanReply,
  HumanRequestSchema,
  ReplayReplySchema,
  TriggerReplySchema,
} from './schemas.ts'
import { createSubjects } from './subjects.ts'
import { ensureTriggerStream } from './trigger-stream.ts'

// What workers send is read tolerantly: a newer worker may add fields this client does not know.
const lenient = { unknownFields: 'ignore' } as const

/** Options of `createNatsClient`. */
export interface NatsClientOptions {
  /** Subject prefix; default `vel`. */
  readonly prefix?: string
  /** Request timeout; default 10 s. */
  readonly timeoutMs?: number
  /** How long parts of a triggered run are kept for a later `events()` call; default 60 s. */
  readonly bufferMs?: number
}

/** Options of `trigger`. */
export interface TriggerOptions {
  /** Id of the new run; default a random UUID chosen by the client. */
  readonly runId?: string
  readonly sessionId?: string
  /** A second trigger with the same key returns the first run. */
  readonly idempotencyKey?: string
  readonly metadata?: JsonObject
  /** Publish to the JetStream trigger stream instead (kept until a worker takes it). */
  readonly durable?: boolean
  /**
   * W3C trace context sent as `traceparent`/`tracestate` headers, parenting the run's span.
   * Default: the active OpenTelemetry span's, if any.
   */
  readonly trace?: TraceCarrier
}

/** A gap in a run's parts (a core NATS message was lost), filled by a replay from the journal. */
export interface PartsGap {
  readonly runId: string
  /** The last position the reader had, and the one that arrived after it. */
  readonly after: PartPosition | undefined
  readonly received: PartPosition
}

/** Options of `events`. */
export interface EventsOptions {
  /** Stops iterating. */
  readonly signal?: AbortSignal
  /** Continue after this position (what an earlier reader got to); default: the run's start. */
  readonly after?: PartPosition
  /** Called on each gap before it is filled from a worker's replay (a replay that fails throws). */
  readonly onGap?: (gap: PartsGap) => void
}

/** Talks to Vel workers over NATS from any Node process. */
export interface NatsClient {
  /**
   * Starts a run; resolves with its id once a worker stored it (or, `durable`, once JetStream
   * stored the trigger). Parts published from then on are kept for `events(runId)`.
   */
  trigger(agentId: string, input: RunInput, options?: TriggerOptions): Promise<{ runId: string }>
  /** The run's stream parts, in order, ending after `finish`. */
  events(runId: string, options?: EventsOptions): AsyncIterable<StreamPart>
  /** Approval and question requests of one run, or of every run (`'*'`), until the signal aborts. */
  requests(runId: string, options?: { readonly signal?: AbortSignal }): AsyncIterable<HumanRequestMessage>
  approve(runId: string, toolCallId: string, options?: { reason?: string; by?: string }): Promise<void>
  deny(runId: string, toolCallId: string, options?: { reason?: string; by?: string }): Promise<void>
  /** Answers a question (`contactHuman`). */
  respond(runId: string, requestId: string, answer: JsonValue, options?: { by?: string }): Promise<void>
  cancel(runId: string, reason?: string): Promise<void>
  /** Drops buffered subscriptions; leaves the connection open. */
  close(): void
}

/** A subscription's messages as an async queue that ends when the subscription does. */
class Inbox {
  private readonly queue: Msg[] = []
  private wake: (() => void) | undefined
  private ended = false
  readonly subscription: Subscription
  constructor(connection: NatsConnection, subject: string) {
    this.subscription = connection.subscribe(subject, {
      callback: (error, message) => {
        if (error) this.end()
        else this.queue.push(message)
        this.wake?.()
      },
    })
    void this.subscription.closed.then(() => this.end())
  }
  end(): void {
    this.ended = true
    this.wake?.()
  }
  async next(signal?: AbortSignal): Promise<Msg | undefined> {
    while (this.queue.length === 0) {
      if (this.ended || signal?.aborted) return undefined
      const aborted = () => this.wake?.()
      signal?.addEventListener('abort', aborted, { once: true })
      await new Promise<void>((resolve) => {
        this.wake = resolve
      })
      signal?.removeEventListener('abort', aborted)
      this.wake = undefined
    }
    return this.queue.shift()
  }
  close(): void {
    this.subscription.unsubscribe()
    this.end()
  }
}

/** Creates a client. Use a connection with `maxReconnectAttempts: -1` for long-lived processes. */
export function createNatsClient(connection: NatsConnection, options: NatsClientOptions = {}): NatsClient {
  const subjects = createSubjects(options.prefix)
  const timeout = options.timeoutMs ?? 10_000
  const buffers = new Map<string, { inbox: Inbox; timer: ReturnType<typeof setTimeout> }>()
  let streamReady: Promise<unknown> | undefined

  const request = async (subject: string, payload: unknown, headers?: MsgHdrs): Promise<unknown> => {
    let reply: Msg
    try {
      reply = await connection.request(subject, encodeJson(payload), {
        timeout,
        ...(headers === undefined ? {} : { headers }),
      })
    } catch (error) {
      if (error instanceof NoRespondersError || (error as { code?: string }).code === '503')
        throw new TransportError('unavailable', `no worker listens on ${subject}`, { cause: error })
      if (error instanceof TimeoutError)
        throw new TransportError('timeout', `no reply on ${subject} within ${timeout} ms`, { cause: error })
      throw new TransportError('unavailable', String(error), { cause: error })
    }
    const value: unknown = reply.json()
    const failure = errorFromReply(value)
    if (failure) throw failure
    return value
  }

  const control = async (runId: string, payload: HumanReply): Promise<void> => {
    await request(subjects.humanReply(runId), payload)
  }

  return {
    async trigger(agentId, input, triggerOptions = {}) {
      const runId = triggerOptions.runId ?? newRunId()
      const payload = {
        input,
        runId,
        ...(triggerOptions.sessionId === undefined ? {} : { sessionId: triggerOptions.sessionId }),
        ...(triggerOptions.idempotencyKey === undefined
          ? {}
          : { idempotencyKey: triggerOptions.idempotencyKey }),
        ...(triggerOptions.metadata === undefined ? {} : { metadata: triggerOptions.metadata }),
      }
      // Subscribe before the run can emit anything, so `events()` sees its first part. No flush
      // is needed: the server handles this connection's SUB before the trigger sent after it,
      // and the worker publishes parts only once it has the trigger (causally after the SUB; a
      // cluster carries the interest on the same route, ahead of the trigger).
      if (!buffers.has(runId)) {
        const inbox = new Inbox(connection, subjects.runEvents(runId))
        const timer = setTimeout(() => {
          buffers.delete(runId)
          inbox.close()
        }, options.bufferMs ?? 60_000)
        timer.unref?.()
        buffers.set(runId, { inbox, timer })
      }
      const trace = triggerOptions.trace ?? activeTrace()
      const traceHeaders = () => {
        const headers = createHeaders()
        if (trace !== undefined) headers.set('traceparent', trace.traceparent)
        if (trace?.tracestate !== undefined) headers.set('tracestate', trace.tracestate)
        return headers
      }
      try {
        if (triggerOptions.durable) {
          streamReady ??= ensureTriggerStream(connection, { prefix: subjects.prefix })
          await streamReady
          const headers = traceHeaders()
          headers.set('Nats-Msg-Id', triggerOptions.idempotencyKey ?? runId)
          await jetstream(connection).publish(subjects.durableTrigger(agentId), encodeJson(payload), {
            headers,
            timeout,
          })
          return { runId }
        }
        const reply = await request(
          subjects.agentRun(agentId),
          payload,
          trace === undefined ? undefined : traceHeaders(),
        )
        const decoded = decodePayload(TriggerReplySchema, encodeJson(reply), undefined, lenient)
        if (decoded.runId !== runId) {
          // An idempotent retry answered with an earlier run: follow that one.
          const buffer = buffers.get(runId)
          if (buffer) clearTimeout(buffer.timer)
          buffer?.inbox.close()
          buffers.delete(runId)
        }
        return decoded
      } catch (error) {
        const buffer = buffers.get(runId)
        if (buffer) clearTimeout(buffer.timer)
        buffer?.inbox.close()
        buffers.delete(runId)
        throw error
      }
    },

    async *events(runId, eventsOptions = {}) {
      const buffered = buffers.get(runId)
      if (buffered) {
        clearTimeout(buffered.timer)
        buffers.delete(runId)
      }
      const inbox = buffered?.inbox ?? new Inbox(connection, subjects.runEvents(runId))
      // Positions are durable: repeats are dropped, a gap is filled from the journal by any worker,
      // and a takeover's abandoned block is closed, so the parts always assemble one message.
      const cursor = new StreamCursor(eventsOptions.after)
      const replay = async (): Promise<PositionedPart[]> => {
        const after = cursor.position
        const reply = await request(subjects.runReplay(runId), after === undefined ? {} : { after })
        return (
          (decodePayload(ReplayReplySchema, encodeJson(reply), undefined, lenient)
            .parts as unknown as PositionedPart[]) ?? []
        )
      }
      try {
        const pending: PositionedPart[] =
          eventsOptions.after === undefined && buffered !== undefined ? [] : await replay()
        while (true) {
          let next = pending.shift()
          if (next === undefined) {
            const message = await inbox.next(eventsOptions.signal)
            if (message === undefined) return
            next = decodePayload(
              EventEnvelopeSchema,
              message.data,
              undefined,
              lenient,
            ) as unknown as PositionedPart
            const last = cursor.position
            if (!followsDirectly(last, next.position)) {
              // A repeat of what the reader has is dropped; anything else means parts were lost.
              if (last !== undefined && comparePositions(next.position, last) <= 0) continue
              eventsOptions.onGap?.({ runId, after: cursor.position, received: next.position })
              pending.push(...(await replay()), next)
              continue
            }
          }
          for (const part of cursor.accept(next)) {
            yield part
            if (part.type === 'finish') return
          }
        }
      } finally {
        inbox.close()
      }
    },

    async *requests(runId, requestOptions = {}) {
      const inbox = new Inbox(connection, runId === '*' ? subjects.runHumanAll : subjects.runHuman(runId))
      try {
        while (true) {
          const message = await inbox.next(requestOptions.signal)
          if (message === undefined) return
          yield decodePayload(
            HumanRequestSchema,
            message.data,
            undefined,
            lenient,
          ) as unknown as HumanRequestMessage
        }
      } finally {
        inbox.close()
      }
    },

    approve: (runId, toolCallId, decision = {}) =>
      control(runId, { type: 'approve', toolCallId, ...decision }),
    deny: (runId, toolCallId, decision = {}) => control(runId, { type: 'deny', toolCallId, ...decision }),
    respond: (runId, requestId, answer, by = {}) =>
      control(runId, { type: 'respond', requestId, answer, ...by }),
    async cancel(runId, reason) {
      await request(subjects.runCancel(runId), reason === undefined ? {} : { reason })
    },
    close() {
      for (const { inbox, timer } of buffers.values()) {
        clearTimeout(timer)
        inbox.close()
      }
      buffers.clear()
    },
  }
}
