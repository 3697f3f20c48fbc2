import type { Attributes, Context, Link, Meter, Span, Tracer } from '@opentelemetry/api'
import {
  type Command,
  costOf,
  type ModelPrice,
  type ModelRequest,
  type RunEvent,
  type RunState,
  type TraceCarrier,
  type Usage,
} from '@vel/core'
import { otel, otelReady, otelRegistered } from './otel.ts'
import { type CallObservation, type RunObserver, silentObserver } from './run-observer.ts'
import { carrierOf, contextFromCarrier, spanContextOf } from './trace-context.ts'

/**
 * Options of the runtime's OpenTelemetry instrumentation. Everything goes through
 * `@opentelemetry/api`: without an SDK registered by the application, spans and metrics are no-ops.
 */
export interface TelemetryOptions {
  /** Default: the global tracer provider's `@vel/actors` tracer. */
  readonly tracer?: Tracer
  /** Default: the global meter provider's `@vel/actors` meter, taken when the runtime is created. */
  readonly meter?: Meter
  /**
   * Record prompts, completions, tool arguments and results on spans (`gen_ai.input.messages`,
   * `gen_ai.output.messages`, `gen_ai.tool.call.arguments`, `gen_ai.tool.call.result`). They may
   * hold personal data, so the default is off, unless the environment sets
   * `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`.
   */
  readonly recordContent?: boolean
  /**
   * Called when this process takes up a run (started or resumed): what it returns hears the run's
   * committed events and how the process let go of it. For logs and live views; it must not throw
   * (what it throws is dropped) and should be cheap, as it runs on the run's mailbox path.
   */
  readonly observe?: (run: ObservedRun) => RunListener | undefined
}

/** A run as `observe` sees it when this process takes it up. */
export interface ObservedRun extends RunIdentity {
  /** Taken up again (after a crash, a handover or a human's answer) rather than started. */
  readonly resumed: boolean
  /** Trace and span id of the run's span in this process (undefined without a trace). */
  readonly traceId: string | undefined
  readonly spanId: string | undefined
}

/** What `TelemetryOptions.observe` returns: the parts of a `RunObserver` that follow a run. */
export type RunListener = Partial<Pick<RunObserver, 'committed' | 'closed'>>

/** Who a run is, for its span and metric attributes. */
export interface RunIdentity {
  readonly runId: string
  readonly agentId: string
  readonly sessionId: string | null
  readonly parentRunId: string | null
  readonly provider: string
  readonly modelId: string
}

const scope = '@vel/actors'

const contentFromEnvironment = (): boolean =>
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
    ?.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT === 'true'

const json = (value: unknown): string => JSON.stringify(value)

/** Seconds since a `performance.now()` reading. */
const secondsSince = (start: number) => (performance.now() - start) / 1000

/**
 * The runtime's traces and metrics, following the OpenTelemetry GenAI semantic conventions: a span
 * per run (`invoke_agent`), model call (`chat`) and tool call (`execute_tool`), events for what
 * humans and cancels do, and the run, call, token, cost and store-latency instruments listed in
 * docs/observability.md.
 */
export class Telemetry {
  readonly recordContent: boolean
  readonly observe: TelemetryOptions['observe']
  private readonly ownTracer: Tracer | undefined
  /** The meter taken when the runtime was made; undefined: the API's no-op meter. */
  private readonly meter: Meter | undefined
  private instrumentsMade: Instruments | undefined
  /** No tracer, meter or `observe` of the runtime's own, and the global meter is the API's no-op. */
  private readonly quietUnlessRegistered: boolean

  constructor(options: TelemetryOptions = {}) {
    this.ownTracer = options.tracer
    this.recordContent = options.recordContent ?? contentFromEnvironment()
    this.observe = options.observe
    // With nothing registered with the API, its global meter is the no-op: the API need not load.
    const ready = (options.meter !== undefined || otelRegistered()) && otelReady()
    const meter = options.meter ?? (ready ? otel().metrics.getMeter(scope) : undefined)
    this.meter = meter === undefined || (ready && meter === otel().createNoopMeter()) ? undefined : meter
    this.quietUnlessRegistered =
      options.tracer === undefined && options.observe === undefined && this.meter === undefined
  }

  /** The runtime's tracer, or the global tracer provider's (resolved when a run is observed). */
  get tracer(): Tracer {
    return this.ownTracer ?? otel().trace.getTracer(scope)
  }

  private get instruments(): Instruments {
    this.instrumentsMade ??= createInstruments(this.meter ?? otel().createNoopMeter())
    return this.instrumentsMade
  }

  /**
   * Whether following a run under `parent` records nothing: no meter, no `observe`, no tracer
   * provider registered (checked each time: an SDK may be registered after the runtime is made)
   * and no valid parent span (whose context a no-op span would carry on, and journal).
   */
  private quiet(parent: Context): boolean {
    if (!this.quietUnlessRegistered) return false
    const { trace, isSpanContextValid } = otel()
    const provider = trace.getTracerProvider() as { getDelegateTracer?: (name: string) => Tracer | undefined }
    if (provider.getDelegateTracer === undefined || provider.getDelegateTracer(scope) !== undefined)
      return false
    const spanContext = trace.getSpanContext(parent)
    return spanContext === undefined || !isSpanContextValid(spanContext)
  }

  /**
   * Whether `started` would observe a new run under `parent` (a span, the counters), with no side
   * effect: false when it would return the silent observer.
   */
  observes(parent: TraceCarrier | undefined): boolean {
    // Nothing registered: no provider and no context manager, so only a carrier could be a parent.
    if (this.quietUnlessRegistered && parent === undefined && !otelRegistered()) return false
    if (!otelReady()) return false
    return !this.quiet(contextFromCarrier(parent, otel().context.active()))
  }

  /**
   * A new run: its span starts now, as a child of `parent` (a trigger's `traceparent`) or else of
   * the active context (a tool that starts a child run, an instrumented HTTP server).
   */
  started(run: RunIdentity, parent: TraceCarrier | undefined): RunObserver {
    if (!this.observes(parent)) return silentObserver
    const parentContext = contextFromCarrier(parent, otel().context.active())
    this.instruments.started.add(1, { 'gen_ai.agent.name': run.agentId })
    return new OtelRunObserver(this, this.instruments, run, parentContext, [], false)
  }

  /**
   * A run taken up again in this process (after a crash, a handover or a human's answer): a new
   * span, child of the active context, linked to the span the run started under.
   */
  resumed(run: RunIdentity, state: RunState): RunObserver {
    const quiet = this.quietUnlessRegistered && !otelRegistered()
    if (quiet || !otelReady() || this.quiet(otel().context.active()))
      return state.trace === undefined ? silentObserver : { ...silentObserver, trace: state.trace }
    const original = spanContextOf(state.trace)
    const links: Link[] =
      original === undefined ? [] : [{ context: original, attributes: { 'vel.link': 'run.started' } }]
    if (state.phase === 'waiting') this.instruments.waiting.add(-1, { 'gen_ai.agent.name': run.agentId })
    return new OtelRunObserver(this, this.instruments, run, otel().context.active(), links, true, state)
  }
}

function createInstruments(meter: Meter) {
  return {
    started: meter.createCounter('vel.runs.started', { description: 'Runs started', unit: '{run}' }),
    completed: meter.createCounter('vel.runs.completed', { description: 'Runs completed', unit: '{run}' }),
    failed: meter.createCounter('vel.runs.failed', { description: 'Runs failed', unit: '{run}' }),
    cancelled: meter.createCounter('vel.runs.cancelled', { description: 'Runs cancelled', unit: '{run}' }),
    active: meter.createUpDownCounter('vel.runs.active', {
      description: 'Runs held in memory by this process',
      unit: '{run}',
    }),
    waiting: meter.createUpDownCounter('vel.runs.waiting', {
      description: 'Runs paused for a human (out of memory): +1 where one pauses, -1 where it wakes',
      unit: '{run}',
    }),
    modelDuration: meter.createHistogram('gen_ai.client.operation.duration', {
      description: 'Duration of model calls',
      unit: 's',
    }),
    tokens: meter.createHistogram('gen_ai.client.token.usage', {
      description: 'Tokens per model call, by gen_ai.token.type (input, output)',
      unit: '{token}',
      advice: {
        explicitBucketBoundaries: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304],
      },
    }),
    toolDuration: meter.createHistogram('gen_ai.execute_tool.duration', {
      description: 'Duration of tool calls',
      unit: 's',
    }),
    cost: meter.createCounter('vel.cost', {
      description: 'Cost of model calls at the run’s price',
      unit: 'USD',
    }),
    append: meter.createHistogram('vel.store.append.duration', {
      description: 'Journal appends of run owners (retries included)',
      unit: 's',
    }),
  }
}

type Instruments = ReturnType<typeof createInstruments>

/** Span events for what happens to a run between calls, by event type. */
const eventNames: Partial<Record<RunEvent['type'], string>> = {
  'approval.decided': 'vel.approval.decided',
  'human.responded': 'vel.human.answered',
  'run.cancelled': 'vel.run.cancelled',
  'tool.interrupted': 'vel.tool.interrupted',
  'budget.exhausted': 'vel.budget.exhausted',
}

class OtelRunObserver implements RunObserver {
  readonly trace: TraceCarrier | undefined
  private readonly span: Span
  private readonly context: Context
  private readonly base: Attributes
  private price: ModelPrice | undefined
  private open = true
  private readonly listener: RunListener | undefined
  private readonly chatAttributes: Attributes
  private readonly inputTokenAttributes: Attributes
  private readonly outputTokenAttributes: Attributes
  private readonly costAttributes: Attributes
  private readonly byTool = new Map<string, Attributes>()
  private readonly tracer: Tracer

  constructor(
    private readonly telemetry: Telemetry,
    private readonly instruments: Instruments,
    private readonly run: RunIdentity,
    parent: Context,
    links: Link[],
    resumed: boolean,
    state?: RunState,
  ) {
    this.base = { 'gen_ai.agent.name': run.agentId }
    this.chatAttributes = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': run.provider,
      'gen_ai.request.model': run.modelId,
    }
    this.inputTokenAttributes = { ...this.chatAttributes, 'gen_ai.token.type': 'input' }
    this.outputTokenAttributes = { ...this.chatAttributes, 'gen_ai.token.type': 'output' }
    this.costAttributes = { ...this.chatAttributes, ...this.base }
    const { SpanKind, trace, isSpanContextValid } = otel()
    this.tracer = telemetry.tracer
    this.span = this.tracer.startSpan(
      `invoke_agent ${run.agentId}`,
      {
        kind: SpanKind.INTERNAL,
        links,
        attributes: {
          'gen_ai.operation.name': 'invoke_agent',
          'gen_ai.agent.name': run.agentId,
          'gen_ai.agent.id': run.agentId,
          'gen_ai.provider.name': run.provider,
          'gen_ai.request.model': run.modelId,
          'vel.run.id': run.runId,
          'vel.run.resumed': resumed,
          ...(run.sessionId === null ? {} : { 'gen_ai.conversation.id': run.sessionId }),
          ...(run.parentRunId === null ? {} : { 'vel.run.parent_id': run.parentRunId }),
        },
      },
      parent,
    )
    this.context = trace.setSpan(parent, this.span)
    this.trace = resumed ? state?.trace : carrierOf(this.span.spanContext())
    this.price = state?.policy.price
    instruments.active.add(1, this.base)
    const { traceId, spanId } = this.span.spanContext()
    const valid = isSpanContextValid(this.span.spanContext())
    this.listener = quietly(() =>
      telemetry.observe?.({
        ...run,
        resumed,
        traceId: valid ? traceId : undefined,
        spanId: valid ? spanId : undefined,
      }),
    )
  }

  committed(
    event: RunEvent,
    state: RunState,
    commands: ReadonlyArray<Command>,
    appendMs: number,
    sameAppend?: boolean,
  ): void {
    if (this.listener?.committed) quietly(() => this.listener?.committed?.(event, state, commands, appendMs))
    // One sample per append, not per event: a held event and the next share one (ADR 0125).
    if (sameAppend !== true) this.instruments.append.record(appendMs / 1000)
    if (event.type === 'run.started') this.price = state.policy.price
    const name = eventNames[event.type]
    if (name !== undefined) this.span.addEvent(name, eventAttributes(event))
    for (const command of commands)
      if (command.type === 'request-approval' || command.type === 'contact-human')
        this.span.addEvent(
          command.type === 'request-approval' ? 'vel.approval.requested' : 'vel.human.asked',
          {
            'gen_ai.tool.call.id': command.request.requestId,
            'gen_ai.tool.name': command.request.toolName,
          },
        )
  }

  modelCall(step: number, request: ModelRequest): CallObservation {
    const recording = this.span.isRecording()
    const span = recording
      ? this.tracer.startSpan(
          `chat ${this.run.modelId}`,
          {
            kind: otel().SpanKind.CLIENT,
            attributes: {
              ...this.chatAttributes,
              'vel.step': step,
              ...(request.maxOutputTokens === undefined
                ? {}
                : { 'gen_ai.request.max_tokens': request.maxOutputTokens }),
              ...(request.temperature === undefined
                ? {}
                : { 'gen_ai.request.temperature': request.temperature }),
              ...(this.telemetry.recordContent ? { 'gen_ai.input.messages': json(request.messages) } : {}),
            },
          },
          this.context,
        )
      : undefined
    return new OtelCall(this, span, 'model', this.chatAttributes)
  }

  toolCall(command: Extract<Command, { type: 'call-tool' }>): CallObservation {
    const attributes = this.toolAttributes(command.toolName)
    const span = this.span.isRecording()
      ? this.tracer.startSpan(
          `execute_tool ${command.toolName}`,
          {
            kind: otel().SpanKind.INTERNAL,
            attributes: {
              ...attributes,
              'gen_ai.tool.call.id': command.toolCallId,
              'gen_ai.tool.type': 'function',
              ...(this.telemetry.recordContent ? { 'gen_ai.tool.call.arguments': json(command.input) } : {}),
            },
          },
          this.context,
        )
      : undefined
    return new OtelCall(this, span, 'tool', attributes)
  }

  /** The metric attributes of a tool's calls, made once per tool name. */
  private toolAttributes(toolName: string): Attributes {
    let attributes = this.byTool.get(toolName)
    if (attributes === undefined) {
      attributes = { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': toolName }
      this.byTool.set(toolName, attributes)
    }
    return attributes
  }

  /** The context a call runs in: its own span's, or the run's when the run's span does not record. */
  callContext(span: Span | undefined): Context {
    return span === undefined ? this.context : otel().trace.setSpan(this.context, span)
  }

  /** A model call ended: its span's attributes and status, and the model metrics. */
  modelEnded(span: Span, outcome: RunEvent | undefined, seconds: number): void {
    const attributes = this.chatAttributes
    if (outcome?.type !== 'model.responded') {
      const failure = outcome?.type === 'model.failed' ? outcome.error : undefined
      const errorType = failed(span, failure?.reason ?? 'aborted', failure?.message)
      this.instruments.modelDuration.record(seconds, { ...attributes, 'error.type': errorType })
      return
    }
    const cost = this.price === undefined ? undefined : costOf(outcome.usage, this.price)
    if (span.isRecording())
      span.setAttributes({
        ...usageAttributes(outcome.usage),
        'gen_ai.response.finish_reasons': [outcome.finishReason],
        ...(cost === undefined ? {} : { 'vel.cost.usd': cost }),
        ...(this.telemetry.recordContent ? { 'gen_ai.output.messages': json([outcome.message]) } : {}),
      })
    const { tokens } = this.instruments
    tokens.record(outcome.usage.inputTokens, this.inputTokenAttributes)
    tokens.record(outcome.usage.outputTokens, this.outputTokenAttributes)
    if (cost !== undefined) this.instruments.cost.add(cost, this.costAttributes)
    this.instruments.modelDuration.record(seconds, attributes)
  }

  /** A tool call ended: its span's attributes and status, and the tool metric. */
  toolEnded(span: Span, attributes: Attributes, outcome: RunEvent | undefined, seconds: number): void {
    if (outcome?.type === 'tool.succeeded') {
      if (this.telemetry.recordContent && span.isRecording())
        span.setAttribute('gen_ai.tool.call.result', json(outcome.output))
      this.instruments.toolDuration.record(seconds, attributes)
      return
    }
    const failure = outcome?.type === 'tool.failed' ? outcome : undefined
    const errorType = failed(
      span,
      failure === undefined ? 'aborted' : (failure.reason ?? 'failed'),
      failure?.error,
    )
    this.instruments.toolDuration.record(seconds, { ...attributes, 'error.type': errorType })
  }

  /** The run's own span (what a call without a span of its own records on). */
  get runSpan(): Span {
    return this.span
  }

  closed(how: 'ended' | 'paused' | 'released' | 'lost', state: RunState | undefined): void {
    if (!this.open) return
    this.open = false
    if (this.listener?.closed) quietly(() => this.listener?.closed?.(how, state))
    this.instruments.active.add(-1, this.base)
    const { span } = this
    const recording = span.isRecording()
    if (recording) span.setAttribute('vel.run.outcome', how === 'ended' && state ? state.phase : how)
    if (recording && state !== undefined) {
      span.setAttributes({ ...usageAttributes(state.usage), 'vel.run.steps': state.step })
      if (state.policy.price !== undefined)
        span.setAttribute('vel.cost.usd', costOf(state.usage, state.policy.price))
    }
    if (how === 'paused') this.instruments.waiting.add(1, this.base)
    if (how === 'ended' && state !== undefined) {
      if (state.phase === 'completed') this.instruments.completed.add(1, this.base)
      else if (state.phase === 'cancelled') this.instruments.cancelled.add(1, this.base)
      else {
        this.instruments.failed.add(1, this.base)
        failed(span, state.error?.reason ?? 'failed', state.error?.message)
      }
    }
    if (how === 'lost')
      span.setStatus({ code: otel().SpanStatusCode.ERROR, message: 'the run was lost by this process' })
    span.end()
  }
}

/**
 * One call's observation: a child span of the run's, or none when the run's span does not record
 * (no SDK, or not sampled: the call runs in the run's context, which is what a non-recording child
 * would carry too). `end` records the outcome once. A class, not closures: it is made per call.
 */
class OtelCall implements CallObservation {
  private readonly start = performance.now()
  private ended = false

  constructor(
    private readonly observer: OtelRunObserver,
    private readonly span: Span | undefined,
    private readonly kind: 'model' | 'tool',
    private readonly attributes: Attributes,
  ) {}

  within<T>(work: () => T): T {
    return otel().context.with(this.observer.callContext(this.span), work)
  }

  end(outcome?: RunEvent): void {
    if (this.ended) return
    this.ended = true
    const span = this.span ?? this.observer.runSpan
    const seconds = secondsSince(this.start)
    if (this.kind === 'model') this.observer.modelEnded(span, outcome, seconds)
    else this.observer.toolEnded(span, this.attributes, outcome, seconds)
    this.span?.end()
  }
}

/** Calls `work`, dropping what it throws: a listener's failure must not stop a run. */
function quietly<T>(work: () => T): T | undefined {
  try {
    return work()
  } catch {
    return undefined
  }
}

/** Marks a span failed with an error type; returns the type. */
function failed(span: Span, errorType: string, message?: string): string {
  span.setAttribute('error.type', errorType)
  span.setStatus({ code: otel().SpanStatusCode.ERROR, ...(message === undefined ? {} : { message }) })
  return errorType
}

const usageAttributes = (usage: Usage): Attributes => ({
  'gen_ai.usage.input_tokens': usage.inputTokens,
  'gen_ai.usage.output_tokens': usage.outputTokens,
  ...(usage.cachedInputTokens > 0 ? { 'gen_ai.usage.cache_read.input_tokens': usage.cachedInputTokens } : {}),
  ...(usage.reasoningTokens > 0 ? { 'gen_ai.usage.reasoning.output_tokens': usage.reasoningTokens } : {}),
})

function eventAttributes(event: RunEvent): Attributes {
  switch (event.type) {
    case 'approval.decided':
      return {
        'gen_ai.tool.call.id': event.toolCallId,
        'vel.approval.approved': event.approved,
        ...(event.by === undefined ? {} : { 'vel.decided_by': event.by }),
        ...(event.reason === undefined ? {} : { 'vel.reason': event.reason }),
      }
    case 'human.responded':
      return {
        'gen_ai.tool.call.id': event.requestId,
        ...(event.by === undefined ? {} : { 'vel.decided_by': event.by }),
      }
    case 'run.cancelled':
      return event.reason === undefined ? {} : { 'vel.reason': event.reason }
    case 'tool.interrupted':
      return { 'gen_ai.tool.call.id': event.toolCallId }
    case 'budget.exhausted':
      return { 'vel.budget': event.budget }
    default:
      return {}
  }
}
