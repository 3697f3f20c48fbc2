import { TransportError, type VelError } from '@vel/core'

/** A request body, query or header field that failed validation; answered with 400 naming the field. */
export class InvalidFieldError extends TransportError {
  /** Dotted path of the offending field (`input.message`, `messages.0.parts`), or `''` for the whole body. */
  readonly field: string
  /** Every problem found, each with its field path. */
  readonly issues: ReadonlyArray<{ readonly field: string; readonly message: string }>

  constructor(issues: ReadonlyArray<{ readonly field: string; readonly message: string }>) {
    // The deepest path is the most specific (a union reports each branch; the closest one is deepest).
    const depth = (field: string) => (field === '' ? 0 : field.split('.').length)
    const first = issues.reduce<{ readonly field: string; readonly message: string } | undefined>(
      (best, issue) => (best === undefined || depth(issue.field) > depth(best.field) ? issue : best),
      undefined,
    ) ?? { field: '', message: 'invalid request' }
    super('schema-mismatch', first.field === '' ? first.message : `${first.field}: ${first.message}`)
    this.name = 'InvalidFieldError'
    this.field = first.field
    this.issues = issues
  }
}

/** An RFC 9457 problem details body, plus the field path for validation problems. */
export interface ProblemDetails {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail: string
  /** The offending field, for 400s from validation. */
  readonly field?: string
  readonly errors?: ReadonlyArray<{ readonly field: string; readonly message: string }>
  /** The error's stable tag and reason (`RunError`, `not-found`). */
  readonly tag?: string
  readonly reason?: string
}

/** The one mapping from an error's `_tag` and `reason` to an HTTP status. */
const statuses: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  TransportError: {
    'malformed-payload': 400,
    'schema-mismatch': 400,
    unauthorized: 401,
    forbidden: 403,
    'unknown-agent': 404,
    'unknown-run': 404,
    'invalid-state': 409,
    'payload-too-large': 413,
    unavailable: 503,
    timeout: 504,
  },
  RunError: {
    'not-found': 404,
    'invalid-state': 409,
    // Another unfinished run holds the session: answer or cancel it first.
    'session-busy': 409,
    // The run's stored data failed its checks: nothing can act on it (retrying does not help).
    corrupted: 409,
    cancelled: 409,
    'budget-exceeded': 422,
    'invalid-output': 422,
    'model-failed': 502,
    'child-failed': 502,
  },
  StoreError: {
    'not-found': 404,
    conflict: 409,
    fenced: 409,
    'invalid-argument': 400,
    unavailable: 503,
    closed: 503,
  },
  ProviderError: { 'rate-limited': 429, overloaded: 503, timeout: 504 },
}

const titles: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

const isVelError = (error: unknown): error is VelError =>
  typeof error === 'object' &&
  error !== null &&
  typeof (error as { _tag?: unknown })._tag === 'string' &&
  typeof (error as { reason?: unknown }).reason === 'string'

/** The HTTP status for any error: 500 unless its tag and reason say otherwise. */
export function statusOf(error: unknown): number {
  if (!isVelError(error)) return 500
  return statuses[error._tag]?.[error.reason] ?? 500
}

/** The problem details for any error; internal errors keep their message to the server log. */
export function problemOf(error: unknown): ProblemDetails {
  const status = statusOf(error)
  const title = titles[status] ?? 'Error'
  if (!isVelError(error) || status === 500)
    return { type: 'about:blank', title, status, detail: 'The server failed to handle the request.' }
  const field =
    error instanceof InvalidFieldError ? { field: error.field, errors: error.issues } : ({} as const)
  return {
    type: `urn:vel:problem:${error.reason}`,
    title,
    status,
    detail: error.message,
    tag: error._tag,
    reason: error.reason,
    ...field,
  }
}

/** A `Response` carrying the problem details of `error` as `application/problem+json`. */
export function problemResponse(error: unknown, headers: Record<string, string> = {}): Response {
  const problem = problemOf(error)
  // A 413 is answered before the body was read to its end: the connection cannot be reused.
  const extra: Record<string, string> =
    problem.status === 401
      ? { 'www-authenticate': 'Bearer realm="vel"', ...headers }
      : problem.status === 413
        ? { connection: 'close', ...headers }
        : headers
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { 'content-type': 'application/problem+json', ...extra },
  })
}
