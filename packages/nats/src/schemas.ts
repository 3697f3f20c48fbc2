import type { TransportErrorReason } from '@vel/core'
import * as Schema from 'effect/Schema'

/**
 * The language-neutral contract of every NATS payload, as Effect Schemas. JSON Schema files in
 * `packages/nats/schemas/` are generated from these (`scripts/generate-schemas.ts`); a test keeps
 * them in sync. All payloads are UTF-8 JSON.
 */

const exact = { exact: true } as const
const token = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_-]{1,128}$/),
  Schema.annotations({ description: 'One NATS subject token: letters, digits, _ and -, at most 128.' }),
)
const json = Schema.Unknown.annotations({ description: 'Any JSON value.' })
const openObject = (fields: { type: typeof Schema.String | Schema.Literal<[string]> }) =>
  Schema.Struct(fields, Schema.Record({ key: Schema.String, value: Schema.Unknown }))

/** A chat message (checked loosely here; the runtime validates content). */
export const MessageSchema = Schema.Struct(
  { role: Schema.Literal('system', 'user', 'assistant', 'tool'), content: json },
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
).annotations({ identifier: 'Message' })

/** What a run starts from: a text, one user message, or a list of messages. */
export const RunInputSchema = Schema.Union(
  Schema.String,
  Schema.Struct({
    role: Schema.Literal('user'),
    content: Schema.Union(Schema.String, Schema.Array(openObject({ type: Schema.String }))),
  }),
  Schema.Array(MessageSchema),
).annotations({ identifier: 'RunInput' })

/** Payload of `<prefix>.agent.<agentId>.run` and `<prefix>.trigger.agent.<agentId>.run`. */
export const TriggerSchema = Schema.Struct({
  input: RunInputSchema,
  sessionId: Schema.optionalWith(token, exact),
  runId: Schema.optionalWith(token, exact),
  idempotencyKey: Schema.optionalWith(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)), exact),
  metadata: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), exact),
}).annotations({
  identifier: 'Trigger',
  description:
    'Starts a run of an agent. A second trigger with the same idempotencyKey (or runId) returns the first run.',
})
export type Trigger = typeof TriggerSchema.Type

/** Successful reply to a trigger, sent once the run is durably created. */
export const TriggerReplySchema = Schema.Struct({ runId: token }).annotations({
  identifier: 'TriggerReply',
  description: 'The run exists in the store; follow it on <prefix>.run.<runId>.events.',
})
export type TriggerReply = typeof TriggerReplySchema.Type

const transportReasons = [
  'malformed-payload',
  'schema-mismatch',
  'unknown-agent',
  'unknown-run',
  'unavailable',
  'timeout',
  'unauthorized',
  'forbidden',
  'payload-too-large',
  'invalid-state',
] as const satisfies ReadonlyArray<TransportErrorReason>

/** The typed error any request can get instead of its reply. */
export const ErrorReplySchema = Schema.Struct({
  error: Schema.Struct({
    tag: Schema.Literal('TransportError'),
    reason: Schema.Literal(...transportReasons),
    message: Schema.String,
    retryable: Schema.Boolean,
  }),
}).annotations({
  identifier: 'ErrorReply',
  description: 'The request was rejected and changed nothing (or could not be served now, if retryable).',
})
export type ErrorReply = typeof ErrorReplySchema.Type

/** Reply to a human answer or a cancel that was applied. */
export const OkReplySchema = Schema.Struct({ ok: Schema.Literal(true) }).annotations({
  identifier: 'OkReply',
  description: 'The answer or cancel was journaled.',
})

/** One stream part (Vercel AI SDK UI message stream v1), checked only for its `type`. */
export const StreamPartSchema = openObject({ type: Schema.String }).annotations({
  identifier: 'StreamPart',
  description: 'A UI message stream part: start, text-delta, tool-approval-request, finish, ...',
})

/** Where a part stands in its run's stream (see `PartPosition` in @vel/core). */
export const PartPositionSchema = Schema.Struct({
  seq: Schema.Int.pipe(Schema.nonNegative()).annotations({
    description: 'The journal entry the part belongs to (for a live part: the entry its response will be).',
  }),
  index: Schema.Int.pipe(Schema.nonNegative()).annotations({
    description: "Index among that entry's parts (journaled) or among the live parts of its model call.",
  }),
  block: Schema.optionalWith(Schema.Int, exact),
  offset: Schema.optionalWith(Schema.Int, exact),
  epoch: Schema.optionalWith(Schema.Int, exact),
  live: Schema.optionalWith(
    Schema.Struct({
      epoch: Schema.Int.annotations({ description: 'Lease epoch of the owner that streamed the part.' }),
      open: Schema.optionalWith(
        Schema.Struct({ id: Schema.String, kind: Schema.Literal('text', 'reasoning') }),
        exact,
      ),
    }),
    exact,
  ),
}).annotations({ identifier: 'PartPosition' })

/** Payload of `<prefix>.run.<runId>.events`; the `Vel-Position` header repeats `position` as text. */
export const EventEnvelopeSchema = Schema.Struct({
  runId: token,
  position: PartPositionSchema,
  part: StreamPartSchema,
}).annotations({
  identifier: 'EventEnvelope',
  description:
    'One stream part of a run with its durable position: the same position on every transport and after rehydration or takeover, so a reader dedupes repeats and asks for a replay after a gap (`<prefix>.run.<runId>.replay`).',
})
export type EventEnvelope = typeof EventEnvelopeSchema.Type

/** Payload of `<prefix>.worker.<ownerId>.control`: a caller's event routed to the worker that holds the run. */
export const RoutedEventSchema = Schema.Struct({
  runId: token,
  event: Schema.Union(
    Schema.Struct({
      type: Schema.Literal('approval.decided'),
      toolCallId: Schema.String,
      approved: Schema.Boolean,
      reason: Schema.optionalWith(Schema.String, exact),
      by: Schema.optionalWith(Schema.String, exact),
    }),
    Schema.Struct({
      type: Schema.Literal('human.responded'),
      requestId: Schema.String,
      answer: json,
      by: Schema.optionalWith(Schema.String, exact),
    }),
    Schema.Struct({
      type: Schema.Literal('run.cancelled'),
      reason: Schema.optionalWith(Schema.String, exact),
    }),
  ),
}).annotations({
  identifier: 'RoutedEvent',
  description: 'An answer, decision or cancel for a run this worker holds.',
})

/** Payload of `<prefix>.run.<runId>.replay`: the parts after a position, from the journal. */
export const ReplayRequestSchema = Schema.Struct({
  after: Schema.optionalWith(PartPositionSchema, exact),
}).annotations({ identifier: 'ReplayRequest', description: 'Parts after `after` (default: from the start).' })

/** Reply of `<prefix>.run.<runId>.replay`. */
export const ReplayReplySchema = Schema.Struct({
  parts: Schema.Array(Schema.Struct({ position: PartPositionSchema, part: StreamPartSchema })),
}).annotations({
  identifier: 'ReplayReply',
  description: 'The journaled parts after the position, in order.',
})

/** Payload of `<prefix>.run.<runId>.human`. */
export const HumanRequestSchema = Schema.Struct({
  runId: token,
  agentId: token,
  request: Schema.Struct({
    requestId: Schema.String.annotations({
      description: 'The toolCallId for approvals, the question id otherwise.',
    }),
    kind: Schema.Literal('approval', 'question'),
    toolName: Schema.String,
    input: json,
    question: Schema.optionalWith(Schema.String, exact),
    requestedAt: Schema.Number,
    expiresAt: Schema.optionalWith(Schema.Number, exact),
  }),
}).annotations({ identifier: 'HumanRequest', description: 'A run waits for this approval or answer.' })
export type HumanRequestPayload = typeof HumanRequestSchema.Type

const by = Schema.optionalWith(Schema.String, exact)
/** Payload of `<prefix>.run.<runId>.human.reply`. */
export const HumanReplySchema = Schema.Union(
  Schema.Struct({
    type: Schema.Literal('approve', 'deny'),
    toolCallId: Schema.String,
    reason: Schema.optionalWith(Schema.String, exact),
    by,
  }),
  Schema.Struct({ type: Schema.Literal('respond'), requestId: Schema.String, answer: json, by }),
).annotations({
  identifier: 'HumanReply',
  description: 'Approve or deny a tool call (requestId of an approval = toolCallId), or answer a question.',
})
export type HumanReply = typeof HumanReplySchema.Type

/** Payload of `<prefix>.run.<runId>.cancel` (an empty payload means `{}`). */
export const CancelSchema = Schema.Struct({ reason: Schema.optionalWith(Schema.String, exact) }).annotations({
  identifier: 'Cancel',
  description: 'Cancels the run; in-flight model and tool work is stopped.',
})
export type Cancel = typeof CancelSchema.Type

/** Every payload schema by the file name its JSON Schema is written to. */
export const payloadSchemas = {
  trigger: TriggerSchema,
  'trigger-reply': TriggerReplySchema,
  'error-reply': ErrorReplySchema,
  'ok-reply': OkReplySchema,
  'event-envelope': EventEnvelopeSchema,
  'human-request': HumanRequestSchema,
  'human-reply': HumanReplySchema,
  cancel: CancelSchema,
  'replay-request': ReplayRequestSchema,
  'replay-reply': ReplayReplySchema,
  'routed-event': RoutedEventSchema,
} as const
