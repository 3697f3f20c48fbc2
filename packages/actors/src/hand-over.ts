/**
 * Why a run's in-flight work is aborted when the run changes hands instead of stopping: it was
 * released (passivation, lease lost) or its process shuts down. Work aborted for these reasons
 * belongs to a run that goes on elsewhere; a child run it started must not be cancelled for it.
 */
export const handOverReasons = { released: 'released', shutdown: 'shutdown' } as const

/** Whether an abort reason says the run changed hands (as opposed to being cancelled or stopped). */
export const isHandOver = (reason: unknown): boolean =>
  reason === handOverReasons.released || reason === handOverReasons.shutdown
