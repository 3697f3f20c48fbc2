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
// the agent actor
export { agentMachine } from './agent-machine.ts'
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
// runtime
export {
  createRuntime,
  type DecisionOptions,
  type RunHandle,
  type RunInfo,
  type Runtime,
  type RuntimeOptions,
  type SpawnOptions,
} from './runtime.ts'
