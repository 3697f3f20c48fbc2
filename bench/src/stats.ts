/** Small statistics and process helpers shared by the workloads and the runner. */

export const sortedCopy = (values: ReadonlyArray<number>): number[] => [...values].sort((a, b) => a - b)

/** The p-quantile (0..1) by the nearest-rank method. */
export const quantile = (values: ReadonlyArray<number>, p: number): number => {
  const sorted = sortedCopy(values)
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))
  return sorted[rank] as number
}

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = sortedCopy(values)
  if (sorted.length === 0) return Number.NaN
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/** Median with min and max (over processes). */
export interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
}

export const spread = (values: ReadonlyArray<number>): Spread => ({
  median: median(values),
  min: Math.min(...values),
  max: Math.max(...values),
})

/** Runs a full GC when the process has `--expose-gc` (twice: weak references settle in the second). */
export const fullGc = (): void => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with node --expose-gc')
  gc()
  gc()
}

/** A child's single result line. */
export const printResult = (result: unknown): void => {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`)
}

/** Parses `argv[2]` as the child's JSON options. */
export const childOptions = <T>(): T => JSON.parse(process.argv[2] ?? '{}') as T
