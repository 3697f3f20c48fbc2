/**
 * @vel/http: the Vel runtime over HTTP. A Hono app (REST for runs and human decisions, the AI SDK
 * UI message stream over SSE for `useChat`, OpenAPI from Effect Schemas) and a Node `serve` helper.
 * It adapts `@vel/actors` and `@vel/core` to the web; it must not import stores, providers or NATS,
 * nor any package's internals.
 */

// the app and its options
export { createHttpApp, type HttpAppOptions, inspectorPath } from './app.ts'
// auth
export { type AccessCheck, type AuthOptions, type Principal, startedByKey, startersOnly } from './auth.ts'
// request limits
export { defaultMaxBodyBytes, maxJsonDepth } from './decode.ts'
// errors: the one status mapping
export { InvalidFieldError, type ProblemDetails, problemOf, statusOf } from './errors.ts'
// the run inspector (a web UI)
export { createInspector, type InspectorOptions, inspectorCookie } from './inspector/inspector.ts'
export { type TimelineRow, timelineOf } from './inspector/timeline.ts'
// Node
export { type RunningServer, type ServeOptions, serve } from './node.ts'
// OpenAPI
export { createOpenApiDocument, type OpenApiOptions } from './openapi.ts'
// streams
export {
  type Frame,
  parseEventId,
  type RunFramesOptions,
  runFrames,
} from './run-stream.ts'
export * as schemas from './schemas.ts'
export { uiMessageStreamHeaders } from './sse.ts'
