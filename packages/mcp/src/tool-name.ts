import { createHash } from 'node:crypto'

const maxLength = 64
const invalid = /[^a-zA-Z0-9_-]/g

const shortHash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 8)

/**
 * Vel names for one server's tools, in the server's order: `prefix_name` with every character
 * outside `[a-zA-Z0-9_-]` replaced by `_`. A name that is too long, or that two tools would share
 * after sanitizing, ends in a hash of the original name instead, so names stay deterministic for
 * the same list (a recovered run finds its tools again) and unique within the server.
 */
export function toolNames(originals: ReadonlyArray<string>, prefix: string | undefined): Map<string, string> {
  const head = prefix === undefined || prefix === '' ? '' : `${prefix.replace(invalid, '_')}_`
  const plain = (original: string) => `${head}${original.replace(invalid, '_')}`
  const hashed = (original: string) => {
    const tail = `_${shortHash(original)}`
    return `${plain(original).slice(0, maxLength - tail.length)}${tail}`
  }
  const wanted = new Map<string, string[]>()
  for (const original of originals) {
    const name = plain(original)
    wanted.set(name, [...(wanted.get(name) ?? []), original])
  }
  const names = new Map<string, string>()
  for (const original of originals) {
    const name = plain(original)
    // Of several tools that sanitize alike, only one already spelled that way keeps the plain name.
    const keepsPlain = (wanted.get(name)?.length ?? 0) === 1 || original === original.replace(invalid, '_')
    names.set(original, original !== '' && name.length <= maxLength && keepsPlain ? name : hashed(original))
  }
  return names
}
