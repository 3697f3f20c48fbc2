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

/**
 * `@opentelemetry/api`, loaded on first use, synchronously: the ESM build the application's own
 * `import` resolves to, through `require` of ES modules (Node ≥ 20.19), so both share one module
 * instance (the API's proxies, `ProxyTracer` included, are per instance). Where the ESM file cannot
 * be named (a loader without `import.meta.resolve`), its CommonJS build, which still shares the
 * registrations above.
 */
export function otel(): OtelApi {
  if (api === undefined) {
    const require = createRequire(import.meta.url)
    let path: string | undefined
    try {
      path = fileURLToPath(import.meta.resolve('@opentelemetry/api'))
    } catch {
      path = undefined
    }
    api = require(path ?? '@opentelemetry/api') as OtelApi
  }
  return api
}

/** Whether `otel()` has loaded the API in this process (for tests of the start-up path). */
export const otelLoaded = (): boolean => api !== undefined
