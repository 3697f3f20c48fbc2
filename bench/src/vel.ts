/**
 * Vel under the benchmark: the scripted `LanguageModel`, the `add` tool, and an agent on a runtime
 * over the memory store, the SQLite store (WAL, synchronous=NORMAL) or the Postgres store (a
 * database of its own, `postgres.ts`).
 */
import { Agent, createRuntime, type Runtime } from '@vel/actors'
import {
  defineTool,
  type LanguageModel,
  type Message,
  type ModelPart,
  type SideEffects,
  type Store,
  type ToolContext,
} from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { createSqliteStore } from '@vel/store/sqlite'
import type { BenchPostgres } from './postgres.ts'
import { addDescription, addInputSchema, decide, stepsIn } from './script.ts'

export type StoreKind = 'memory' | 'sqlite' | 'postgres'

const firstUserText = (messages: ReadonlyArray<Message>): string => {
  for (const message of messages)
    if (message.role === 'user')
      return typeof message.content === 'string'
        ? message.content
        : message.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
  return ''
}

/** Tool results in the conversation: numbers, `undefined` for error results. */
const toolResults = (messages: ReadonlyArray<Message>): Array<number | undefined> => {
  const results: Array<number | undefined> = []
  for (const message of messages)
    if (message.role === 'tool')
      for (const part of message.content) results.push('output' in part ? Number(part.output) : undefined)
  return results
}

const usage = { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedInputTokens: 0 }

/** The scripted model as a `LanguageModel`; `onCall(n)` sees each call's count of tool results. */
export function scriptedModel(onCall?: (results: number) => void | Promise<void>): LanguageModel {
  return {
    provider: 'scripted',
    modelId: 'bench-adder',
    async *stream(request): AsyncGenerator<ModelPart> {
      const results = toolResults(request.messages)
      if (onCall) await onCall(results.length)
      const decision = decide(stepsIn(firstUserText(request.messages)), results)
      if (decision.type === 'call') {
        yield {
          type: 'tool-call',
          toolCallId: decision.id,
          toolName: 'add',
          input: JSON.stringify({ a: decision.a, b: decision.b }),
        }
        yield { type: 'finish', finishReason: 'tool-calls', usage }
      } else {
        yield { type: 'text-start', id: 't' }
        yield { type: 'text-delta', id: 't', delta: decision.text }
        yield { type: 'text-end', id: 't' }
        yield { type: 'finish', finishReason: 'stop', usage }
      }
    },
  }
}

/** Options of `createVel`. */
export interface VelOptions {
  readonly store: StoreKind
  /** The SQLite file (required for `sqlite`). */
  readonly filename?: string
  readonly sideEffects?: SideEffects
  /** Runs inside the tool before it returns (the crash workload's side effect). */
  readonly onTool?: (input: { a: number; b: number }, context: ToolContext) => void | Promise<void>
  readonly onModelCall?: (results: number) => void | Promise<void>
  /** The `add` handler is `async` (it awaits a resolved promise): the W1 async-tool variant. */
  readonly asyncTool?: boolean
  readonly leaseTtlMs?: number
}

/** A runtime with one agent, `adder`, ready to run. */
export interface VelBench {
  readonly runtime: Runtime
  readonly store: Store
  readonly agent: Agent
  /** Postgres only: the store's database and its round-trip counts. */
  readonly postgres?: BenchPostgres
  run(prompt: string, sessionId: string): Promise<unknown>
  close(): Promise<void>
}

export async function createVel(options: VelOptions): Promise<VelBench> {
  const postgres =
    options.store === 'postgres' ? await (await import('./postgres.ts')).createBenchPostgres() : undefined
  const store =
    postgres?.store ??
    (options.store === 'memory'
      ? createMemoryStore()
      : createSqliteStore({ filename: options.filename ?? ':memory:', synchronous: 'NORMAL' }))
  await store.migrate()
  const onTool = options.onTool
  const add = defineTool({
    name: 'add',
    description: addDescription,
    input: addInputSchema,
    handler: onTool
      ? async (input: { a: number; b: number }, context) => {
          await onTool(input, context)
          return input.a + input.b
        }
      : options.asyncTool
        ? async (input: { a: number; b: number }) => {
            await Promise.resolve()
            return input.a + input.b
          }
        : (input: { a: number; b: number }) => input.a + input.b,
    sideEffects: options.sideEffects ?? 'none',
  })
  const agent = new Agent({
    id: 'adder',
    model: scriptedModel(options.onModelCall),
    tools: [add],
    // The scripted model never fails: no retry wrapper; maxSteps above the largest K.
    policies: { retry: false, maxSteps: 1000 },
  })
  const runtime = createRuntime({
    store,
    agents: [agent],
    ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
  })
  return {
    runtime,
    store,
    agent,
    ...(postgres === undefined ? {} : { postgres }),
    run: (prompt, sessionId) => agent.run(prompt, { sessionId }),
    close: async () => {
      await runtime.shutdown()
      await (postgres ?? store).close()
    },
  }
}
