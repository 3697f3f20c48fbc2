import type {
  FilePart,
  ImagePart,
  JsonObject,
  JsonValue,
  ProviderMetadata,
  ToolResultPart,
  Usage,
} from '@vel/core'

/** The provider's own entry of a part's metadata, if any. */
export const metadataOf = (
  part: { readonly providerMetadata?: ProviderMetadata },
  provider: string,
): JsonObject | undefined => part.providerMetadata?.[provider]

/** A string field of a provider's metadata entry. */
export const metadataString = (
  part: { readonly providerMetadata?: ProviderMetadata },
  provider: string,
  key: string,
): string | undefined => {
  const value = metadataOf(part, provider)?.[key]
  return typeof value === 'string' ? value : undefined
}

/**
 * Tool-call input as the raw JSON string a provider expects. Core stores parsed input, or the raw
 * string when the model sent invalid JSON; that string goes back verbatim.
 */
export const inputText = (input: JsonValue): string =>
  typeof input === 'string' ? input : JSON.stringify(input)

/** Tool-call input as an object (Anthropic, Gemini): invalid or non-object input becomes `{}`. */
export const inputObject = (input: JsonValue): JsonObject => {
  let value: JsonValue = input
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input) as JsonValue
    } catch {
      value = {}
    }
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {}
}

/** Empty streamed arguments mean "no arguments": always hand core valid JSON. */
export const normalizeArguments = (raw: string): string => (raw.trim() === '' ? '{}' : raw)

/** A tool result's content as text: the JSON output, or the error text. */
export const resultText = (part: ToolResultPart): string =>
  'error' in part ? part.error : typeof part.output === 'string' ? part.output : JSON.stringify(part.output)

/** A `data:` URL for base64 content, or the part's URL. */
export const dataUrl = (part: ImagePart | FilePart): string =>
  part.data === undefined ? (part.url ?? '') : `data:${part.mediaType ?? 'image/png'};base64,${part.data}`

/** The media type of an image, from the part or the URL's extension. */
export const imageMediaType = (part: ImagePart): string => {
  if (part.mediaType !== undefined) return part.mediaType
  const extension = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(part.url ?? '')?.[1]?.toLowerCase()
  if (extension === 'jpg' || extension === 'jpeg') return 'image/jpeg'
  if (extension === 'gif' || extension === 'webp') return `image/${extension}`
  return 'image/png'
}

/** A usage record with every count a number. */
export const usageOf = (counts: Partial<Usage>): Usage => ({
  inputTokens: counts.inputTokens ?? 0,
  outputTokens: counts.outputTokens ?? 0,
  reasoningTokens: counts.reasoningTokens ?? 0,
  cachedInputTokens: counts.cachedInputTokens ?? 0,
})
