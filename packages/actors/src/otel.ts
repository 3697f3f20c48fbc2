import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type * as OpenTelemetryApi from '@opentelemetry/api'

/** `@opentelemetry/api`'s module (its values: `trace`, `context`, `metrics`, ...). */
export type OtelApi = typeof OpenTelemetryApi

/**
 * Where every copy of `@opentelemetry/api` 1.x keeps what the application registered (tracer and
 * meter providers, context manager, propagator, diagnostic logger): its `registerGlobal` creates
 * this slot on `globalThis` and its `getGlobal` reads it. Without the slot the API answers every
 * call with a no-op, so Vel need not load it to know that (ADR 0115).
 */
const registrations = Symbol.for('opentelemetry.js.api.1')

/** Whether anything has been registered with the OpenTelemetry API in this process. */
export const otelRegistered = (): boolean =>
  (globalThis as Record<symbol, unknown>)[registrations] !== undefined

let api: OtelApi | undefined
let importing: Promise<void> | undefined

/** The API's ESM build by `require` (one instance with `import`'s), else its CommonJS build. */
function loadNow(): OtelApi {
  const require = createRequire(import.meta.url)
  let path: string | undefined
  try {
    path = fileURLToPath(import.meta.resolve('@opentelemetry/api'))
  } catch {
    path = undefined
  }
  return require(path ?? '@opentelemetry/api') as OtelApi
}

/**
 * Whether `@opentelemetry/api` is loaded, loading it on first call, synchronously (a run's
 * observer is made synchronously): the ESM build the application's own `import` resolves to,
 * through `require` of ES modules (Node ≥ 20.19), so both share one module instance (the API's
 * proxies, `ProxyTracer` included, are per instance); else its CommonJS build, which still shares
 * the registrations above. Where neither can be loaded from disk (an application bundled without
 * its `node_modules`), an `import()` that a bundler resolves to its own copy: false until it lands,
 * and what asks meanwhile records nothing.
 */
export function otelReady(): boolean {
  if (api === undefined && importing === undefined)
    try {
      api = loadNow()
    } catch {
      importing = import('@opentelemetry/api').then(
        (module) => {
          api = module
        },
        () => undefined,
      )
    }
  return api !== undefined
}

/**
 * Whether something is registered with the API and the API is loaded (loading it if need be): what
 * asks for the active span or context checks this first, since with nothing registered there is none.
 */
export const otelActive = (): boolean => otelRegistered() && otelReady()

/** The API, once `otelReady()` said it is loaded. */
export function otel(): OtelApi {
  if (api === undefined) throw new Error('@opentelemetry/api is not loaded: ask otelReady() first')
  return api
}
