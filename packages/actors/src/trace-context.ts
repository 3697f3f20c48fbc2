import type { Context, SpanContext } from '@opentelemetry/api'
import type { TraceCarrier } from '@vel/core'
import { otel, otelActive, otelReady } from './otel.ts'

// W3C Trace Context, level 1: version 00, 32 hex trace id, 16 hex span id, 2 hex flags.
const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/**
 * The span context a W3C `traceparent` (and `tracestate`) names, or undefined for a malformed or
 * all-zero one. Parsed here rather than through the globally registered propagator: Vel journals
 * exactly these two headers, whatever propagator the application registers for its own traffic.
 */
export function spanContextOf(carrier: TraceCarrier | undefined): SpanContext | undefined {
  const match = carrier === undefined ? null : traceparentPattern.exec(carrier.traceparent.trim())
  if (match === null || !otelReady()) return undefined
  const [, traceId, spanId, flags] = match as unknown as [string, string, string, string]
  const { createTraceState, isSpanContextValid, TraceFlags } = otel()
  const spanContext: SpanContext = {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16) & TraceFlags.SAMPLED,
    isRemote: true,
    ...(carrier?.tracestate ? { traceState: createTraceState(carrier.tracestate) } : {}),
  }
  return isSpanContextValid(spanContext) ? spanContext : undefined
}

/** `base` with the remote span of `carrier` as its parent; `base` itself when there is none. */
export function contextFromCarrier(carrier: TraceCarrier | undefined, base: Context): Context {
  const spanContext = spanContextOf(carrier)
  return spanContext === undefined ? base : otel().trace.setSpanContext(base, spanContext)
}

/**
 * W3C trace context from headers (a `Headers`, NATS `MsgHdrs`, or anything with `get`): what a
 * trigger passes as `SpawnOptions.trace`. Undefined without a `traceparent`.
 */
export function traceFromHeaders(headers: { get(name: string): string | null | undefined } | undefined) {
  const traceparent = headers?.get('traceparent') || undefined
  if (traceparent === undefined) return undefined
  const tracestate = headers?.get('tracestate') || undefined
  return (tracestate === undefined ? { traceparent } : { traceparent, tracestate }) satisfies TraceCarrier
}

/**
 * Runs `work` with the remote span of `carrier` as the active context (with a context manager
 * registered, as the OpenTelemetry SDK does), so what it starts or wakes (a run resumed by an
 * approval, say) is that span's child. Without a carrier it just runs `work`.
 */
export function withTraceContext<T>(carrier: TraceCarrier | undefined, work: () => T): T {
  // Nothing registered with the API: no context manager to make it active (the API's no-op one).
  if (carrier === undefined || !otelActive()) return work()
  const { context } = otel()
  return context.with(contextFromCarrier(carrier, context.active()), work)
}

/** The W3C headers of the active span (the caller's), to send along with a trigger. */
export function activeTrace(): TraceCarrier | undefined {
  const span = otelActive() ? otel().trace.getActiveSpan() : undefined
  return span === undefined ? undefined : carrierOf(span.spanContext())
}

/** The W3C headers of a span context; undefined for an invalid one (no SDK registered, no parent). */
export function carrierOf(spanContext: SpanContext): TraceCarrier | undefined {
  if (!otelReady()) return undefined
  const { isSpanContextValid, TraceFlags } = otel()
  if (!isSpanContextValid(spanContext)) return undefined
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0')
  const traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`
  const tracestate = spanContext.traceState?.serialize()
  return tracestate ? { traceparent, tracestate } : { traceparent }
}
