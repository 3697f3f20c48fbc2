import type { SideEffects } from '@vel/core'

/** The behaviour hints an MCP server publishes for a tool (all optional, all untrusted hints). */
export interface McpAnnotations {
  readonly readOnlyHint?: boolean | undefined
  readonly destructiveHint?: boolean | undefined
  readonly idempotentHint?: boolean | undefined
  readonly openWorldHint?: boolean | undefined
}

/**
 * The crash policy an MCP tool's annotations imply: read-only is `none`, idempotent is
 * `idempotent`, anything else is `unsafe` (MCP's defaults describe a destructive, non-idempotent
 * tool, so a tool without annotations is never re-run after a crash).
 */
export const sideEffectsOf = (annotations: McpAnnotations | undefined): SideEffects => {
  if (annotations?.readOnlyHint === true) return 'none'
  if (annotations?.idempotentHint === true) return 'idempotent'
  return 'unsafe'
}

/** Whether a tool may destroy data by MCP's defaults: not read-only, and `destructiveHint` not false. */
export const isDestructive = (annotations: McpAnnotations | undefined): boolean =>
  annotations?.readOnlyHint !== true && annotations?.destructiveHint !== false
