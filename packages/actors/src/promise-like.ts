/** Whether a value that may be a promise is one (anything with a `then` method, as `await` sees it). */
export const isPromiseLike = <T>(value: T | PromiseLike<T>): value is PromiseLike<T> =>
  typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
