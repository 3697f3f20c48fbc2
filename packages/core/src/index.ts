/**
 * @vel/core: the pure heart of Vel. Messages, tools and their validation, the `step` reducer,
 * context policies, stream parts, errors, and the `LanguageModel` and `Store` contracts that the
 * other packages implement. No I/O: this package must not import Node built-ins, provider SDKs,
 * database drivers or XState, only `effect` modules and the JSON Schema validator.
 */

// context policies (Factor 3)
export { type ContextFunction, foldRepeatedErrors, messagesForModel, slidingWindow } from './context.ts'
// errors
export * from './errors.ts'
// JSON and messages
export type { JsonObject, JsonValue, ProviderMetadata } from './json.ts'
// model and store contracts
export * from './language-model.ts'
export * from './messages.ts'
// runs: state, events, commands
export * from './run-state.ts'
export { decodeRunState } from './state-codec.ts'
export {
  blockId,
  contentParts,
  emptyRunState,
  forReplay,
  interruptedToolCalls,
  partsFromEvents,
  resumeCommands,
  step,
} from './step.ts'
export * from './store.ts'
// stream protocol
export * from './stream-parts.ts'
export * from './stream-position.ts'
// tools
export * from './tool.ts'
export { isToolSource, type ToolSource } from './tool-source.ts'
