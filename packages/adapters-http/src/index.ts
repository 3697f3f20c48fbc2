/**
 * @vel/http: the Vel runtime over HTTP. A Hono app (REST for runs and human decisions, the AI SDK
 * UI message stream over SSE for `useChat`, OpenAPI from Effect Schemas) and a Node `serve` helper.
 * It adapts `@vel/actors` and `@vel/core` to the web; it must not import stores, providers or NATS,
 * nor any package's internals.
 */

// the app and its options
export { createHttpApp, type HttpAppOptions } from './app.ts'
// auth
export { type AccessCheck, type AuthOptions, type Principal, startedByKey, startersOnly } from './auth.ts'
// errors: the one status mapping
export { InvalidFieldError, type ProblemDetails, problemOf, statusOf } from './errors.ts'
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
