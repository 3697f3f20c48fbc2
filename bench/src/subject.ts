/** One runtime under test behind one small interface, so each workload is written once. */
import { existsSync, statSync } from 'node:fs'
import type { RoundTrips } from './postgres.ts'
import type { StoreKind } from './vel.ts'

export type RuntimeName = 'vel' | 'langgraph' | 'bare' | 'ai-sdk' | 'openai-agents'

/** A variant of a runtime's configuration: `async-tool` makes Vel's `add` handler `async`. */
export type Variant = 'async-tool'

/** Runtimes with no store of their own: measured with in-memory sessions only. */
export const memoryOnly: ReadonlySet<RuntimeName> = new Set(['bare', 'ai-sdk', 'openai-agents'])

/** What a workload needs from a runtime. */
export interface Subject {
  /** Runs the prompt to the end in a fresh session (or thread) and returns the answer text. */
  run(prompt: string, sessionId: string): Promise<string>
  /** The session's stored conversation as `role:text` lines (tool results as their value). */
  conversation(sessionId: string): Promise<string[]>
  /** Folds the SQLite WAL into the database file so its size is meaningful; no-op otherwise. */
  checkpoint(): Promise<void>
  /** Vel on Postgres: the database created for the run (dropped by `close`). */
  readonly database?: string
  /** Vel on Postgres: round trips to the server so far (see `postgres.ts`). */
  roundTrips?(): RoundTrips
  /** Vel on Postgres: the database's size in bytes. */
  databaseBytes?(): Promise<number>
  close(): Promise<void>
}

export async function createSubject(
  runtime: RuntimeName,
  store: StoreKind,
  filename?: string,
  variant?: Variant,
): Promise<Subject> {
  if (memoryOnly.has(runtime)) {
    if (store !== 'memory') throw new Error(`${runtime} keeps sessions in memory only`)
    const peer =
      runtime === 'bare'
        ? (await import('./bare.ts')).createBare()
        : runtime === 'ai-sdk'
          ? (await import('./ai-sdk.ts')).createAiSdk()
          : (await import('./openai-agents.ts')).createOpenAiAgents()
    return { ...peer, checkpoint: async () => undefined, close: async () => undefined }
  }
  if (runtime === 'langgraph') {
    if (store === 'postgres') throw new Error('the bench runs LangGraph on memory and SQLite only')
    const { createLangGraph } = await import('./langgraph.ts')
    const lg = await createLangGraph({ store, ...(filename === undefined ? {} : { filename }) })
    return {
      run: (prompt, sessionId) => lg.run(prompt, sessionId),
      conversation: (sessionId) => lg.conversation(sessionId),
      checkpoint: async () => lg.checkpointWal(),
      close: () => lg.close(),
    }
  }
  const { createVel } = await import('./vel.ts')
  const vel = await createVel({
    store,
    ...(filename === undefined ? {} : { filename }),
    ...(variant === 'async-tool' ? { asyncTool: true } : {}),
  })
  return {
    run: async (prompt, sessionId) => String(await vel.run(prompt, sessionId)),
    conversation: async (sessionId) => {
      const session = await vel.store.getSession(sessionId)
      const roles: Record<string, string> = { user: 'human', assistant: 'ai', tool: 'tool', system: 'system' }
      return (session?.messages ?? []).map((message) => {
        const role = roles[message.role] ?? message.role
        if (typeof message.content === 'string') return `${role}:${message.content}`
        const text = message.content
          .map((part) => {
            if (part.type === 'text') return part.text
            if (part.type === 'tool-result')
              return 'output' in part ? String(part.output) : `error ${part.error}`
            return ''
          })
          .join('')
        return `${role}:${text}`
      })
    },
    checkpoint: async () => {
      if (store !== 'sqlite' || filename === undefined) return
      // A second connection folds the WAL into the main file (the store keeps its own open).
      const { default: Database } = await import('better-sqlite3')
      const connection = new Database(filename)
      connection.pragma('wal_checkpoint(TRUNCATE)')
      connection.close()
    },
    ...(vel.postgres === undefined
      ? {}
      : {
          database: vel.postgres.database,
          roundTrips: vel.postgres.roundTrips,
          databaseBytes: vel.postgres.databaseBytes,
        }),
    close: () => vel.close(),
  }
}

/** Size in bytes of a SQLite database with its WAL (0 when there is none). */
export const databaseBytes = (filename: string | undefined): number => {
  if (filename === undefined) return 0
  let total = 0
  for (const suffix of ['', '-wal']) {
    const path = `${filename}${suffix}`
    if (existsSync(path)) total += statSync(path).size
  }
  return total
}
