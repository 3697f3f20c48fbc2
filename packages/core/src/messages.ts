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

/** The Python Vel input form: `{ message: '...' }` is a user message. */
export interface MessageInput {
  readonly message: string
}

/**
 * What a caller may pass as input: a string (a user message), the Python Vel form
 * `{ message: string }`, a user message, or explicit messages.
 */
export type RunInput = string | MessageInput | UserMessage | ReadonlyArray<Message>

const roles: ReadonlySet<string> = new Set(['system', 'user', 'assistant', 'tool'])

const acceptedForms =
  "a string, { message: string }, a user message ({ role: 'user', content }) or an array of messages"

const describeValue = (value: unknown): string => {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value !== 'object') return typeof value
  const keys = Object.keys(value)
  return keys.length === 0 ? 'an empty object' : `an object with ${keys.map((key) => `'${key}'`).join(', ')}`
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const isMessage = (value: unknown): value is Message =>
  isObject(value) && typeof value.role === 'string' && roles.has(value.role) && 'content' in value

/**
 * Normalizes run input to messages. Anything but the forms of `RunInput` is a `TypeError` naming
 * them (JavaScript callers and untyped payloads get no silent `{"message": ...}` user turn).
 */
export const toMessages = (input: RunInput): Message[] => {
  if (typeof input === 'string') return [{ role: 'user', content: input }]
  if (Array.isArray(input)) {
    const messages = input as ReadonlyArray<unknown>
    messages.forEach((message, index) => {
      if (!isMessage(message))
        throw new TypeError(
          `Run input: item ${index} of the array is not a message ({ role: 'system' | 'user' | 'assistant' | 'tool', content }); got ${describeValue(message)}`,
        )
    })
    return [...(messages as ReadonlyArray<Message>)]
  }
  if (isObject(input)) {
    const keys = Object.keys(input)
    if (keys.length === 1 && keys[0] === 'message' && typeof input.message === 'string')
      return [{ role: 'user', content: input.message }]
    if (input.role === 'user' && (typeof input.content === 'string' || Array.isArray(input.content)))
      return [input as unknown as UserMessage]
  }
  throw new TypeError(`Run input must be ${acceptedForms}; got ${describeValue(input)}`)
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
