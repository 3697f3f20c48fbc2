import { headers as createHeaders, type NatsConnection } from '@nats-io/transport-node'
import type { Bus, HumanRequestMessage } from '@vel/actors'
import type { SequencedPart } from '@vel/core'
import { encodeJson } from './codec.ts'
import type { EventEnvelope, HumanRequestPayload } from './schemas.ts'
import { createSubjects, velHeaders } from './subjects.ts'

/** Options of `createNatsBus`. */
export interface NatsBusOptions {
  /** A connection from `connect()` of `@nats-io/transport-node` (use `maxReconnectAttempts: -1`). */
  readonly connection: NatsConnection
  /** Subject prefix; default `vel`. */
  readonly prefix?: string
  /** Failures that have no caller (e.g. a publish on a closed connection). Default: ignored. */
  readonly onError?: (error: unknown) => void
}

/**
 * A `Bus` that publishes stream parts on `<prefix>.run.<runId>.events` (one message per part, in
 * order, with `Vel-Seq` and `Vel-Journal-Seq` headers) and human requests on
 * `<prefix>.run.<runId>.human`. Core NATS: at most once; the journal is the durable copy.
 */
export function createNatsBus(options: NatsBusOptions): Bus {
  const { connection } = options
  const subjects = createSubjects(options.prefix)
  const onError = options.onError ?? (() => undefined)
  return {
    publishParts(runId: string, parts: ReadonlyArray<SequencedPart>): void {
      const subject = subjects.runEvents(runId)
      for (const { seq, journalSeq, part } of parts) {
        try {
          const headers = createHeaders()
          headers.set(velHeaders.seq, String(seq))
          headers.set(velHeaders.journalSeq, String(journalSeq))
          headers.set(velHeaders.runId, runId)
          const envelope: EventEnvelope = { runId, seq, journalSeq, part: part as EventEnvelope['part'] }
          connection.publish(subject, encodeJson(envelope), { headers })
        } catch (error) {
          // The hot path never throws: a lost part is a gap observers detect by Vel-Seq.
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
      connection.publish(subjects.runHuman(message.runId), encodeJson(payload), { headers })
    },
  }
}
