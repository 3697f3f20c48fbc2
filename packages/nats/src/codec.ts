import { TransportError } from '@vel/core'
import * as Either from 'effect/Either'
import * as ParseResult from 'effect/ParseResult'
import * as Schema from 'effect/Schema'
import type { ErrorReply } from './schemas.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Encodes a payload as UTF-8 JSON. */
export const encodeJson = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value))

/** Options of `decodePayload`. */
export interface DecodeOptions {
  /**
   * `error` (default): an unknown field is a `schema-mismatch`, as the JSON Schemas say; workers
   * decode what they receive so. `ignore`: drop unknown fields (a client reading what a newer
   * worker sends).
   */
  readonly unknownFields?: 'error' | 'ignore'
}

/**
 * Decodes a UTF-8 JSON payload against a schema. Fails with a `TransportError`:
 * `malformed-payload` for bytes that are not JSON, `schema-mismatch` for JSON of the wrong shape
 * (an unknown field included).
 * `empty` is used for an empty payload.
 */
export function decodePayload<A, I>(
  schema: Schema.Schema<A, I, never>,
  data: Uint8Array,
  empty?: unknown,
  options: DecodeOptions = {},
): A {
  let value: unknown
  try {
    const text = decoder.decode(data)
    value = text.trim() === '' && empty !== undefined ? empty : JSON.parse(text)
  } catch (error) {
    throw new TransportError('malformed-payload', 'the payload is not UTF-8 JSON', { cause: error })
  }
  // Unknown fields are an error, as the published JSON Schemas say (`additionalProperties: false`);
  // objects declared open (messages, metadata, stream parts) still take any field.
  const onExcessProperty = options.unknownFields === 'ignore' ? 'ignore' : 'error'
  const result = Schema.decodeUnknownEither(schema, { errors: 'all', onExcessProperty })(value)
  if (Either.isLeft(result))
    throw new TransportError(
      'schema-mismatch',
      `the payload does not match the schema: ${ParseResult.TreeFormatter.formatErrorSync(result.left)}`,
    )
  return result.right
}

/** The wire form of a transport error. */
export const errorReply = (error: TransportError): ErrorReply => ({
  error: { tag: 'TransportError', reason: error.reason, message: error.message, retryable: error.retryable },
})

/** A reply that is an error reply, as a `TransportError`; undefined for any other reply. */
export function errorFromReply(value: unknown): TransportError | undefined {
  if (typeof value !== 'object' || value === null || !('error' in value)) return undefined
  const error = (value as { error: { reason?: unknown; message?: unknown; retryable?: unknown } }).error
  return new TransportError(
    (typeof error?.reason === 'string' ? error.reason : 'unavailable') as TransportError['reason'],
    typeof error?.message === 'string' ? error.message : 'request failed',
    { retryable: error?.retryable === true },
  )
}
