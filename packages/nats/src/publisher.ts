import type { NatsConnection, PublishOptions } from '@nats-io/transport-node'

/**
 * Publishes on one connection in batches: what is published during one turn of the event loop
 * goes to the connection together when the turn ends (`setImmediate`), so it leaves in one socket
 * write. The NATS client writes once per microtask checkpoint, and a busy worker reaches one per
 * store reply: it wrote each stream part of each run on its own (8 writes per 1-step run, each a
 * loopback syscall of 50 to 150 µs on a loaded machine). Order is kept: everything a worker sends
 * on a connection (parts, human requests, replies) goes through the same queue.
 */
export interface BatchedPublisher {
  /** Queues a message; it is handed to the connection at the end of this event-loop turn. */
  publish(subject: string, data: Uint8Array, options?: PublishOptions): void
  /** Hands everything queued to the connection now (before closing it, say). */
  flush(): void
}

type Queued = readonly [subject: string, data: Uint8Array, options: PublishOptions | undefined]

const publishers = new WeakMap<NatsConnection, BatchedPublisher>()

/**
 * The publisher of a connection (one per connection, so a bus and a worker sharing it keep one
 * order). A publish the connection refuses (closed, draining) goes to `onError` of the caller that
 * created the publisher first; it never throws into the caller.
 */
export function batchedPublisher(
  connection: NatsConnection,
  onError: (error: unknown) => void = () => undefined,
): BatchedPublisher {
  const known = publishers.get(connection)
  if (known !== undefined) return known
  let queue: Queued[] = []
  let scheduled = false
  const flush = () => {
    scheduled = false
    const batch = queue
    queue = []
    for (const [subject, data, options] of batch) {
      try {
        connection.publish(subject, data, options)
      } catch (error) {
        onError(error)
      }
    }
  }
  const publisher: BatchedPublisher = {
    publish(subject, data, options) {
      queue.push([subject, data, options])
      if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    },
    flush() {
      if (queue.length > 0) flush()
    },
  }
  publishers.set(connection, publisher)
  return publisher
}
