import type { JsonValue, ToolPlan } from '@vel/core'

/** A tool call as a guard sees it: the model's arguments, validated against the tool's schema. */
export interface GuardedCall {
  readonly toolCallId: string
  readonly toolName: string
  readonly input: JsonValue
}

/** What a guard is given besides the call. */
export interface ToolGuardContext {
  readonly runId: string
  readonly agentId: string
  /** The agent's `app` values. */
  readonly app: Readonly<Record<string, unknown>>
}

/** A guard's answer: run the call (or ask for its approval, if it needs one), or refuse it. */
export type ToolGuardDecision = { readonly allow: true } | { readonly allow: false; readonly reason: string }

/**
 * A synchronous policy over every tool call of an agent (Factor 8), for rules that need no person:
 * decided at the edge when the model's response is planned, before any tool starts or any human is
 * asked, and journaled with that response, so a replay or a resume never decides again. A refused
 * call never runs: the stream shows `tool-output-denied` and the model reads
 * `Denied by policy: <reason>`. A guard that throws, or answers anything else, refuses the call.
 */
export type ToolGuard = (call: GuardedCall, context: ToolGuardContext) => ToolGuardDecision

/** The guard's decision as a plan, or undefined when the call may go on. Never throws. */
export function guardPlan(
  guard: ToolGuard,
  call: GuardedCall,
  context: ToolGuardContext,
): Extract<ToolPlan, { action: 'deny' }> | undefined {
  const deny = (reason: string) => ({ toolCallId: call.toolCallId, action: 'deny' as const, reason })
  try {
    const decision: unknown = guard(call, context)
    if (typeof decision === 'object' && decision !== null && 'allow' in decision) {
      if (decision.allow === true) return undefined
      const reason = (decision as { reason?: unknown }).reason
      if (decision.allow === false)
        return deny(typeof reason === 'string' && reason !== '' ? reason : 'refused')
    }
    return deny('the guard gave no decision ({ allow: true } or { allow: false, reason })')
  } catch (error) {
    return deny(`the guard failed: ${error instanceof Error ? error.message : String(error)}`)
  }
}
