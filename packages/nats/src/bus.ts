import { headers as createHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node'
import type { Bus, HumanRequestMessage } from '@vel/actors'
import { formatPosition, type PositionedPart, RunError, type RunEvent } from '@vel/core'
import { decodePayload, encodeJson, errorFromReply } from './codec.ts'
import { batchedPublisher } from './publisher.ts'
import { type EventEnvelope, EventEnvelopeSchema, type HumanRequestPayload } from './schemas.ts'
import { createSubjects, isSubjectToken, velHeaders } from './subjects.ts'

/** Options of `createNatsBus`. */
export interface NatsBusOptions {
  /** A connection from `connect()` of `@nats-io/transport-node` (use `maxReconnectAttempts: -1`). */
  readonly connection: NatsConnection
  /** Subject prefix; default `vel`. */
  readonly prefix?: string
  /** Timeout of an event routed to the worker that owns a run; default 10 s. */
  readonly routeTimeoutMs?: number
  /** Failures that have no caller (e.g. a publish on a closed connection). Default: ignored. */
  readonly onError?: (error: unknown) => void
}

/**
 * A `Bus` over NATS: stream parts go out on `<prefix>.run.<runId>.events` (one message per part,
 * with its durable position in the payload and the `Vel-Position` header), human requests on
 * `<prefix>.run.<runId>.human`. It also follows runs owned by other workers (so an HTTP server can
 * stream a run any worker owns) and routes answers to the worker holding a run, on that worker's
 * `<prefix>.worker.<ownerId>.control` subject. Core NATS is at most once: a reader that sees a gap
 * in positions asks any worker for a replay from the journal.
 */
export function createNatsBus(options: NatsBusOptions): Bus {
  const { connection } = options
  const subjects = createSubjects(options.prefix)
  const onError = options.onError ?? (() => undefined)
  // Parts and requests of every run leave in one write per event-loop turn, in order.
  const publisher = batchedPublisher(connection, onError)
  return {
    publishParts(runId: string, parts: ReadonlyArray<PositionedPart>): void {
      const subject = subjects.runEvents(runId)
      for (const { position, part } of parts) {
        try {
          const headers = createHeaders()
          headers.set(velHeaders.position, formatPosition(position))
          headers.set(velHeaders.runId, runId)
          const envelope = { runId, position, part } as unknown as EventEnvelope
          publisher.publish(subject, encodeJson(envelope), { headers })
        } catch (error) {
          // The hot path never throws: a lost part is a gap readers detect by position.
          onError(error)
        }
      }
    },
    async publishRequest(message: HumanRequestMessage): Promise<void> {
      const headers = createHeaders()
      headers.set(velHeaders.runId, message.runId)
      const payload: HumanRequestPayload = {
        runId: message.runId,
        agentId: message.agentId,
        request: message.request as HumanRequestPayload['request'],
      }
      publisher.publish(subjects.runHuman(message.runId), encodeJson(payload), { headers })
    },
    partsSubscribed: () => connection.flush(),
    subscribeParts(runId, listener) {
      const subscription = connection.subscribe(subjects.runEvents(runId), {
        callback: (error, message) => {
          if (error) return onError(error)
          try {
            // Read tolerantly, as clients do: during a rolling deploy a newer worker may add fields.
            const envelope = decodePayload(EventEnvelopeSchema, message.data, undefined, {
              unknownFields: 'ignore',
            })
            listener([envelope as unknown as PositionedPart])
          } catch (failure) {
            onError(failure)
          }
        },
      })
      return () => subscription.unsubscribe()
    },
    async route(ownerId: string, runId: string, event: RunEvent): Promise<boolean> {
      if (!isSubjectToken(ownerId)) return false
      const headers = createHeaders()
      headers.set(velHeaders.routed, 'event')
      headers.set(velHeaders.runId, runId)
      let reply: Msg
      try {
        reply = await connection.request(subjects.workerControl(ownerId), encodeJson({ runId, event }), {
          timeout: options.routeTimeoutMs ?? 10_000,
          headers,
        })
      } catch {
        // No such worker (it died) or no answer: the caller waits for the lease and tries again.
        return false
      }
      // The owner took the event, or refused it (illegal in the run's state): that refusal is the answer.
      const failure = errorFromReply(reply.json())
      if (failure) throw new RunError('invalid-state', failure.message, { runId, cause: failure })
      return true
    },
  }
}
