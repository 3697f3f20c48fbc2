import type { ModelRequest } from '@vel/core'

/** Request settings a model applies when the request leaves them out. */
export type RequestDefaults = Partial<
  Omit<ModelRequest, 'messages' | 'tools' | 'toolChoice' | 'responseFormat'>
>

/** Settings every provider model accepts. */
export interface ProviderSettings {
  /** Model id as the provider names it, e.g. `gpt-4.1-mini`, `claude-sonnet-5-5`, `gemini-2.5-flash`. */
  readonly model: string
  /** API key; `createModel` falls back to the provider's environment variable. */
  readonly apiKey: string
  /** Another endpoint (a proxy, an OpenAI-compatible server, a test server). */
  readonly baseURL?: string | undefined
  /** Extra HTTP headers sent on every call. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Ceiling on one whole call, request to last chunk: exceeded means `ProviderError { reason: 'timeout' }`. */
  readonly timeoutMs?: number | undefined
  /** Ceiling on the silence between two chunks (and before the first): exceeded means `timeout`. */
  readonly idleTimeoutMs?: number | undefined
  /** Receives each warning (unsupported setting, dropped content) besides the `warning` part. */
  readonly onWarning?: ((message: string) => void) | undefined
  /** Applied to every request that does not set them. */
  readonly defaults?: RequestDefaults | undefined
  /** Anthropic requires `max_tokens`: used when neither the request nor `defaults` sets it. Default 4096. */
  readonly defaultMaxOutputTokens?: number | undefined
}

/** The request with the model's defaults filled in (request values win; provider options merge per key). */
export function withDefaults(request: ModelRequest, defaults: RequestDefaults | undefined): ModelRequest {
  if (defaults === undefined) return request
  const providerOptions =
    defaults.providerOptions === undefined
      ? request.providerOptions
      : mergeProviderOptions(defaults.providerOptions, request.providerOptions)
  return {
    ...defaults,
    ...request,
    ...(providerOptions === undefined ? {} : { providerOptions }),
  } as ModelRequest
}

const mergeProviderOptions = (
  base: NonNullable<ModelRequest['providerOptions']>,
  over: ModelRequest['providerOptions'],
): NonNullable<ModelRequest['providerOptions']> => {
  if (over === undefined) return base
  const merged = { ...base }
  for (const [key, value] of Object.entries(over)) merged[key] = { ...(base[key] ?? {}), ...value }
  return merged
}

/** Collects warnings while a request is translated; each becomes a `warning` part and an `onWarning` call. */
export class Warnings {
  readonly messages: string[] = []
  add(message: string): void {
    this.messages.push(message)
  }
  unsupported(provider: string, setting: string, detail = 'ignored'): void {
    this.add(`${provider} does not support '${setting}'; ${detail}`)
  }
}

/** Yields each warning as a part and reports it to `onWarning`. */
export function* warningParts(
  messages: ReadonlyArray<string>,
  onWarning: ((message: string) => void) | undefined,
): Generator<{ type: 'warning'; message: string }> {
  for (const message of messages) {
    onWarning?.(message)
    yield { type: 'warning', message }
  }
}
