import * as JSONSchema from 'effect/JSONSchema'
import * as Schema from 'effect/Schema'
import * as Schemas from './schemas.ts'

type JsonObject = Record<string, unknown>

/** Options of `createOpenApiDocument`. */
export interface OpenApiOptions {
  readonly title?: string
  readonly version?: string
  /** Whether requests need a bearer token (adds the security scheme). */
  readonly bearerAuth?: boolean
}

/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the Effect Schemas the routes decode
 * with, so the document and the validation cannot drift apart.
 */
export function createOpenApiDocument(options: OpenApiOptions = {}): JsonObject {
  const definitions: Record<string, JSONSchema.JsonSchema7> = {}
  const schemaOf = (schema: Schema.Schema.Any): JsonObject =>
    JSONSchema.fromAST(schema.ast, {
      definitions,
      definitionPath: '#/components/schemas/',
      target: 'openApi3.1',
      additionalPropertiesStrategy: 'allow',
    }) as unknown as JsonObject
  const json = (schema: Schema.Schema.Any, description: string) => ({
    description,
    content: { 'application/json': { schema: schemaOf(schema) } },
  })
  const problem = (description: string) => ({
    description,
    content: { 'application/problem+json': { schema: schemaOf(Schemas.Problem) } },
  })
  const stream = {
    description: 'The AI SDK UI message stream (v1) over SSE; every event has an id `<journalSeq>-<index>`.',
    headers: { 'x-vercel-ai-ui-message-stream': { schema: { type: 'string', const: 'v1' } } },
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  }
  const body = (schema: Schema.Schema.Any, required = true) => ({
    required,
    content: { 'application/json': { schema: schemaOf(schema) } },
  })
  const path = (name: string, description: string) => ({
    name,
    in: 'path',
    required: true,
    description,
    schema: { type: 'string' },
  })
  const queryOf = (struct: Schema.Struct<Schema.Struct.Fields>) =>
    Object.entries(struct.fields).map(([name, field]) => ({
      name,
      in: 'query',
      required: false,
      schema: schemaOf(Schema.asSchema(field as Schema.Schema.Any)),
    }))
  const errors = {
    '400': problem('A field is invalid; `field` names it.'),
    '401': problem('Missing or invalid credentials.'),
    '413': problem('The body is larger than the limit.'),
  }
  const runErrors = { ...errors, '403': problem('Not your run.'), '404': problem('No such run.') }
  const runId = path('runId', 'The run.')
  const paths = {
    '/runs': {
      post: {
        summary: 'Start a run',
        parameters: queryOf(Schemas.StartRunQuery),
        requestBody: body(Schemas.StartRunBody),
        responses: {
          '201': json(Schemas.StartedRun, 'Started (with `wait=true`: ended or waiting for a human).'),
          ...errors,
          '404': problem('Unknown agent.'),
        },
      },
      get: {
        summary: 'List runs, newest first',
        parameters: queryOf(Schemas.ListRunsQuery),
        responses: { '200': json(Schemas.RunPage, 'A page of runs.'), ...errors },
      },
    },
    '/runs/stream': {
      post: {
        summary: 'Start a run and stream it until it ends or waits for a human',
        requestBody: body(Schemas.StartRunBody),
        responses: { '200': stream, ...errors, '404': problem('Unknown agent.') },
      },
    },
    '/usage': {
      get: {
        summary: 'Tokens and cost summed over the runs you may see, by agent, session or status',
        parameters: queryOf(Schemas.UsageQuery),
        responses: { '200': json(Schemas.UsageTreeValue, 'The sum.'), ...errors },
      },
    },
    '/runs/{runId}': {
      get: {
        summary: 'A run: status, usage and cost (with its pipeline tree), pending approvals and questions',
        parameters: [runId],
        responses: { '200': json(Schemas.RunDetail, 'The run.'), ...runErrors },
      },
    },
    '/runs/{runId}/stream': {
      get: {
        summary: 'Replay the run from its journal, then follow it live',
        parameters: [
          runId,
          { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' } },
        ],
        responses: { '200': stream, ...runErrors },
      },
    },
    '/runs/{runId}/approvals/{toolCallId}': {
      post: {
        summary: 'Approve or deny a tool call',
        parameters: [runId, path('toolCallId', 'The tool call waiting for approval.')],
        requestBody: body(Schemas.ApprovalBody),
        responses: {
          '200': json(Schemas.Accepted, 'Decided.'),
          ...runErrors,
          '409': problem('Not pending.'),
        },
      },
    },
    '/runs/{runId}/answers/{requestId}': {
      post: {
        summary: "Answer a run's question",
        parameters: [runId, path('requestId', 'The question (its tool call id).')],
        requestBody: body(Schemas.AnswerBody),
        responses: {
          '200': json(Schemas.Accepted, 'Answered.'),
          ...runErrors,
          '409': problem('Not pending.'),
        },
      },
    },
    '/runs/{runId}/cancel': {
      post: {
        summary: 'Cancel a run',
        parameters: [runId],
        requestBody: body(Schemas.CancelBody, false),
        responses: { '200': json(Schemas.Accepted, 'Cancelled.'), ...runErrors, '409': problem('Ended.') },
      },
    },
    '/agents/{agentId}/chat': {
      post: {
        summary: 'AI SDK chat endpoint (useChat with the default transport)',
        parameters: [path('agentId', 'The agent.')],
        requestBody: body(Schemas.ChatBody),
        responses: {
          '200': stream,
          ...errors,
          '404': problem('Unknown agent.'),
          '409': problem('The chat waits for an approval, or nothing waits for these approvals.'),
        },
      },
    },
    '/agents/{agentId}/chat/{chatId}/stream': {
      get: {
        summary: "Resume a chat: its run still working, replayed from the start (useChat's resume)",
        parameters: [path('agentId', 'The agent.'), path('chatId', 'The chat (session).')],
        responses: { '200': stream, '204': { description: 'Nothing is running in this chat.' }, ...errors },
      },
    },
    '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': { description: 'Up.' } } } },
    '/openapi.json': {
      get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1.' } } },
    },
  }
  return {
    openapi: '3.1.0',
    info: { title: options.title ?? 'Vel', version: options.version ?? '0.1.0' },
    ...(options.bearerAuth ? { security: [{ bearer: [] }] } : {}),
    paths,
    components: {
      schemas: definitions,
      ...(options.bearerAuth ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : {}),
    },
  }
}
