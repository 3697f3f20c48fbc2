/** Caps text at `max` characters, saying how much was cut. */
export const truncate = (text: string, max: number): string => {
  if (text.length <= max) return text
  // The suffix's own length depends on the count; two passes settle it.
  let keep = Math.max(0, max - 20)
  for (let pass = 0; pass < 2; pass++) keep = Math.max(0, max - `… (${text.length - keep} more chars)`.length)
  return `${text.slice(0, keep)}… (${text.length - keep} more chars)`
}
