import { type ConsumerMessages, type JsMsg, jetstream } from '@nats-io/jetstream'
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node'
import { type Agent, type Runtime, traceFromHeaders } from '@vel/actors'
import {
  type PartPosition,
  type PositionedPart,
  RunError,
  type RunInput,
  StoreError,
  TransportError,
} from '@vel/core'
import { decodePayload, encodeJson, errorReply } from './codec.ts'
import { batchedPublisher } from './publisher.ts'
import {
  CancelSchema,
  HumanReplySchema,
  ReplayRequestSchema,
  RoutedEventSchema,
  type TriggerReply,
  TriggerSchema,
} from './schemas.ts'
import { createSubjects, isSubjectToken, velHeaders } from './subjects.ts'
import { ensureTriggerStream, type TriggerStreamOptions } from './trigger-stream.ts'

/** Options of `createWorker`. */
export interface WorkerOptions {
  /** The runtime that runs the agents; give it a `createNatsBus` bus so parts reach NATS. */
  readonly runtime: Runtime
  /** A connection from `connect()` (use `maxReconnectAttempts: -1` so service resumes after outages). */
  readonly connection: NatsConnection
  /** Agents to serve; registered with the runtime. Absent: every agent the runtime knows. */
  readonly agents?: ReadonlyArray<Agent>
  /** Queue group of the workers that share the load; default `<prefix>-workers`. */
  readonly queueGroup?: string
  /** Subject prefix; default `vel`. */
  readonly prefix?: string
  /** Also take triggers from the JetStream work-queue stream (true for defaults). */
  readonly jetstream?: boolean | Omit<TriggerStreamOptions, 'prefix'>
  /** How often to resume runs whose lease expired (another worker died); default 5 s, 0 to never. */
  readonly recoverEveryMs?: number
  /** Failures with no requester to go to. Default: `console.error`. */
  readonly onError?: (error: unknown) => void
}

/** A worker serving agents over NATS. */
export interface NatsWorker {
  /** The runtime's owner id (its direct subject is `<prefix>.worker.<ownerId>.control`). */
  readonly ownerId: string
  /** Runs one recovery pass now (also done on a timer); returns the ids of runs resumed. */
  recover(): Promise<string[]>
  /** Stops taking messages and waits for those in hand; leaves the runtime and connection open. */
  close(): Promise<void>
}

type Respond = (payload: unknown) => void

/** Maps anything thrown while serving a message to the transport error its requester gets. */
function toTransportError(error: unknown, subject: 'agent' | 'run'): TransportError {
  if (TransportError.isInstance(error)) return error
  if (RunError.isInstance(error)) {
    if (error.reason === 'not-found')
      return new TransportError(subject === 'agent' ? 'unknown-agent' : 'unknown-run', error.message)
    if (error.reason === 'invalid-state' || error.reason === 'corrupted')
      return new TransportError('invalid-state', error.message)
    // Another unfinished run holds the session: worth trying again once it ends (a durable
    // trigger is redelivered, so turns of one session queue up).
    if (error.reason === 'session-busy')
      return new TransportError('invalid-state', error.message, { retryable: true })
  }
  const message = error instanceof Error ? error.message : String(error)
  return new TransportError('unavailable', message, { retryable: true, cause: error })
}

/**
 * Serves agents over NATS: triggers on `<prefix>.agent.*.run` (a queue group; reply `{ runId }`
 * once the run is stored) and, with JetStream, from the trigger work-queue stream (acknowledged
 * once the run is stored); answers on `<prefix>.run.*.human.reply` and cancels on
 * `<prefix>.run.*.cancel` for any run (forwarded to the lease owner if it is live elsewhere); and
 * a periodic `runtime.recover()` so runs of a dead worker continue here once their lease expires.
 */
export async function createWorker(options: WorkerOptions): Promise<NatsWorker> {
  const { runtime, connection } = options
  const subjects = createSubjects(options.prefix)
  const queue = options.queueGroup ?? `${subjects.prefix}-workers`
  const onError = options.onError ?? ((error: unknown) => console.error('[vel/nats]', error))
  const served = options.agents === undefined ? undefined : new Set(options.agents.map((agent) => agent.id))
  for (const agent of options.agents ?? []) runtime.register(agent)
  if (!isSubjectToken(runtime.ownerId))
    throw new TypeError(`runtime ownerId '${runtime.ownerId}' must be one subject token`)

  // Replies go out after the parts published before them, in the same writes (see publisher.ts).
  const publisher = batchedPublisher(connection, onError)
  /** Answers a request message (core NATS request/reply); a message without a reply subject gets nothing. */
  const replier =
    (message: Msg): Respond =>
    (payload) => {
      if (message.reply) publisher.publish(message.reply, encodeJson(payload))
    }
  const inFlight = new Set<Promise<unknown>>()
  const track = (work: Promise<unknown>) => {
    inFlight.add(work)
    void work.finally(() => inFlight.delete(work))
  }
  let closed = false

  const traceOf = (headers: Msg['headers']) => {
    const trace = traceFromHeaders(headers)
    return trace === undefined ? {} : { trace }
  }

  /** Creates the run (or finds the one an earlier delivery created); a `traceparent` header parents its span. */
  const startRun = async (
    subject: string,
    data: Uint8Array,
    headers: Msg['headers'],
    fallbackKey?: string,
  ): Promise<TriggerReply> => {
    const agentId = subjects.agentOf(subject)
    if (agentId === undefined || !isSubjectToken(agentId) || (served && !served.has(agentId)))
      throw new TransportError('unknown-agent', `no agent '${agentId ?? ''}' is served here`)
    const trigger = decodePayload(TriggerSchema, data)
    if (!runtime.hasAgent(agentId))
      throw new TransportError('unknown-agent', `no agent '${agentId}' is served here`)
    const idempotencyKey = trigger.idempotencyKey ?? (trigger.runId === undefined ? fallbackKey : undefined)
    try {
      const handle = await runtime.spawn(agentId, trigger.input as RunInput, {
        ...(trigger.runId === undefined ? {} : { runId: trigger.runId }),
        ...(trigger.sessionId === undefined ? {} : { sessionId: trigger.sessionId }),
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        ...(trigger.metadata === undefined ? {} : { metadata: trigger.metadata as never }),
        ...traceOf(headers),
      })
      return { runId: handle.runId }
    } catch (error) {
      if (!StoreError.isInstance(error) || error.reason !== 'conflict') throw toTransportError(error, 'agent')
      // A retry or a redelivery raced with the first delivery: answer with the run it created.
      const existing =
        idempotencyKey === undefined ? undefined : await runtime.findByIdempotencyKey(agentId, idempotencyKey)
      if (existing) return { runId: existing.runId }
      const byId = trigger.runId === undefined ? undefined : await runtime.record(trigger.runId)
      if (byId && byId.agentId === agentId && idempotencyKey === undefined) return { runId: byId.runId }
      throw new TransportError('invalid-state', `run ${trigger.runId ?? ''} exists with other parameters`)
    }
  }

  const onTrigger = async (message: Msg): Promise<void> => {
    const respond = replier(message)
    try {
      respond(await startRun(message.subject, message.data, message.headers))
    } catch (error) {
      respond(errorReply(toTransportError(error, 'agent')))
    }
  }

  const onDurableTrigger = async (message: JsMsg, stream: string): Promise<void> => {
    const replyTo = message.headers?.get(velHeaders.replyTo) || undefined
    const respond: Respond = (payload) => {
      if (replyTo) publisher.publish(replyTo, encodeJson(payload))
    }
    const msgId = message.headers?.get('Nats-Msg-Id') || undefined
    const fallbackKey = msgId ? `nats-msg:${msgId}` : `nats-seq:${stream}:${message.seq}`
    try {
      const reply = await startRun(message.subject, message.data, message.headers, fallbackKey)
      message.ack()
      respond(reply)
    } catch (error) {
      const transport = toTransportError(error, 'agent')
      // A trigger that can never succeed is consumed (a work queue keeps terminated messages).
      if (transport.retryable) message.nak(1000)
      else message.ack()
      respond(errorReply(transport))
    }
  }

  /** An event another worker's runtime routed here because this worker holds the run. */
  const onRouted = async (message: Msg): Promise<void> => {
    const respond = replier(message)
    try {
      // Worker to worker: tolerant, so workers of two versions can share a deploy.
      const { runId, event } = decodePayload(RoutedEventSchema, message.data, undefined, {
        unknownFields: 'ignore',
      })
      const by = 'by' in event && event.by !== undefined ? { by: event.by } : {}
      if (event.type === 'approval.decided') {
        const decision = { ...by, ...(event.reason === undefined ? {} : { reason: event.reason }) }
        await (event.approved
          ? runtime.approve(runId, event.toolCallId, decision)
          : runtime.deny(runId, event.toolCallId, decision))
      } else if (event.type === 'human.responded')
        await runtime.respond(runId, event.requestId, event.answer as never, by)
      else await runtime.cancel(runId, event.reason)
      respond({ ok: true })
    } catch (error) {
      respond(errorReply(toTransportError(error, 'run')))
    }
  }

  /** Answers and cancels for any run: the runtime delivers them to the run's owner, wherever it is. */
  const onControl = async (message: Msg): Promise<void> => {
    const respond = replier(message)
    const subject = message.subject
    const runId = subjects.runOf(subject)
    try {
      if (runId === undefined || !isSubjectToken(runId))
        throw new TransportError('unknown-run', `no run in subject '${subject}'`)
      let action: () => Promise<void>
      if (subject.endsWith('.human.reply')) {
        const answer = decodePayload(HumanReplySchema, message.data)
        const by = answer.by === undefined ? {} : { by: answer.by }
        if (answer.type === 'respond')
          action = () => runtime.respond(runId, answer.requestId, answer.answer as never, by)
        else {
          const decision = { ...by, ...(answer.reason === undefined ? {} : { reason: answer.reason }) }
          action = () =>
            answer.type === 'approve'
              ? runtime.approve(runId, answer.toolCallId, decision)
              : runtime.deny(runId, answer.toolCallId, decision)
        }
      } else {
        const cancel = decodePayload(CancelSchema, message.data, {})
        action = () => runtime.cancel(runId, cancel.reason)
      }
      await action()
      respond({ ok: true })
    } catch (error) {
      respond(errorReply(toTransportError(error, 'run')))
    }
  }

  /** A reader that saw a gap asks for the journaled parts after its position. */
  const onReplay = async (message: Msg): Promise<void> => {
    const respond = replier(message)
    const runId = subjects.runOf(message.subject)
    try {
      if (runId === undefined || !isSubjectToken(runId))
        throw new TransportError('unknown-run', `no run in subject '${message.subject}'`)
      const request = decodePayload(ReplayRequestSchema, message.data, {})
      const parts: PositionedPart[] = []
      for await (const positioned of runtime.stream(runId, {
        ...(request.after === undefined ? {} : { after: request.after as PartPosition }),
        follow: false,
      }))
        parts.push(positioned)
      respond({ parts })
    } catch (error) {
      respond(errorReply(toTransportError(error, 'run')))
    }
  }

  const subscriptions: Subscription[] = []
  const subscribe = (subject: string, handle: (message: Msg) => Promise<void>, queueGroup?: string) => {
    subscriptions.push(
      connection.subscribe(subject, {
        ...(queueGroup === undefined ? {} : { queue: queueGroup }),
        callback: (error, message) => {
          if (error) onError(error)
          else track(handle(message))
        },
      }),
    )
  }
  subscribe(subjects.agentRunAll, onTrigger, queue)
  subscribe(subjects.humanReplyAll, onControl, queue)
  subscribe(subjects.runCancelAll, onControl, queue)
  subscribe(subjects.runReplayAll, onReplay, queue)
  subscribe(subjects.workerControl(runtime.ownerId), onRouted)

  let consuming: ConsumerMessages | undefined
  let consumeLoop: Promise<void> | undefined
  if (options.jetstream) {
    const names = await ensureTriggerStream(connection, {
      ...(options.jetstream === true ? {} : options.jetstream),
      prefix: subjects.prefix,
    })
    const consumer = await jetstream(connection).consumers.get(names.stream, names.consumer)
    const messages = await consumer.consume({ max_messages: 64 })
    consuming = messages
    consumeLoop = (async () => {
      for await (const message of messages) track(onDurableTrigger(message, names.stream))
    })().catch(onError)
  }
  await connection.flush()

  let recovering: Promise<string[]> | undefined
  const recover = (): Promise<string[]> => {
    recovering ??= runtime.recover().finally(() => {
      recovering = undefined
    })
    return recovering
  }
  const every = options.recoverEveryMs ?? 5000
  const timer =
    every > 0
      ? setInterval(() => {
          if (!closed) recover().catch(onError)
        }, every)
      : undefined
  timer?.unref?.()
  if (every > 0) recover().catch(onError)

  return {
    ownerId: runtime.ownerId,
    recover,
    async close() {
      if (closed) return
      closed = true
      if (timer !== undefined) clearInterval(timer)
      await consuming?.close()
      await consumeLoop
      for (const subscription of subscriptions) subscription.unsubscribe()
      await Promise.allSettled([...inFlight, recovering])
      publisher.flush()
    },
  }
}
