import type { AssistantMessage, Message, ModelRequest, UserMessage } from '@vel/core'
import { dataUrl, inputText, resultText } from './message-helpers.ts'
import type { Warnings } from './provider-settings.ts'

type Json = Record<string, unknown>

/**
 * The Chat Completions request body for a core request: messages in order (reasoning parts are
 * not sent: the API has no input for them), tools as functions, tool results as `tool` messages,
 * settings, then `providerOptions.openai` merged over the top.
 */
export function openAIChatBody(modelId: string, request: ModelRequest, warnings: Warnings): Json {
  const body: Json = {
    model: modelId,
    messages: request.messages.flatMap((message) => chatMessages(message, warnings)),
    stream: true,
    stream_options: { include_usage: true },
  }
  if (request.tools !== undefined && request.tools.length > 0)
    body.tools = request.tools.map((tool) => ({
      type: 'function',
      function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
    }))
  if (request.toolChoice !== undefined)
    body.tool_choice =
      typeof request.toolChoice === 'string'
        ? request.toolChoice
        : { type: 'function', function: { name: request.toolChoice.name } }
  if (request.responseFormat !== undefined)
    body.response_format = {
      type: 'json_schema',
      json_schema: { name: request.responseFormat.name ?? 'response', schema: request.responseFormat.schema },
    }
  if (request.maxOutputTokens !== undefined) body.max_completion_tokens = request.maxOutputTokens
  if (request.temperature !== undefined) body.temperature = request.temperature
  if (request.topP !== undefined) body.top_p = request.topP
  if (request.stopSequences !== undefined) body.stop = [...request.stopSequences]
  if (request.seed !== undefined) body.seed = request.seed
  return { ...body, ...request.providerOptions?.openai }
}

function chatMessages(message: Message, warnings: Warnings): Json[] {
  switch (message.role) {
    case 'system':
      return [{ role: 'system', content: message.content }]
    case 'user':
      return [{ role: 'user', content: userContent(message, warnings) }]
    case 'assistant':
      return [assistantMessage(message)]
    case 'tool':
      return message.content.map((part) => ({
        role: 'tool',
        tool_call_id: part.toolCallId,
        content: 'error' in part ? `Error: ${part.error}` : resultText(part),
      }))
  }
}

function userContent(message: UserMessage, warnings: Warnings): string | Json[] {
  if (typeof message.content === 'string') return message.content
  return message.content.flatMap((part): Json[] => {
    if (part.type === 'text') return [{ type: 'text', text: part.text }]
    if (part.type === 'image') return [{ type: 'image_url', image_url: { url: dataUrl(part) } }]
    if (part.data === undefined) {
      warnings.add('openai chat completions accepts files only as base64 data; a file URL was dropped')
      return []
    }
    return [
      {
        type: 'file',
        file: {
          file_data: dataUrl(part),
          ...(part.filename === undefined ? {} : { filename: part.filename }),
        },
      },
    ]
  })
}

function assistantMessage(message: AssistantMessage): Json {
  const text = message.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('')
  const calls = message.content.flatMap((part) =>
    part.type === 'tool-call'
      ? [{ id: part.id, type: 'function', function: { name: part.name, arguments: inputText(part.input) } }]
      : [],
  )
  return {
    role: 'assistant',
    content: text === '' && calls.length > 0 ? null : text,
    ...(calls.length > 0 ? { tool_calls: calls } : {}),
  }
}
