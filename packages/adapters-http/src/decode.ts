import { TransportError } from '@vel/core'
import * as Either from 'effect/Either'
import * as ParseResult from 'effect/ParseResult'
import type * as Schema from 'effect/Schema'
import { InvalidFieldError } from './errors.ts'

/** Default cap on a request body: 1 MiB. */
export const defaultMaxBodyBytes = 1024 * 1024

const tooLarge = (limit: number) =>
  new TransportError('payload-too-large', `the request body is larger than ${limit} bytes`)

/**
 * Reads a JSON body within `limit` bytes: the declared `Content-Length` is checked first, then the
 * bytes actually read (a client may send no length, or lie). An empty body is `undefined`.
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
    if (total > limit) {
      await reader.cancel().catch(() => undefined)
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
