import { type RunRecord, TransportError } from '@vel/core'

/** Who is calling: an id recorded as the starter of runs and as `by` on decisions. */
export interface Principal {
  /** Stable id of the caller (user, service); written to the journal for audit. */
  readonly id: string
  /** Anything else the application's verifier knows (roles, tenant). */
  readonly [claim: string]: unknown
}

/**
 * Decides whether `principal` may read or act on `run` (approve, answer, cancel, stream). The
 * guard passes a child run's root run here, so one decision covers a whole pipeline tree.
 */
export type AccessCheck = (principal: Principal, run: RunRecord) => boolean | Promise<boolean>

/** Auth options of `createHttpApp`: static bearer tokens, or a verifier of your own. */
export type AuthOptions =
  | {
      /** Bearer token to principal (an id or a `Principal`). */
      readonly tokens: Readonly<Record<string, string | Principal>>
      readonly canAccess?: AccessCheck
    }
  | {
      /** The principal a request authenticates as, or `undefined` for none (401). */
      readonly verify: (
        request: Request,
      ) => Principal | string | undefined | Promise<Principal | string | undefined>
      readonly canAccess?: AccessCheck
    }

/** Authentication and authorization as the routes use them. */
export interface Guard {
  /** The caller, `undefined` when auth is off; throws `unauthorized` without valid credentials. */
  authenticate(request: Request): Promise<Principal | undefined>
  /** Throws `forbidden` unless the caller may act on the run. */
  authorize(principal: Principal | undefined, run: RunRecord): Promise<void>
  /** Whether the caller may see the run (for listings). */
  allows(principal: Principal | undefined, run: RunRecord): Promise<boolean>
}

/** Metadata key of the principal that started a run. */
export const startedByKey = 'startedBy'

/**
 * Default access rule: a run is open to its starter, and to everyone if nobody started it over HTTP.
 * The guard applies an access check to a run's root: a child run (a pipeline stage, an agent
 * called as a tool) belongs to whoever may act on the run that started it.
 */
export const startersOnly: AccessCheck = (principal, run) => {
  const starter = run.metadata[startedByKey]
  return typeof starter !== 'string' || starter === principal.id
}

const toPrincipal = (value: Principal | string | undefined): Principal | undefined =>
  value === undefined ? undefined : typeof value === 'string' ? { id: value } : value

const bearerToken = (request: Request): string | undefined => {
  const header = request.headers.get('authorization')
  const match = header === null ? null : /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match?.[1]
}

/** How far up a run's parents the guard looks for its root (deeper trees are refused). */
const maxTreeDepth = 32

/**
 * Builds the guard for `auth` (no auth: everyone is anonymous and allowed). `lookup` reads a run's
 * index row; with it, access to a child run is decided on its root run (without it, on the run).
 */
export function createGuard(
  auth: AuthOptions | undefined,
  lookup?: (runId: string) => Promise<RunRecord | undefined>,
): Guard {
  if (auth === undefined)
    return { authenticate: async () => undefined, authorize: async () => undefined, allows: async () => true }
  const verify =
    'tokens' in auth
      ? (request: Request) => {
          const token = bearerToken(request)
          return token !== undefined && Object.hasOwn(auth.tokens, token) ? auth.tokens[token] : undefined
        }
      : auth.verify
  const canAccess = auth.canAccess ?? startersOnly
  /** The run whose access decides: the root of its tree, or `undefined` if it cannot be found. */
  const rootOf = async (run: RunRecord): Promise<RunRecord | undefined> => {
    let current = run
    for (let depth = 0; current.parentRunId !== null; depth++) {
      if (lookup === undefined) return current
      const parent = depth < maxTreeDepth ? await lookup(current.parentRunId) : undefined
      if (parent === undefined) return undefined
      current = parent
    }
    return current
  }
  const allows = async (principal: Principal | undefined, run: RunRecord) => {
    if (principal === undefined) return false
    const root = await rootOf(run)
    return root !== undefined && (await canAccess(principal, root))
  }
  return {
    async authenticate(request) {
      const principal = toPrincipal(await verify(request))
      if (principal === undefined) throw new TransportError('unauthorized', 'missing or invalid credentials')
      return principal
    },
    async authorize(principal, run) {
      if (!(await allows(principal, run)))
        throw new TransportError('forbidden', `you may not act on run ${run.runId}`)
    },
    allows,
  }
}
