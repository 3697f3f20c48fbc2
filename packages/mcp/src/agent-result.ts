import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import type { HumanRequest } from '@vel/core'

/** Which run a result is about; sent as `_meta["vel/run"]` with its status. */
export interface RunMeta {
  readonly runId: string
  readonly agentId: string
}

/** An error's message, for a result text. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const compact = (value: unknown, max = 200): string => {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** An error result: the model (or person) behind the client reads `text`. */
export function failedResult(text: string, meta?: RunMeta, status = 'failed'): CallToolResult {
  return {
    content: [{ type: 'text', text }],
    isError: true,
    ...(meta === undefined ? {} : { _meta: { 'vel/run': { ...meta, status } } }),
  }
}

/** How to give one request its answer over the CLI, HTTP and NATS. */
function howToAnswer(runId: string, request: HumanRequest): string[] {
  const id = request.requestId
  if (request.kind === 'question')
    return [
      `- question ${id}: ${request.question ?? ''}`,
      `  CLI:  vel answer ${runId} ${id} "<answer>"`,
      `  HTTP: POST /runs/${runId}/answers/${id} {"answer": "<answer>"}`,
      `  NATS: vel.run.${runId}.human.reply {"type": "respond", "requestId": "${id}", "answer": "<answer>"}`,
    ]
  return [
    `- approval ${id}: ${request.toolName} ${compact(request.input)}`,
    `  CLI:  vel approve ${runId} ${id}   (or: vel deny ${runId} ${id} --reason "...")`,
    `  HTTP: POST /runs/${runId}/approvals/${id} {"approved": true}`,
    `  NATS: vel.run.${runId}.human.reply {"type": "approve", "toolCallId": "${id}"}`,
  ]
}

/**
 * The result for a run left waiting for a human: not the agent's answer, so an error result (an
 * agent with an `outputSchema` could give no conforming `structuredContent` anyway), naming the
 * run and how to answer each request (a child run's request is answered through this run's id).
 * The run itself is stored and continues once answered.
 */
export function waitingResult(
  pending: ReadonlyArray<HumanRequest>,
  meta: RunMeta,
  followTool?: string,
): CallToolResult {
  const lines = [
    `Run ${meta.runId} of agent '${meta.agentId}' is waiting for a human and has no answer yet. It is stored and continues once answered:`,
    ...pending.flatMap((request) => howToAnswer(meta.runId, request)),
    ...(followTool === undefined
      ? []
      : [
          `To get its answer later (or answer it from a client that can show forms): ${followTool} {"runId": "${meta.runId}"}`,
        ]),
  ]
  return {
    content: [{ type: 'text', text: lines.join('\n') }],
    isError: true,
    _meta: {
      'vel/run': {
        ...meta,
        status: 'waiting',
        pending: pending.map((request) => ({
          requestId: request.requestId,
          kind: request.kind,
          toolName: request.toolName,
          input: request.input,
          ...(request.question === undefined ? {} : { question: request.question }),
        })),
      },
    },
  }
}
