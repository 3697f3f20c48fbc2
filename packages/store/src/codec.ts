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

/** Parses a stored JSON text; unparsable text is `corrupted`, naming the row in `where`. */
export const decodeJson = <T = JsonValue>(text: unknown, where: string): T => {
  if (typeof text !== 'string') throw new StoreError('corrupted', `${where}: stored value is not text`)
  try {
    return JSON.parse(text) as T
  } catch (cause) {
    throw new StoreError('corrupted', `${where}: stored JSON is unparsable`, { cause })
  }
}

/** Converts an integer column (pg returns int8 as a string) to a number. */
export const toNumber = (value: unknown): number => (typeof value === 'number' ? value : Number(value))
