import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Agent } from '@vel/actors'
import { UsageError } from './usage-error.ts'

/** The agents module used when neither `--agents` nor `VEL_AGENTS` is given. */
export const defaultAgentsPath = './agents.ts'

/** An `Agent` by shape, so a module that resolved its own copy of `@vel/actors` still counts. */
const isAgent = (value: unknown): value is Agent =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Agent).id === 'string' &&
  typeof (value as Agent).resolve === 'function' &&
  typeof (value as Agent).attach === 'function'

const asAgents = (value: unknown): Agent[] | undefined => {
  if (isAgent(value)) return [value]
  if (Array.isArray(value) && value.length > 0 && value.every(isAgent)) return value
  return undefined
}

/**
 * Imports a TypeScript or JavaScript module and returns its agents: the default export (an
 * `Agent` or an array of them) or a named `agents` array. Throws a `UsageError` naming the file
 * when it is missing or exports no agents; an error thrown while importing it propagates.
 */
export async function loadAgents(path: string): Promise<Agent[]> {
  const file = resolve(path)
  if (!existsSync(file))
    throw new UsageError(`no agents module at ${file} (pass --agents ./agents.ts, or set VEL_AGENTS)`)
  const module = (await import(pathToFileURL(file).href)) as { default?: unknown; agents?: unknown }
  const agents = asAgents(module.agents) ?? asAgents(module.default)
  if (agents === undefined)
    throw new UsageError(
      `${file} exports no agents: export default [agent, ...] or export const agents = [agent, ...]`,
    )
  const ids = new Set<string>()
  for (const agent of agents) {
    if (ids.has(agent.id)) throw new UsageError(`${file}: two agents are named '${agent.id}'`)
    ids.add(agent.id)
  }
  return agents
}
