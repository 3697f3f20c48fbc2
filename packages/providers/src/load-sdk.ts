import { ProviderError } from '@vel/core'

/** The npm package of each provider SDK; they are optional peers, installed by the user. */
export type SdkPackage = 'openai' | '@anthropic-ai/sdk' | '@google/genai'

const notFoundCodes = new Set(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'])

/** Whether `error` says that `name` itself (not one of its own dependencies) cannot be resolved. */
const isMissing = (error: unknown, name: string): boolean => {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  return (
    typeof code === 'string' &&
    notFoundCodes.has(code) &&
    typeof message === 'string' &&
    (message.includes(`'${name}'`) || message.includes(`"${name}"`))
  )
}

/**
 * Loads a provider SDK the first time a model of that provider is called (never at import time of
 * this package), so only the SDK of the provider in use must be installed. `load` is the literal
 * `import('<package>')`, kept at the call site so bundlers see it. A missing SDK is a
 * `ProviderError { reason: 'unsupported' }` whose message names the package and the install
 * command; any other load failure is the same reason with the original error as `cause`. A failed
 * load is not kept: the next call imports again.
 */
export function lazySdk<T>(provider: string, name: SdkPackage, load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined
  return () =>
    (loading ??= load().catch((error: unknown) => {
      loading = undefined
      throw new ProviderError({
        reason: 'unsupported',
        provider,
        cause: error,
        message: isMissing(error, name)
          ? `${provider}: the SDK package '${name}' is not installed; install ${name}: npm i ${name}`
          : `${provider}: the SDK package '${name}' failed to load (${String((error as Error)?.message ?? error)}); reinstall it: npm i ${name}`,
      })
    }))
}
