/** A JSON value: what every persisted shape in Vel is made of (no classes, functions or Dates). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue }

/**
 * Opaque per-provider data carried on messages and parts (Anthropic thinking signatures, Gemini
 * thought signatures, OpenAI reasoning item ids). Keyed by provider name; never interpreted by core,
 * and it must survive persistence and replay unchanged.
 */
export type ProviderMetadata = Record<string, JsonObject>
