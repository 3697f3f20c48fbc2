import type { AssistantMessage, Message, ModelRequest, ToolSpec, UserMessage } from '@vel/core'
import { toGeminiSchema } from './gemini-schema.ts'
import { imageMediaType, inputObject, metadataString } from './message-helpers.ts'
import type { Warnings } from './provider-settings.ts'

type Json = Record<string, unknown>

/** Prefix of tool-call ids Vel made up because Gemini gave none; they are never sent back as ids. */
export const syntheticCallPrefix = 'gemini-call-'

/** The `generateContent` parameters (model, contents, config) for a core request. */
export interface GeminiParams {
  readonly model: string
  readonly contents: Json[]
  readonly config: Json
}

/**
 * Translates a core request: system messages become `systemInstruction`, the assistant is the
 * `model` role, thought signatures go back on the part they came with, tool results become
 * `functionResponse` parts (`{ output }` or `{ error }`), schemas are converted to Gemini's subset,
 * and `providerOptions.gemini` is merged into `config`.
 */
export function geminiParams(modelId: string, request: ModelRequest, warnings: Warnings): GeminiParams {
  const contents: Array<{ role: 'user' | 'model'; parts: Json[] }> = []
  const system: string[] = []
  for (const message of request.messages) {
    if (message.role === 'system') {
      system.push(message.content)
      continue
    }
    const parts = contentParts(message)
    if (message.role === 'user' && typeof message.content !== 'string')
      for (const part of message.content)
        if (
          part.type !== 'text' &&
          part.data === undefined &&
          !/^(gs:|https:\/\/generativelanguage\.)/.test(part.url ?? '')
        )
          warnings.add(
            'gemini: a media URL outside the Files API or Cloud Storage may be rejected; prefer base64 data',
          )
    if (parts.length === 0) continue
    const role = message.role === 'assistant' ? 'model' : 'user'
    const last = contents.at(-1)
    if (last?.role === role) last.parts.push(...parts)
    else contents.push({ role, parts })
  }
  const config: Json = {}
  if (system.length > 0) config.systemInstruction = { parts: [{ text: system.join('\n\n') }] }
  if (request.tools !== undefined && request.tools.length > 0)
    config.tools = [{ functionDeclarations: request.tools.map(functionDeclaration) }]
  if (request.toolChoice !== undefined) {
    const choice = request.toolChoice
    const mode = choice === 'auto' ? 'AUTO' : choice === 'none' ? 'NONE' : 'ANY'
    config.toolConfig = {
      functionCallingConfig: {
        mode,
        ...(typeof choice === 'object' ? { allowedFunctionNames: [choice.name] } : {}),
      },
    }
  }
  if (request.responseFormat !== undefined) {
    config.responseMimeType = 'application/json'
    config.responseSchema = toGeminiSchema(request.responseFormat.schema, 'response format')
  }
  if (request.maxOutputTokens !== undefined) config.maxOutputTokens = request.maxOutputTokens
  if (request.temperature !== undefined) config.temperature = request.temperature
  if (request.topP !== undefined) config.topP = request.topP
  if (request.stopSequences !== undefined) config.stopSequences = [...request.stopSequences]
  if (request.seed !== undefined) config.seed = request.seed
  return { model: modelId, contents, config: { ...config, ...request.providerOptions?.gemini } }
}

function functionDeclaration(tool: ToolSpec): Json {
  const properties = tool.inputSchema.properties
  const empty =
    properties === undefined ||
    (typeof properties === 'object' && properties !== null && Object.keys(properties).length === 0)
  // Gemini rejects an OBJECT without properties: a tool without arguments simply has no parameters.
  return {
    name: tool.name,
    description: tool.description,
    ...(empty && tool.inputSchema.$ref === undefined
      ? {}
      : { parameters: toGeminiSchema(tool.inputSchema, `tool '${tool.name}' input`) }),
  }
}

function contentParts(message: Exclude<Message, { role: 'system' }>): Json[] {
  if (message.role === 'user') return userParts(message)
  if (message.role === 'assistant') return modelParts(message)
  return message.content.map((part) => ({
    functionResponse: {
      ...(part.toolCallId.startsWith(syntheticCallPrefix) ? {} : { id: part.toolCallId }),
      name: part.toolName,
      response: 'error' in part ? { error: part.error } : { output: part.output },
    },
  }))
}

function userParts(message: UserMessage): Json[] {
  if (typeof message.content === 'string') return [{ text: message.content }]
  return message.content.map((part): Json => {
    if (part.type === 'text') return { text: part.text }
    const mimeType = part.type === 'image' ? imageMediaType(part) : part.mediaType
    return part.data === undefined
      ? { fileData: { fileUri: part.url ?? '', mimeType } }
      : { inlineData: { mimeType, data: part.data } }
  })
}

function modelParts(message: AssistantMessage): Json[] {
  return message.content.flatMap((part): Json[] => {
    const thoughtSignature = metadataString(part, 'gemini', 'thoughtSignature')
    const signature = thoughtSignature === undefined ? {} : { thoughtSignature }
    switch (part.type) {
      case 'reasoning':
        // Thought text is not needed as input; only a signature must travel back.
        return thoughtSignature === undefined ? [] : [{ text: part.text, thought: true, ...signature }]
      case 'text':
        return part.text === '' && thoughtSignature === undefined ? [] : [{ text: part.text, ...signature }]
      default: // tool-call
        return [
          {
            functionCall: {
              ...(part.id.startsWith(syntheticCallPrefix) ? {} : { id: part.id }),
              name: part.name,
              args: inputObject(part.input),
            },
            ...signature,
          },
        ]
    }
  })
}
