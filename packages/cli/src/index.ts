/**
 * @vel/cli: the `vel` command. Serves agents exported from a TypeScript module over HTTP (and
 * NATS), runs them with the stream in the terminal, and lists, inspects, approves, answers and
 * resumes durable runs in any store. It builds on the public APIs of `@vel/actors`, `@vel/core`
 * and `@vel/store`; `@vel/http` and `@vel/nats` are imported only by `vel serve`, `@vel/mcp` only
 * by `vel mcp`. It must not import any package's internals.
 */

// the program
export { commands, main, mainHelp, version } from './cli.ts'
export {
  type Command,
  helpText,
  type Invocation,
  type Io,
  type OptionSpec,
  parseInvocation,
} from './command.ts'
// agents modules
export { defaultAgentsPath, loadAgents } from './load-agents.ts'
// stores
export { defaultStoreSpec, describeStore, openStore, parseStoreSpec, type StoreSpec } from './store-spec.ts'
export { UsageError } from './usage-error.ts'
// following runs
export { type RunSummary, type WatchOptions, watchRun } from './watch-run.ts'
