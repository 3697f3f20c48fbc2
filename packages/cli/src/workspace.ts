import { type Agent, type Bus, createRuntime, type Runtime, type TelemetryOptions } from '@vel/actors'
import type { Store } from '@vel/core'
import { type Invocation, type OptionSpec, stringFlag } from './command.ts'
import { defaultAgentsPath, loadAgents } from './load-agents.ts'
import { defaultStoreSpec, openStore, parseStoreSpec, type StoreSpec } from './store-spec.ts'

/** `--store`, shared by every command that touches runs. */
export const storeOption: OptionSpec = {
  type: 'string',
  placeholder: '<spec>',
  description: `sqlite:<file>, postgres://user:pass@host/db[?schema=name] or memory (default: $VEL_STORE or ${defaultStoreSpec})`,
}

/** `--agents`, for commands that run agents. */
export const agentsOption: OptionSpec = {
  type: 'string',
  placeholder: '<file>',
  description: `module exporting the agents (default: $VEL_AGENTS or ${defaultAgentsPath})`,
}

/** `--json`, for scripts. */
export const jsonOption: OptionSpec = { type: 'boolean', description: 'Print JSON instead of text.' }

/** The store spec of an invocation: `--store`, else `VEL_STORE`, else the default. */
export const storeSpecOf = (invocation: Invocation): StoreSpec =>
  parseStoreSpec(stringFlag(invocation.values, 'store') ?? invocation.io.env.VEL_STORE ?? defaultStoreSpec)

/** A store, a runtime over it and the loaded agents; `close` shuts both down. */
export interface Workspace {
  readonly store: Store
  readonly runtime: Runtime
  readonly agents: ReadonlyArray<Agent>
  close(): Promise<void>
}

/**
 * Opens what a command needs. Without `agents` the runtime knows no agents: enough to list and
 * inspect runs, not to continue them. `create` lets a new SQLite file be made (run, serve).
 */
export async function openWorkspace(
  invocation: Invocation,
  options: {
    readonly agents: boolean
    readonly create: boolean
    readonly bus?: (store: Store) => Promise<Bus>
    /** The runtime's telemetry (e.g. `observe` for `vel serve`'s run log). */
    readonly telemetry?: TelemetryOptions
  },
): Promise<Workspace> {
  const spec = storeSpecOf(invocation)
  const agents = options.agents
    ? await loadAgents(
        stringFlag(invocation.values, 'agents') ?? invocation.io.env.VEL_AGENTS ?? defaultAgentsPath,
      )
    : []
  const store = await openStore(spec, { mustExist: !options.create })
  const bus = options.bus ? await options.bus(store) : undefined
  const runtime = createRuntime({
    store,
    agents,
    ...(bus === undefined ? {} : { bus }),
    ...(options.telemetry === undefined ? {} : { telemetry: options.telemetry }),
  })
  return {
    store,
    runtime,
    agents,
    async close() {
      await runtime.shutdown()
      await store.close()
    },
  }
}

/** Runs `work` with a workspace and always closes it. */
export async function withWorkspace<T>(
  invocation: Invocation,
  options: { readonly agents: boolean; readonly create: boolean },
  work: (workspace: Workspace) => Promise<T>,
): Promise<T> {
  const workspace = await openWorkspace(invocation, options)
  try {
    return await work(workspace)
  } finally {
    await workspace.close()
  }
}
