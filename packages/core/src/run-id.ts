/**
 * A new run id: a UUID version 7 (RFC 9562), Unix milliseconds first, so runs sort by creation and
 * a new run's rows go at the end of each store index instead of on a random page of it (ADR 0124).
 * Its 74 random bits are those of `crypto.randomUUID()` (version 4: the same layout after the
 * version digit, variant included), which draws from the platform's cached entropy.
 */
export const newRunId = (now: number = Date.now()): string => {
  const time = now.toString(16).padStart(12, '0')
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${globalThis.crypto.randomUUID().slice(15)}`
}
