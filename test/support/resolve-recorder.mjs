// Module resolution hooks (`module.register`) for the start-up path tests of actors and store:
// appends each resolved specifier naming one of `data.packages` (or a subpath) to the file
// `data.file`, synchronously, so a process can tell whether anything resolved (to load) them, by a
// static import or any other way.
import { appendFileSync } from 'node:fs'

let file
let packages = []
export function initialize(data) {
  file = data.file
  packages = data.packages
}
export async function resolve(specifier, context, next) {
  if (packages.some((name) => specifier === name || specifier.startsWith(`${name}/`)))
    appendFileSync(file, `${specifier} ${context.parentURL}\n`)
  return next(specifier, context)
}
