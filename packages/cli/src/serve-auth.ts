import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { AuthOptions } from '@vel/http'
import { UsageError } from './usage-error.ts'

/** The principal id a plain `--auth <token>` authenticates as (recorded as runs' `startedBy`). */
export const tokenPrincipal = 'operator'

const looksLikeModule = (value: string) =>
  /^\.{0,2}\//.test(value) || /\.(m|c)?[jt]s$/.test(value) || value.startsWith('file:')

const isAuthOptions = (value: unknown): value is AuthOptions =>
  typeof value === 'object' &&
  value !== null &&
  (typeof (value as { verify?: unknown }).verify === 'function' ||
    (typeof (value as { tokens?: unknown }).tokens === 'object' &&
      (value as { tokens?: unknown }).tokens !== null))

/**
 * What `vel serve --auth <value>` protects HTTP with: a path (`./auth.ts`, anything ending in
 * `.ts`/`.js`) is a module exporting the auth options (`export default { verify, canAccess? }` or
 * `{ tokens }`) or a verifier function (`export default` or `export const verify`, with an optional
 * `export const canAccess`); anything else is one bearer token, whose caller is `operator`.
 */
export async function loadAuth(value: string): Promise<AuthOptions> {
  if (!looksLikeModule(value)) {
    if (value.trim() === '') throw new UsageError('--auth needs a token or a module path', 'serve')
    return { tokens: { [value]: tokenPrincipal } }
  }
  const file = value.startsWith('file:') ? value : pathToFileURL(resolve(value)).href
  if (!value.startsWith('file:') && !existsSync(resolve(value)))
    throw new UsageError(`--auth: no module at ${resolve(value)}`, 'serve')
  const module = (await import(file)) as Record<string, unknown>
  const canAccess = typeof module.canAccess === 'function' ? { canAccess: module.canAccess } : {}
  for (const candidate of [module.default, module.auth]) if (isAuthOptions(candidate)) return candidate
  const verify = typeof module.verify === 'function' ? module.verify : module.default
  if (typeof verify === 'function') return { verify: verify as never, ...(canAccess as object) }
  throw new UsageError(
    `--auth ${value} exports no verifier: export default (request) => principal, or { verify } / { tokens }`,
    'serve',
  )
}
