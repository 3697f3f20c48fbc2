import type { JsonValue, ProviderMetadata } from './json.ts'

/** Plain text content. */
export interface TextPart {
  readonly type: 'text'
  readonly text: string
  /** Opaque provider data for this text block (e.g. a Gemini thought signature). */
  readonly providerMetadata?: ProviderMetadata
}

/** An image given by URL or base64 data. Exactly one of `url` and `data` is set. */
export interface ImagePart {
  readonly type: 'image'
  readonly url?: string
  /** Base64 without a data: prefix. */
  readonly data?: string
  /** e.g. `image/png`; required with `data`. */
  readonly mediaType?: string
}

/** A file (PDF, audio, ...) given by URL or base64 data. */
export interface FilePart {
  readonly type: 'file'
  readonly url?: string
  readonly data?: string
  readonly mediaType: string
  readonly filename?: string
}

/** Model reasoning ("thinking"); `providerMetadata` holds the signature needed to send it back. */
export interface ReasoningPart {
  readonly type: 'reasoning'
  readonly text: string
  readonly providerMetadata?: ProviderMetadata
}

/** A tool call requested by the model; `input` is the parsed JSON arguments (or the raw string if unparsable). */
export interface ToolCallPart {
  readonly type: 'tool-call'
  readonly id: string
  readonly name: string
  readonly input: JsonValue
  readonly providerMetadata?: ProviderMetadata
}

/** The outcome of one tool call: exactly one of `output` (success) or `error` (compact error text). */
export type ToolResultPart =
  | {
      readonly type: 'tool-result'
      readonly toolCallId: string
      readonly toolName: string
      readonly output: JsonValue
    }
  | {
      readonly type: 'tool-result'
      readonly toolCallId: string
      readonly toolName: string
      readonly error: string
    }

export interface SystemMessage {
  readonly role: 'system'
  readonly content: string
}

export interface UserMessage {
  readonly role: 'user'
  readonly content: string | ReadonlyArray<TextPart | ImagePart | FilePart>
}

export interface AssistantMessage {
  readonly role: 'assistant'
  readonly content: ReadonlyArray<TextPart | ReasoningPart | ToolCallPart>
  /** Opaque provider data for the whole response (e.g. an OpenAI response id). */
  readonly providerMetadata?: ProviderMetadata
}

/** Results of the tool calls of the preceding assistant message, in call order. */
export interface ToolMessage {
  readonly role: 'tool'
  readonly content: ReadonlyArray<ToolResultPart>
}

/** A provider-neutral message. Plain JSON: round-trips through any store. */
export type Message = SystemMessage | UserMessage | AssistantMessage | ToolMessage

/** What a caller may pass as input: a string (a user message) or explicit messages. */
export type RunInput = string | UserMessage | ReadonlyArray<Message>

/** Normalizes run input to messages. */
export const toMessages = (input: RunInput): Message[] => {
  if (typeof input === 'string') return [{ role: 'user', content: input }]
  if (Array.isArray(input)) return [...(input as ReadonlyArray<Message>)]
  return [input as UserMessage]
}

/** Concatenated text of an assistant message. */
export const textOf = (message: AssistantMessage): string =>
  message.content
    .filter((part): part is TextPart => part.type === 'text')
    .map((part) => part.text)
    .join('')

/** Whether a tool result part is an error. */
export const isToolError = (part: ToolResultPart): part is Extract<ToolResultPart, { error: string }> =>
  'error' in part
