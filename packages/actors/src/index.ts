/**
 * @vel/actors: runs agents as XState actors over the pure `step` reducer. Commands execute at the
 * edge as Effect programs (model calls, tools with timeouts and retries, human requests); every
 * event is journaled before it is applied, so runs survive crashes, restarts and long waits for
 * humans. Must not import HTTP or NATS code: those adapters build on this package.
 */

// agents
export {
  Agent,
  type AgentOptions,
  type AgentPolicies,
  contactHuman,
  contactHumanToolName,
  type ModelConfig,
  type ModelRetryPolicy,
} from './agent.ts'
// buses
export { type Bus, createInProcessBus, type HumanRequestMessage, type InProcessBus } from './bus.ts'
// composition (Factor 10): pipelines of small agents
export {
  type AsToolOptions,
  asTool,
  type CompositeOptions,
  handoff,
  Limiter,
  parallel,
  route,
  type Supervision,
  sequence,
} from './compose.ts'
export { Outlet, type OutletListener, type OutletSignal } from './outlet.ts'
// the run actor: XState logic whose transition is the reducer
export { type RunActorRef, type RunSnapshot, runLogic } from './run-logic.ts'
// observability: OpenTelemetry spans and metrics, W3C trace context
export type { CallObservation, RunObserver } from './run-observer.ts'
// runtime
export { createRuntime } from './runtime.ts'
export type {
  DecisionOptions,
  RunHandle,
  RunInfo,
  Runtime,
  RuntimeOptions,
  SpawnOptions,
  StreamOptions,
} from './runtime-types.ts'
// context steps (Factor 3): summaries journaled before the model call
export {
  createSummarizer,
  type Summarizer,
  type SummarizerContext,
  type SummarizerOptions,
  type Summary,
} from './summarize.ts'
// telemetry
export type { ObservedRun, RunIdentity, RunListener, TelemetryOptions } from './telemetry.ts'
// tool guards (Factor 8): allow or deny each tool call, journaled in the plan
export type { GuardedCall, ToolGuard, ToolGuardContext, ToolGuardDecision } from './tool-guard.ts'
export {
  activeTrace,
  carrierOf,
  spanContextOf,
  traceFromHeaders,
  withTraceContext,
} from './trace-context.ts'
// usage and cost per run, pipeline tree, agent and session
export { costOfRun, type RunUsage, runUsage, type UsageSummary, usageOf } from './usage.ts'
