import type { AssistantMessage, Message, ModelRequest, ToolMessage, UserMessage } from '@vel/core'
import { imageMediaType, inputObject, metadataString, resultText } from './message-helpers.ts'
import type { Warnings } from './provider-settings.ts'

type Json = Record<string, unknown>

/**
 * The Messages API request body: system messages joined into `system`, tool results as a user
 * turn of `tool_result` blocks (with `is_error`), thinking blocks sent back with their signatures
 * (and redacted thinking with its data), consecutive same-role turns merged, settings, then
 * `providerOptions.anthropic` merged over the top.
 */
export function anthropicBody(
  modelId: string,
  request: ModelRequest,
  warnings: Warnings,
  defaultMaxOutputTokens: number,
): Json {
  const system = request.messages.flatMap((message) => (message.role === 'system' ? [message.content] : []))
  const turns: Array<{ role: 'user' | 'assistant'; content: Json[] }> = []
  for (const message of request.messages) {
    if (message.role === 'system') continue
    const role = message.role === 'assistant' ? 'assistant' : 'user'
    const content = blocks(message, warnings)
    if (content.length === 0) continue
    const last = turns.at(-1)
    // The API wants alternating roles: tool results followed by a user message share one turn.
    if (last?.role === role) last.content.push(...content)
    else turns.push({ role, content })
  }
  const options = request.providerOptions?.anthropic ?? {}
  const thinking = options.thinking as { type?: string; budget_tokens?: number } | undefined
  let maxTokens = request.maxOutputTokens ?? defaultMaxOutputTokens
  // Thinking budget counts against max_tokens; leave room for the answer.
  if (
    thinking?.type === 'enabled' &&
    typeof thinking.budget_tokens === 'number' &&
    maxTokens <= thinking.budget_tokens
  )
    maxTokens = thinking.budget_tokens + defaultMaxOutputTokens
  const body: Json = { model: modelId, max_tokens: maxTokens, messages: turns, stream: true }
  if (system.length > 0) body.system = system.join('\n\n')
  if (request.tools !== undefined && request.tools.length > 0)
    body.tools = request.tools.map((tool) => ({
      name: tool.name,
      description: tool.description,
      input_schema: tool.inputSchema,
    }))
  if (request.toolChoice !== undefined) {
    const choice = request.toolChoice
    body.tool_choice =
      choice === 'auto' || choice === 'none'
        ? { type: choice }
        : choice === 'required'
          ? { type: 'any' }
          : { type: 'tool', name: choice.name }
  }
  if (request.responseFormat !== undefined)
    body.output_config = { format: { type: 'json_schema', schema: request.responseFormat.schema } }
  if (request.stopSequences !== undefined) body.stop_sequences = [...request.stopSequences]
  for (const [setting, value] of [
    ['temperature', request.temperature],
    ['topP', request.topP],
    ['seed', request.seed],
  ] as const)
    if (value !== undefined)
      warnings.unsupported(
        'anthropic',
        setting,
        'not sent (pass it in providerOptions.anthropic to force it)',
      )
  return { ...body, ...options }
}

function blocks(message: Exclude<Message, { role: 'system' }>, warnings: Warnings): Json[] {
  if (message.role === 'user') return userBlocks(message, warnings)
  if (message.role === 'tool') return toolResults(message)
  return assistantBlocks(message)
}

function userBlocks(message: UserMessage, warnings: Warnings): Json[] {
  if (typeof message.content === 'string') return [{ type: 'text', text: message.content }]
  return message.content.flatMap((part): Json[] => {
    if (part.type === 'text') return [{ type: 'text', text: part.text }]
    const source =
      part.data === undefined
        ? { type: 'url', url: part.url ?? '' }
        : {
            type: 'base64',
            media_type: part.type === 'image' ? imageMediaType(part) : part.mediaType,
            data: part.data,
          }
    if (part.type === 'image') return [{ type: 'image', source }]
    if (part.mediaType !== 'application/pdf') {
      warnings.add(`anthropic accepts PDF documents only; a ${part.mediaType} file was dropped`)
      return []
    }
    return [{ type: 'document', source }]
  })
}

const toolResults = (message: ToolMessage): Json[] =>
  message.content.map((part) => ({
    type: 'tool_result',
    tool_use_id: part.toolCallId,
    content: resultText(part),
    ...('error' in part ? { is_error: true } : {}),
  }))

function assistantBlocks(message: AssistantMessage): Json[] {
  return message.content.flatMap((part): Json[] => {
    switch (part.type) {
      case 'text':
        return part.text === '' ? [] : [{ type: 'text', text: part.text }]
      case 'reasoning': {
        const redacted = metadataString(part, 'anthropic', 'redactedData')
        if (redacted !== undefined) return [{ type: 'redacted_thinking', data: redacted }]
        const signature = metadataString(part, 'anthropic', 'signature')
        // Thinking from elsewhere has no signature and the API would reject it.
        return signature === undefined ? [] : [{ type: 'thinking', thinking: part.text, signature }]
      }
      default: // tool-call
        return [{ type: 'tool_use', id: part.id, name: part.name, input: inputObject(part.input) }]
    }
  })
}
