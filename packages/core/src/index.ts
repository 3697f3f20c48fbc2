/**
 * @vel/core: the pure heart of Vel. Messages, tools and their validation, the `step` reducer,
 * context policies, stream parts, errors, and the `LanguageModel` and `Store` contracts that the
 * other packages implement. No I/O: this package must not import Node built-ins, provider SDKs,
 * database drivers, XState or `effect`, only the JSON Schema validator (Effect Schemas are recognised
 * by their symbol, without loading `effect`).
 */

// context policies (Factor 3)
export {
  type ContextFunction,
  foldRepeatedErrors,
  messagesForModel,
  slidingWindow,
  summaryBoundary,
  summaryPreamble,
  withSummary,
} from './context.ts'
// usage and cost
export {
  costOf,
  defaultPrices,
  defaultPricesAsOf,
  type ModelPrice,
  type PriceTable,
  priceFor,
} from './cost.ts'
// errors
export * from './errors.ts'
// builders of run events, for driving `step` by hand
export { events, type ResponseOptions, type ToolCallSketch, type ToolPlanOf } from './events.ts'
// JSON
export type { JsonObject, JsonValue, ProviderMetadata } from './json.ts'
// the model contract and messages
export * from './language-model.ts'
export * from './messages.ts'
// runs: state, events, commands
export { newRunId } from './run-id.ts'
export * from './run-state.ts'
// tool schemas from any Standard Schema library (Zod 4, Valibot, ArkType, Effect)
export type {
  InferOutput,
  StandardIssue,
  StandardJsonSchemaConverter,
  StandardResult,
  StandardSchema,
} from './standard-schema.ts'
// runs: decoding stored states, the reducer
export { decodeRunState } from './state-codec.ts'
export {
  blockId,
  contentParts,
  emptyRunState,
  forReplay,
  interruptedToolCalls,
  partsFromEvents,
  resumeCommands,
  stateFromEvents,
  step,
} from './step.ts'
// the store contract
export * from './store.ts'
// stream protocol
export * from './stream-parts.ts'
export * from './stream-position.ts'
// tools
export * from './tool.ts'
export { getTool, listRegisteredTools, registerTool } from './tool-registry.ts'
export { isToolSource, type ToolSource } from './tool-source.ts'
