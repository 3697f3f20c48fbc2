import { type JsonValue, StoreError } from '@vel/core'

/** Serializes a value bound for a text column; a value JSON cannot represent is `invalid-argument`. */
export const encodeJson = (value: unknown, what: string): string => {
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch (cause) {
    throw new StoreError('invalid-argument', `${what} is not JSON-serializable`, { cause })
  }
  if (text === undefined) throw new StoreError('invalid-argument', `${what} is not a JSON value`)
  return text
}

/**
 * The fragments of Vel's events and messages that compact text replaces, most frequent shapes
 * first. This list is part of the stored format: entries may be appended, never changed, removed
 * or reordered (a stored token means the fragment at its index forever).
 */
const fragments: ReadonlyArray<string> = [
  '{"type":"model.responded","message":{"role":"assistant","content":[',
  '{"type":"tool.succeeded","toolCallId":',
  '{"type":"tool.started","toolCallId":',
  '{"type":"tool.failed","toolCallId":',
  '{"type":"tool-call","id":',
  '{"type":"text","text":',
  '{"role":"tool","content":[{"type":"tool-result","toolCallId":',
  '{"role":"assistant","content":[',
  '{"role":"user","content":',
  ',"usage":{"inputTokens":',
  ',"outputTokens":',
  ',"reasoningTokens":',
  ',"cachedInputTokens":',
  ',"finishReason":"tool-calls"',
  ',"finishReason":"stop"',
  ',"plan":[{"toolCallId":',
  ',"action":"execute"',
  ',"sideEffects":"none"',
  ',"streamed":true',
  ',"epoch":',
  ',"toolName":',
  ',"name":',
  ',"input":',
  ',"output":',
  ',"at":',
  '"type":',
  ',"providerMetadata":',
  // Two-character tokens from here on.
  '{"type":"run.started","runId":',
  ',"agentId":',
  ',"sessionId":',
  ',"parentRunId":null',
  ',"parentRunId":',
  ',"rootRunId":',
  ',"history":[]',
  ',"history":',
  ',"instructions":',
  ',"policy":{"maxSteps":',
  ',"policy":',
  '{"type":"model.failed","error":',
  '{"type":"tool.interrupted","toolCallId":',
  '{"type":"approval.decided","toolCallId":',
  '{"type":"human.responded"',
  '{"type":"run.cancelled"',
  ',"sideEffects":"idempotent"',
  ',"sideEffects":"unsafe"',
  ',"action":"approve"',
  ',"finishReason":"length"',
  ',"finishReason":',
  ',"streamed":false',
  '{"type":"reasoning","text":',
  '{"role":"system","content":',
  ',"error":',
  ',"reason":',
  ',"message":',
  ',"content":',
  ',"text":',
  ',"id":',
  // Run records (the memory store keeps them as text).
  '{"runId":',
  ',"idempotencyKey":null',
  ',"idempotencyKey":',
  ',"status":"running"',
  ',"status":"completed"',
  ',"status":"waiting"',
  ',"status":"failed"',
  ',"status":',
  ',"pending":[]',
  ',"pending":',
  ',"answer":null',
  ',"answer":',
  ',"error":null',
  ',"metadata":{}',
  ',"metadata":',
  ',"createdAt":',
  ',"updatedAt":',
  // Run states (the memory store keeps a stopped run's snapshot as compact text) and their requests.
  '{"version":1,"runId":',
  ',"phase":"waiting"',
  ',"phase":"running"',
  ',"phase":',
  ',"step":',
  ',"messages":[',
  ',"priorCount":',
  ',"toolCalls":[]',
  ',"toolCalls":[{"toolCallId":',
  ',"status":"approval"',
  ',"status":"done"',
  ',"result":',
  ',"pending":[{"requestId":',
  '{"requestId":',
  ',"kind":"approval"',
  ',"kind":"question"',
  ',"question":',
  ',"requestedAt":',
  ',"expiresAt":',
  ',"maxErrorChars":',
  ',"context":{"type":"full"}}',
  ',"finalizing":false',
  ',"finishReason":null',
  ',"toolErrors":',
  ',"startedAt":',
  // Longer runs of the common shapes (fewer matches per text, and shorter text).
  ',"reasoningTokens":0,"cachedInputTokens":0}',
  ',"action":"execute","sideEffects":"none"}]',
  ',"streamed":true,"at":',
  ',"input":[{"role":"user","content":',
  '"call_',
]

// Control characters never appear raw in JSON text (JSON.stringify escapes them; JSON forbids them
// in strings), so they can stand for fragments. Tab, newline and carriage return are left out: JSON
// allows them as whitespace. The last one is the prefix of two-character tokens.
const singles = [
  1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
]
const prefix = '\u001f'
const tokenOf = new Map<string, string>()
/** The fragment of each token: one-character tokens by their code, two-character ones by the second. */
const ofSingle: Array<string | undefined> = []
const ofPair: Array<string | undefined> = []
fragments.forEach((fragment, index) => {
  const code = singles[index]
  const second = 0x21 + index - singles.length
  if (second > 0x7e) throw new Error('compact text: too many fragments for two-character tokens')
  const token = code === undefined ? prefix + String.fromCharCode(second) : String.fromCharCode(code)
  tokenOf.set(fragment, token)
  if (code === undefined) ofPair[second] = fragment
  else ofSingle[code] = fragment
})

/**
 * The token of a matched fragment without hashing the match (a `Map` keyed by the match string
 * hashes and compares a fresh substring per match: a third of the encoding's cost). Fragments of
 * one length differ at some position, or at a pair of them: the length and the characters there
 * pick the token.
 */
// By fragment length: the positions that tell its fragments apart (-1: one position does) and the
// tokens by the character codes there. Plain arrays, so a lookup is a few monomorphic loads.
const firstAt: number[] = []
const secondAt: number[] = []
const tokensAt: string[][][] = []
const distinct = (same: ReadonlyArray<string>, first: number, second: number): boolean =>
  new Set(same.map((text) => text.charCodeAt(first) * 128 + (second < 0 ? 0 : text.charCodeAt(second))))
    .size === same.length
for (const fragment of fragments) {
  const length = fragment.length
  if (tokensAt[length] !== undefined) continue
  const same = fragments.filter((other) => other.length === length)
  let found: readonly [number, number] | undefined
  for (let first = 0; first < length && found === undefined; first++)
    if (distinct(same, first, -1)) found = [first, -1]
  for (let first = 0; first < length && found === undefined; first++)
    for (let second = first + 1; second < length && found === undefined; second++)
      if (distinct(same, first, second)) found = [first, second]
  if (found === undefined) throw new Error(`compact text: fragments of length ${length} are not told apart`)
  const [first, second] = found
  const tokens: string[][] = []
  for (const other of same) {
    const code = other.charCodeAt(first)
    const row = tokens[code] ?? []
    tokens[code] = row
    row[second < 0 ? 0 : other.charCodeAt(second)] = tokenOf.get(other) as string
  }
  firstAt[length] = first
  secondAt[length] = second
  tokensAt[length] = tokens
}

const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

// Longest first, so a fragment wins over the shorter ones it starts with. (A trie-shaped pattern
// measured slower in V8 than this flat alternation; by instruction count they are the same.)
const fragmentPattern = new RegExp(
  [...fragments]
    .sort((a, b) => b.length - a.length)
    .map(literal)
    .join('|'),
  'g',
)
// biome-ignore lint/suspicious/noControlCharactersInRegex: the tokens are control characters
const tokenPattern = /[\u0001-\u0008\u000b\u000c\u000e-\u001e]|\u001f[\s\S]?/g
const toToken = (fragment: string): string => {
  const length = fragment.length
  const second = secondAt[length] as number
  const row = (tokensAt[length] as string[][])[fragment.charCodeAt(firstAt[length] as number)] as string[]
  return row[second < 0 ? 0 : fragment.charCodeAt(second)] as string
}
// An unknown token stays as it is, and the text then fails to parse.
const toFragment = (token: string): string =>
  (token.length === 1 ? ofSingle[token.charCodeAt(0)] : ofPair[token.charCodeAt(1)]) ?? token

/**
 * JSON text (`encodeJson`'s) as compact text: the same replacement `encodeCompact` makes, for text
 * serialized earlier (the memory store compacts a run's entries once it stops stepping).
 */
export const compactJson = (json: string): string => json.replace(fragmentPattern, toToken)

/**
 * Serializes a value as compact text: its JSON with the common fragments of events and messages
 * replaced by control characters (a model response of ~370 characters takes ~80). `decodeJson`
 * reads both this and plain JSON; text with no fragment in it is plain JSON.
 */
export const encodeCompact = (value: unknown, what: string): string => compactJson(encodeJson(value, what))

/**
 * Parses a stored JSON text, plain or compact (`encodeCompact`); unparsable text is `corrupted`,
 * naming the row in `where`.
 */
export const decodeJson = <T = JsonValue>(text: unknown, where: string): T => {
  if (typeof text !== 'string') throw new StoreError('corrupted', `${where}: stored value is not text`)
  try {
    return JSON.parse(text.replace(tokenPattern, toFragment)) as T
  } catch (cause) {
    throw new StoreError('corrupted', `${where}: stored JSON is unparsable`, { cause })
  }
}

/** Converts an integer column (pg returns int8 as a string) to a number. */
export const toNumber = (value: unknown): number => (typeof value === 'number' ? value : Number(value))
