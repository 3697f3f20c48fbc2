/**
 * @vel/nats: serves Vel agents over NATS so any language can trigger runs, follow their stream
 * parts, answer approvals and questions, and cancel them. A `Bus` that publishes parts and human
 * requests, a worker (queue groups, optional JetStream durable triggers, lease-based failover),
 * a small client, and Effect Schemas (with generated JSON Schema files) for every payload. It may
 * import `@vel/core`, `@vel/actors`, `effect` modules and `@nats-io/*`; it must not import stores,
 * providers, HTTP code or the runtime's internals.
 */

// the bus a runtime publishes through
export { createNatsBus, type NatsBusOptions } from './bus.ts'
// the client
export {
  createNatsClient,
  type EventsOptions,
  type NatsClient,
  type NatsClientOptions,
  type PartsGap,
  type TriggerOptions,
} from './client.ts'
// payload encoding
export { type DecodeOptions, decodePayload, encodeJson, errorFromReply, errorReply } from './codec.ts'
// connection options from configuration and environment
export { type NatsConnectionSettings, natsConnectOptions, natsEnvironment } from './connect-options.ts'
// the wire contract
export * from './schemas.ts'
// subjects and headers
export { createSubjects, defaultPrefix, isSubjectToken, type Subjects, velHeaders } from './subjects.ts'
// durable triggers
export { ensureTriggerStream, type TriggerStreamNames, type TriggerStreamOptions } from './trigger-stream.ts'
// the worker
export { createWorker, type NatsWorker, type WorkerOptions } from './worker.ts'
