/**
 * Serializes async sections on one SQLite connection: a Kysely transaction spans several awaits,
 * and a synchronous statement run in between would silently join it.
 */
export interface Gate {
  /** Runs `body` once every earlier section has finished. */
  run<T>(body: () => Promise<T>): Promise<T>
  /** Resolves when no section is running (a section may start again right after). */
  idle(): Promise<void> | undefined
}

/** Creates an open gate. */
export function createGate(): Gate {
  let tail: Promise<void> | undefined
  return {
    run<T>(body: () => Promise<T>): Promise<T> {
      const previous = tail ?? Promise.resolve()
      const result = previous.then(body)
      const settled: Promise<void> = result.then(
        () => undefined,
        () => undefined,
      )
      tail = settled
      void settled.then(() => {
        if (tail === settled) tail = undefined
      })
      return result
    },
    idle: () => tail,
  }
}
