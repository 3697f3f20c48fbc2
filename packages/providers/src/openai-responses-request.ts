import type { AssistantMessage, Message, ModelRequest, UserMessage } from '@vel/core'
import { dataUrl, inputText, metadataString, resultText } from './message-helpers.ts'
import type { Warnings } from './provider-settings.ts'

type Json = Record<string, unknown>

/** Metadata key of the Responses model: reasoning, message and function-call item ids live under it. */
export const responsesProvider = 'openai-responses'

/**
 * The Responses API request body: messages become input items; reasoning goes back as `reasoning`
 * items with their id, summary and `encrypted_content` (dropped when `store: false` and there is no
 * encrypted content, as the server could not resolve the id); assistant text and function calls
 * keep their item ids; function tools are sent with `strict: false` (the API defaults to strict).
 * `providerOptions['openai-responses']` is merged over the top.
 */
export function openAIResponsesBody(modelId: string, request: ModelRequest, warnings: Warnings): Json {
  const options = request.providerOptions?.[responsesProvider] ?? {}
  const stateless = options.store === false
  const body: Json = {
    model: modelId,
    input: request.messages.flatMap((message) => inputItems(message, warnings, stateless)),
    stream: true,
  }
  if (request.tools !== undefined && request.tools.length > 0)
    body.tools = request.tools.map((tool) => ({
      type: 'function',
      name: tool.name,
      description: tool.description,
      parameters: tool.inputSchema,
      strict: false,
    }))
  if (request.toolChoice !== undefined)
    body.tool_choice =
      typeof request.toolChoice === 'string'
        ? request.toolChoice
        : { type: 'function', name: request.toolChoice.name }
  if (request.responseFormat !== undefined)
    body.text = {
      format: {
        type: 'json_schema',
        name: request.responseFormat.name ?? 'response',
        schema: request.responseFormat.schema,
        strict: false,
      },
    }
  if (request.maxOutputTokens !== undefined) body.max_output_tokens = request.maxOutputTokens
  if (request.temperature !== undefined) body.temperature = request.temperature
  if (request.topP !== undefined) body.top_p = request.topP
  if (request.seed !== undefined) warnings.unsupported('openai responses', 'seed')
  if (request.stopSequences !== undefined) warnings.unsupported('openai responses', 'stopSequences')
  return { ...body, ...options }
}

function inputItems(message: Message, warnings: Warnings, stateless: boolean): Json[] {
  switch (message.role) {
    case 'system':
      return [{ role: 'system', content: message.content }]
    case 'user':
      return [{ role: 'user', content: userContent(message, warnings) }]
    case 'assistant':
      return assistantItems(message, stateless)
    case 'tool':
      return message.content.map((part) => ({
        type: 'function_call_output',
        call_id: part.toolCallId,
        output: 'error' in part ? `Error: ${part.error}` : resultText(part),
      }))
  }
}

function userContent(message: UserMessage, warnings: Warnings): string | Json[] {
  if (typeof message.content === 'string') return message.content
  return message.content.flatMap((part): Json[] => {
    if (part.type === 'text') return [{ type: 'input_text', text: part.text }]
    if (part.type === 'image') return [{ type: 'input_image', image_url: dataUrl(part), detail: 'auto' }]
    if (part.data === undefined && part.url === undefined) {
      warnings.add('openai responses: a file part without data or url was dropped')
      return []
    }
    return [
      {
        type: 'input_file',
        ...(part.data === undefined ? { file_url: part.url } : { file_data: dataUrl(part) }),
        ...(part.filename === undefined ? {} : { filename: part.filename }),
      },
    ]
  })
}

function assistantItems(message: AssistantMessage, stateless: boolean): Json[] {
  return message.content.flatMap((part): Json[] => {
    const itemId = metadataString(part, responsesProvider, 'itemId')
    switch (part.type) {
      case 'reasoning': {
        const encrypted = metadataString(part, responsesProvider, 'encryptedContent')
        if (itemId === undefined || (stateless && encrypted === undefined)) return []
        return [
          {
            type: 'reasoning',
            id: itemId,
            summary: part.text === '' ? [] : [{ type: 'summary_text', text: part.text }],
            ...(encrypted === undefined ? {} : { encrypted_content: encrypted }),
          },
        ]
      }
      case 'text':
        return itemId === undefined
          ? [{ role: 'assistant', content: part.text }]
          : [
              {
                type: 'message',
                role: 'assistant',
                id: itemId,
                status: 'completed',
                content: [{ type: 'output_text', text: part.text, annotations: [] }],
              },
            ]
      default: // tool-call
        return [
          {
            type: 'function_call',
            call_id: part.id,
            name: part.name,
            arguments: inputText(part.input),
            ...(itemId === undefined ? {} : { id: itemId }),
          },
        ]
    }
  })
}
