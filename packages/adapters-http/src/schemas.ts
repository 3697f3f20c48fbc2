import * as Schema from 'effect/Schema'

/*
 * Every body, query and response shape of the HTTP API, as Effect Schemas: requests are decoded
 * with them (400 naming the field) and `GET /openapi.json` is generated from the same values.
 */

const NonEmpty = Schema.String.pipe(Schema.minLength(1))

/** Any JSON value (an answer, an output). */
export const Json = Schema.Union(
  Schema.String,
  Schema.Number,
  Schema.Boolean,
  Schema.Null,
  Schema.Array(Schema.Unknown),
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
).annotations({ identifier: 'Json', description: 'Any JSON value.' })

/** What a run starts from: a user message as a string or as `{ message }`. */
export const RunInputBody = Schema.Union(NonEmpty, Schema.Struct({ message: NonEmpty })).annotations({
  identifier: 'RunInput',
  description: 'The user message: a string, or `{ message }` as in the Python Vel API.',
})

/** `POST /runs` in the Python Vel spelling. */
export const StartRunSnake = Schema.Struct({
  agent_id: NonEmpty,
  input: RunInputBody,
  session_id: Schema.optional(NonEmpty),
}).annotations({ identifier: 'StartRunSnake', description: 'Start a run (Python Vel spelling).' })

/** `POST /runs` in the camelCase spelling. */
export const StartRunCamel = Schema.Struct({
  agentId: NonEmpty,
  input: RunInputBody,
  sessionId: Schema.optional(NonEmpty),
}).annotations({ identifier: 'StartRunCamel', description: 'Start a run (camelCase spelling).' })

/** Either spelling of the start-run body (for the OpenAPI document). */
export const StartRunBody = Schema.Union(StartRunSnake, StartRunCamel).annotations({
  identifier: 'StartRun',
})

const ApprovalState = Schema.Struct({
  id: Schema.String,
  approved: Schema.optional(Schema.Boolean),
  reason: Schema.optional(Schema.String),
})

/** One part of an AI SDK `UIMessage`; only the fields Vel reads are declared, others pass. */
export const UIMessagePartBody = Schema.Struct({
  type: NonEmpty,
  text: Schema.optional(Schema.String),
  toolCallId: Schema.optional(Schema.String),
  state: Schema.optional(Schema.String),
  approval: Schema.optional(ApprovalState),
}).annotations({ identifier: 'UIMessagePart' })

/** An AI SDK `UIMessage`. */
export const UIMessageBody = Schema.Struct({
  id: Schema.String,
  role: Schema.Literal('system', 'user', 'assistant'),
  parts: Schema.Array(UIMessagePartBody),
}).annotations({ identifier: 'UIMessage' })

/** The AI SDK chat request (`DefaultChatTransport`): `id` is the session, the last message the input. */
export const ChatBody = Schema.Struct({
  id: NonEmpty,
  messages: Schema.NonEmptyArray(UIMessageBody),
  trigger: Schema.optional(Schema.String).annotations({
    description:
      '`submit-message` or `regenerate-message`; a regenerate redoes the turn it names (ADR 0065).',
  }),
  messageId: Schema.optional(Schema.String).annotations({
    description:
      'The message a regenerate or an edit names: that turn and every later one leave the session.',
  }),
}).annotations({ identifier: 'ChatRequest' })

/** `POST /runs/:runId/approvals/:toolCallId`. */
export const ApprovalBody = Schema.Struct({
  approved: Schema.Boolean,
  reason: Schema.optional(Schema.String),
}).annotations({ identifier: 'ApprovalDecision' })

/** `POST /runs/:runId/answers/:requestId`. */
export const AnswerBody = Schema.Struct({ answer: Json }).annotations({ identifier: 'HumanAnswer' })

/** `POST /runs/:runId/cancel` (the body is optional). */
export const CancelBody = Schema.Struct({ reason: Schema.optional(Schema.String) }).annotations({
  identifier: 'CancelRequest',
})

/** Run statuses as the store indexes them. */
export const RunStatusValue = Schema.Literal(
  'running',
  'waiting',
  'completed',
  'failed',
  'cancelled',
  'corrupted',
)

/** `POST /runs` query parameters: `wait=true` answers once the run ends or waits for a human. */
export const StartRunQuery = Schema.Struct({ wait: Schema.optional(Schema.Literal('true', 'false')) })

/** `GET /runs` query parameters. */
export const ListRunsQuery = Schema.Struct({
  status: Schema.optional(RunStatusValue),
  agent: Schema.optional(NonEmpty),
  session: Schema.optional(NonEmpty),
  cursor: Schema.optional(NonEmpty),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 200))),
})

const SerializedErrorValue = Schema.Struct({
  tag: Schema.String,
  reason: Schema.String,
  message: Schema.String,
  retryable: Schema.Boolean,
}).annotations({ identifier: 'RunFailure' })

/** A human request a run waits on (approval or question). */
export const PendingRequestValue = Schema.Struct({
  requestId: Schema.String,
  kind: Schema.Literal('approval', 'question'),
  toolName: Schema.String,
  input: Schema.Unknown,
  question: Schema.optional(Schema.String),
  requestedAt: Schema.Number,
  expiresAt: Schema.optional(Schema.Number),
}).annotations({ identifier: 'PendingRequest' })

/** Token usage of a run. */
export const UsageValue = Schema.Struct({
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  reasoningTokens: Schema.Number,
  cachedInputTokens: Schema.Number,
}).annotations({ identifier: 'Usage' })

/** A run as listed by `GET /runs`. */
export const RunSummary = Schema.Struct({
  runId: Schema.String,
  agentId: Schema.String,
  sessionId: Schema.NullOr(Schema.String),
  parentRunId: Schema.NullOr(Schema.String),
  status: RunStatusValue,
  answer: Schema.optional(Json),
  error: Schema.optional(SerializedErrorValue),
  startedBy: Schema.optional(Schema.String),
  pending: Schema.Array(PendingRequestValue),
  createdAt: Schema.Number,
  updatedAt: Schema.Number,
}).annotations({ identifier: 'RunSummary' })

/** What a model charges, in US dollars per million tokens. */
export const ModelPriceValue = Schema.Struct({
  inputPerMTok: Schema.Number,
  outputPerMTok: Schema.Number,
  cachedInputPerMTok: Schema.optional(Schema.Number),
}).annotations({ identifier: 'ModelPrice' })

/** Tokens and cost summed over a run and every run below it (its pipeline tree). */
export const UsageTreeValue = Schema.Struct({
  runs: Schema.Number,
  usage: UsageValue,
  costUsd: Schema.Number,
  /** Runs whose model has no price: their tokens count, their cost is unknown. */
  unpricedRuns: Schema.Number,
}).annotations({ identifier: 'UsageTree' })

/** Filters of `GET /usage`. */
export const UsageQuery = Schema.Struct({
  status: Schema.optional(RunStatusValue),
  agent: Schema.optional(NonEmpty),
  session: Schema.optional(NonEmpty),
})

/** A run with its usage, cost and progress, from `GET /runs/:runId`. */
export const RunDetail = Schema.extend(
  RunSummary,
  Schema.Struct({
    usage: UsageValue,
    /** The run's own cost at `price`; absent when its model has no price. */
    costUsd: Schema.optional(Schema.Number),
    price: Schema.optional(ModelPriceValue),
    maxCostUsd: Schema.optional(Schema.Number),
    tree: UsageTreeValue,
    step: Schema.Number,
    phase: Schema.String,
  }),
).annotations({ identifier: 'RunDetail' })

/** A page of runs. */
export const RunPage = Schema.Struct({
  items: Schema.Array(RunSummary),
  nextCursor: Schema.optional(Schema.String),
}).annotations({ identifier: 'RunPage' })

/** Answer of `POST /runs`. */
export const StartedRun = Schema.Struct({
  runId: Schema.String,
  status: RunStatusValue,
  answer: Schema.optional(Json),
  error: Schema.optional(SerializedErrorValue),
}).annotations({ identifier: 'StartedRun' })

/** Answer of the approval, answer and cancel endpoints. */
export const Accepted = Schema.Struct({ runId: Schema.String, status: RunStatusValue }).annotations({
  identifier: 'Accepted',
})

/** RFC 9457 problem details. */
export const Problem = Schema.Struct({
  type: Schema.String,
  title: Schema.String,
  status: Schema.Number,
  detail: Schema.String,
  field: Schema.optional(Schema.String),
  errors: Schema.optional(Schema.Array(Schema.Struct({ field: Schema.String, message: Schema.String }))),
  tag: Schema.optional(Schema.String),
  reason: Schema.optional(Schema.String),
}).annotations({ identifier: 'Problem' })
