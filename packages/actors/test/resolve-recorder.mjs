// Module resolution hooks (`module.register`) for the telemetry loading test: appends each
// resolved specifier naming `@opentelemetry/api` to the file given as `data.file`, synchronously,
// so a process can tell whether anything resolved (to load) the API, by static import or not.
import { appendFileSync } from 'node:fs'

let file
export function initialize(data) {
  file = data.file
}
export async function resolve(specifier, context, next) {
  if (specifier === '@opentelemetry/api' || specifier.startsWith('@opentelemetry/api/'))
    appendFileSync(file, `${specifier}\n`)
  return next(specifier, context)
}
