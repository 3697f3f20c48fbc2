import { AckPolicy, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { createSubjects } from './subjects.ts'

/** Where durable triggers are kept (JetStream). */
export interface TriggerStreamOptions {
  /** Subject prefix; default `vel`. */
  readonly prefix?: string
  /** Stream name; default `<PREFIX>_TRIGGERS`. */
  readonly stream?: string
  /** Durable consumer shared by all workers; default `<PREFIX>_WORKERS`. */
  readonly consumer?: string
  /** How long a worker may hold a trigger before it is redelivered; default 30 s. */
  readonly ackWaitMs?: number
  /** `file` (default) or `memory`. */
  readonly storage?: 'file' | 'memory'
}

/** Names of the trigger stream and its consumer, with defaults applied. */
export interface TriggerStreamNames {
  readonly stream: string
  readonly consumer: string
  readonly subject: string
}

const isNotFound = (error: unknown): boolean => error instanceof Error && /not found/i.test(error.message)

/**
 * Creates the work-queue stream that captures `<prefix>.trigger.agent.*.run` (if absent) and the
 * durable pull consumer the workers share. Idempotent; an existing stream is left as it is.
 */
export async function ensureTriggerStream(
  connection: NatsConnection,
  options: TriggerStreamOptions = {},
): Promise<TriggerStreamNames> {
  const subjects = createSubjects(options.prefix)
  const names = {
    stream: options.stream ?? subjects.triggerStream,
    consumer: options.consumer ?? subjects.triggerConsumer,
    subject: subjects.durableTriggerAll,
  }
  const manager = await jetstreamManager(connection)
  try {
    await manager.streams.info(names.stream)
  } catch (error) {
    if (!isNotFound(error)) throw error
    try {
      await manager.streams.add({
        name: names.stream,
        subjects: [names.subject],
        retention: RetentionPolicy.Workqueue,
        storage: options.storage === 'memory' ? StorageType.Memory : StorageType.File,
      })
    } catch (addError) {
      // Another worker created it in between.
      if (!/already in use/i.test(String(addError))) throw addError
    }
  }
  try {
    await manager.consumers.info(names.stream, names.consumer)
  } catch (error) {
    if (!isNotFound(error)) throw error
    await manager.consumers.add(names.stream, {
      durable_name: names.consumer,
      ack_policy: AckPolicy.Explicit,
      ack_wait: (options.ackWaitMs ?? 30_000) * 1_000_000,
      max_deliver: -1,
    })
  }
  return names
}
