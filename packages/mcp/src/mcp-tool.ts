import type { Tool as McpToolDefinition } from '@modelcontextprotocol/sdk/types.js'
import {
  defineTool,
  type JsonObject,
  type JsonValue,
  type Tool,
  type ToolContext,
  ToolError,
  type Validation,
} from '@vel/core'
import type { McpServerPolicy, McpToolOverride } from './options.ts'
import { isDestructive, sideEffectsOf } from './policy.ts'

/** What a Vel tool needs from its server connection to run one call. */
export type McpCall = (plan: McpCallPlan, input: JsonObject, context: ToolContext) => Promise<JsonValue>

/** How to call one tool: its names on both sides, its limit, and whether sending it twice is harmless. */
export interface McpCallPlan {
  readonly mcpName: string
  readonly velName: string
  readonly timeoutMs: number | undefined
  /** `none` or `idempotent`: a call lost with its connection may be sent again on a new one. */
  readonly resendable: boolean
}

/** The `_meta` key under which each call carries the run's deterministic idempotency key. */
export const idempotencyKeyMeta = 'vel/idempotencyKey'

/** The `_meta` key under which each call carries the run owner's lease epoch, when it has one. */
export const fencingTokenMeta = 'vel/fencingToken'

/** A copy of a published schema that Vel's validator (JSON Schema 2020-12) can compile. */
const forValidation = (schema: JsonObject): JsonObject => {
  const { $schema: _dialect, ...rest } = schema
  return rest
}

/**
 * A Vel tool for one MCP tool: the schema as published (the model sees it unchanged), the policy
 * from its annotations unless the user overrides it, and a handler that calls the server through
 * the connection (so a reconnected server serves tools listed before the drop).
 */
export function toVelTool(
  definition: McpToolDefinition,
  velName: string,
  serverName: string,
  policy: McpServerPolicy,
  call: McpCall,
): Tool {
  const override: McpToolOverride = policy.tools?.[definition.name] ?? policy.tools?.[velName] ?? {}
  const published = definition.inputSchema as JsonObject
  const timeoutMs = override.timeoutMs ?? policy.timeoutMs
  const description =
    override.description ??
    definition.description ??
    definition.title ??
    definition.annotations?.title ??
    `Tool '${definition.name}' of the MCP server '${serverName}'.`
  const sideEffects = override.sideEffects ?? sideEffectsOf(definition.annotations)
  const plan: McpCallPlan = {
    mcpName: definition.name,
    velName,
    timeoutMs,
    resendable: sideEffects !== 'unsafe',
  }
  const options = {
    name: velName,
    description,
    handler: (input: JsonObject, context: ToolContext) => call(plan, input, context),
    timeoutMs,
    retry: override.retry,
    needsApproval:
      override.needsApproval ?? (policy.approveDestructive === true && isDestructive(definition.annotations)),
    sideEffects,
  }
  // A schema Vel cannot check is still the server's contract: then the server validates instead.
  // Core refuses some schemas at definition and finds others uncompilable on first validation.
  let tool: Tool
  try {
    tool = defineTool({ ...options, input: forValidation(published) })
  } catch (error) {
    if (!ToolError.isInstance(error) || error.reason !== 'invalid-definition') throw error
    tool = defineTool({ ...options, input: { type: 'object' } })
  }
  const uncompilable = `tool '${velName}' has an invalid input JSON Schema`
  const leaveToServer = (value: unknown, result: Validation<unknown>): Validation<unknown> =>
    !result.ok && result.error.startsWith(uncompilable) ? { ok: true, value } : result
  const validate = tool.validateInput.bind(tool)
  return {
    ...tool,
    inputSchema: published,
    spec: { ...tool.spec, inputSchema: published },
    validateInput: (value) => {
      const result = validate(value)
      return result instanceof Promise
        ? result.then((done) => leaveToServer(value, done))
        : leaveToServer(value, result)
    },
  }
}
