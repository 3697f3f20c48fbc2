import { TransportError } from '@vel/core'
import * as Either from 'effect/Either'
import * as ParseResult from 'effect/ParseResult'
import type * as Schema from 'effect/Schema'
import { InvalidFieldError } from './errors.ts'

/** Default cap on a request body: 1 MiB. */
export const defaultMaxBodyBytes = 1024 * 1024

/**
 * Deepest nesting of arrays and objects a JSON body may have. No Vel body needs more than a few
 * levels; deeper bodies are refused before decoding, whose recursion they would exhaust.
 */
export const maxJsonDepth = 64

/** The deepest array/object nesting of JSON `text`, scanned without recursion (strings skipped). */
export function jsonDepth(text: string): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    if (inString) {
      if (code === 0x5c)
        index++ // backslash: skip the escaped character
      else if (code === 0x22) inString = false
    } else if (code === 0x22) inString = true
    else if (code === 0x5b || code === 0x7b) deepest = Math.max(deepest, ++depth)
    else if (code === 0x5d || code === 0x7d) depth--
  }
  return deepest
}

const tooLarge = (limit: number) =>
  new TransportError('payload-too-large', `the request body is larger than ${limit} bytes`)

/**
 * Reads a JSON body within `limit` bytes: the declared `Content-Length` is checked first, then the
 * bytes actually read (a client may send no length, or lie), then the nesting depth against
 * `maxJsonDepth`. An empty body is `undefined`.
 */
export async function readJson(request: Request, limit: number): Promise<unknown> {
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit)
  if (request.body === null) return undefined
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  while (true) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    // Not cancelled: cancelling destroys the socket under the 413. The reader is released and the
    // server drains (or closes) the rest; the 413 says `connection: close` (see `problemResponse`).
    if (total > limit) {
      reader.releaseLock()
      throw tooLarge(limit)
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  const text = new TextDecoder().decode(bytes)
  if (text.trim() === '') return undefined
  if (jsonDepth(text) > maxJsonDepth)
    throw new TransportError(
      'malformed-payload',
      `the request body is nested deeper than ${maxJsonDepth} levels`,
    )
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    throw new TransportError('malformed-payload', `the request body is not JSON: ${(error as Error).message}`)
  }
}

const fieldOf = (path: ReadonlyArray<PropertyKey>): string => path.map(String).join('.')

/** Decodes `value` with `schema`, or throws an `InvalidFieldError` naming every offending field. */
export function decode<A, I>(schema: Schema.Schema<A, I, never>, value: unknown, prefix: string[] = []): A {
  const result = ParseResult.decodeUnknownEither(schema, { errors: 'all' })(value)
  if (Either.isRight(result)) return result.right
  const issues = ParseResult.ArrayFormatter.formatIssueSync(result.left).map((issue) => ({
    field: fieldOf([...prefix, ...issue.path]),
    message: issue.message,
  }))
  throw new InvalidFieldError(issues)
}
