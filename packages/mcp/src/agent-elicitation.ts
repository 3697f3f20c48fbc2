import type { Server } from '@modelcontextprotocol/sdk/server/index.js'
import type { ElicitRequestFormParams, ElicitResult, RequestId } from '@modelcontextprotocol/sdk/types.js'
import type { HumanRequest } from '@vel/core'
import type { HumanDecision } from './agent-call.ts'

/** The form an approval or a question is asked with. */
export function elicitationOf(agentId: string, request: HumanRequest): ElicitRequestFormParams {
  if (request.kind === 'question')
    return {
      mode: 'form',
      message: `The agent '${agentId}' asks: ${request.question ?? ''}`,
      requestedSchema: {
        type: 'object',
        properties: { answer: { type: 'string', title: 'Answer', description: 'Your answer to the agent.' } },
        required: ['answer'],
      },
    }
  return {
    mode: 'form',
    message: `The agent '${agentId}' wants to call ${request.toolName} with ${JSON.stringify(request.input)}. Approve this call?`,
    requestedSchema: {
      type: 'object',
      properties: {
        approved: {
          type: 'boolean',
          title: 'Approve',
          description: `Run ${request.toolName} (unticked denies it).`,
        },
        reason: { type: 'string', title: 'Reason', description: 'Why (recorded in the run journal).' },
      },
      required: ['approved'],
    },
  }
}

/**
 * What a person's reply means for the run. An approval declined is denied; a question declined,
 * and any request cancelled (dismissed), gets no decision, so the run is left waiting.
 */
export function decisionOf(request: HumanRequest, result: ElicitResult): HumanDecision | undefined {
  const content = result.content ?? {}
  if (request.kind === 'question') {
    const answer = content.answer
    return result.action === 'accept' && typeof answer === 'string' ? { kind: 'answer', answer } : undefined
  }
  if (result.action === 'cancel') return undefined
  const reason = typeof content.reason === 'string' && content.reason !== '' ? content.reason : undefined
  if (result.action === 'decline') return { kind: 'deny', reason: reason ?? 'declined by the MCP client' }
  return { kind: content.approved === true ? 'approve' : 'deny', ...(reason === undefined ? {} : { reason }) }
}

/** Whether the connected client said it can show forms (`elicitation` or `elicitation.form`). */
export const canElicit = (server: Server): boolean =>
  server.getClientCapabilities()?.elicitation?.form !== undefined

/**
 * Asks through elicitation, on the stream of the tool call `relatedRequestId`. A failed or
 * timed-out elicitation is no decision (the run waits); an aborted one rethrows.
 */
export async function elicit(
  server: Server,
  agentId: string,
  request: HumanRequest,
  options: {
    readonly relatedRequestId: RequestId
    readonly signal: AbortSignal
    readonly timeoutMs: number
    readonly onError: (error: unknown) => void
  },
): Promise<HumanDecision | undefined> {
  try {
    const result = await server.elicitInput(elicitationOf(agentId, request), {
      relatedRequestId: options.relatedRequestId,
      signal: options.signal,
      timeout: options.timeoutMs,
    })
    return decisionOf(request, result)
  } catch (error) {
    if (options.signal.aborted) throw error
    options.onError(error)
    return undefined
  }
}
