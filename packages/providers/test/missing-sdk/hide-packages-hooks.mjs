import { pathToFileURL } from 'node:url'

let hidden = []
let broken = []
const nowhere = pathToFileURL('/hidden-by-test.mjs').href
const throwing = `data:text/javascript,${encodeURIComponent('throw new Error("broken by the test")')}`

/** The package a bare specifier names: `@scope/name` or `name`, without a subpath. */
const packageOf = (specifier) => {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

export function initialize(data) {
  hidden = data.hidden
  broken = data.broken
}

export function resolve(specifier, context, nextResolve) {
  const name = packageOf(specifier)
  if (hidden.includes(name)) return nextResolve(specifier, { ...context, parentURL: nowhere })
  if (broken.includes(name)) return { url: throwing, shortCircuit: true }
  return nextResolve(specifier, context)
}
