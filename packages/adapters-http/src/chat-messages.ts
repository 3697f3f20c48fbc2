import type * as Schemas from './schemas.ts'

type UIMessage = typeof Schemas.UIMessageBody.Type

/** A tool approval decided in the chat UI (`state: 'approval-responded'` on a tool part). */
export interface ApprovalResponse {
  readonly toolCallId: string
  /** Vel issues approval ids equal to tool call ids; kept apart in case a client rewrites them. */
  readonly approvalId: string
  readonly approved: boolean
  readonly reason?: string
}

const isToolPart = (type: string) => type.startsWith('tool-') || type === 'dynamic-tool'

/**
 * The approval responses an AI SDK client sends back: tool parts of the message in state
 * `approval-responded` with `approval: { id, approved, reason? }` (ai 6's `addToolApprovalResponse`).
 */
export function approvalResponses(message: UIMessage): ApprovalResponse[] {
  const responses: ApprovalResponse[] = []
  for (const part of message.parts) {
    if (!isToolPart(part.type) || part.state !== 'approval-responded') continue
    const { approval, toolCallId } = part
    if (approval?.approved === undefined || toolCallId === undefined) continue
    responses.push({
      toolCallId,
      approvalId: approval.id,
      approved: approval.approved,
      ...(approval.reason === undefined ? {} : { reason: approval.reason }),
    })
  }
  return responses
}

/** The text of a message: its text parts, joined by blank lines. */
export const messageText = (message: UIMessage): string =>
  message.parts
    .flatMap((part) => (part.type === 'text' && part.text !== undefined ? [part.text] : []))
    .join('\n\n')
    .trim()
