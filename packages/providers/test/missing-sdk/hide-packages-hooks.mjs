import { pathToFileURL } from 'node:url'

let hidden = []
const nowhere = pathToFileURL('/hidden-by-test.mjs').href

/** The package a bare specifier names: `@scope/name` or `name`, without a subpath. */
const packageOf = (specifier) => {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

export function initialize(data) {
  hidden = data.hidden
}

export function resolve(specifier, context, nextResolve) {
  if (hidden.includes(packageOf(specifier))) return nextResolve(specifier, { ...context, parentURL: nowhere })
  return nextResolve(specifier, context)
}
