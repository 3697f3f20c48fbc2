import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Message } from '@vel/core'
import { createSqliteStore } from '@vel/store/sqlite'
import { afterAll, describe, expect, it } from 'vitest'

/*
 * Issue 15: two processes running turns of one session on one SQLite file lost a turn from the
 * session and left a run with no index row. Here two real processes race their turns; a turn
 * refused with `session-busy` is queued by its caller. Afterwards every completed run's turn is in
 * the session exactly once and whole (its tool call right before its result), and every run has
 * its index row.
 */

const worker = fileURLToPath(new URL('./session-worker.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'vel-session-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const run = (options: Record<string, unknown>): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on('exit', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`worker: ${code} ${stderr}`)),
    )
  })

const textOf = (message: Message | undefined) =>
  typeof message?.content === 'string' ? message.content : JSON.stringify(message?.content)

describe('turns of one session from two processes on one SQLite file', () => {
  it('lose no turn, keep each tool call with its result, and leave every run indexed', {
    timeout: 120_000,
  }, async () => {
    const db = join(dir, 'session.db')
    const setup = createSqliteStore({ filename: db })
    await setup.migrate()
    await setup.close()
    const turns = 6
    const outputs = await Promise.all(['a', 'b'].map((name) => run({ db, name, turns })))
    const done = outputs.flatMap((output) =>
      output.split('\n').flatMap((line) => (line.startsWith('done ') ? [line.slice(5)] : [])),
    )
    expect(done).toHaveLength(2 * turns)

    const store = createSqliteStore({ filename: db })
    try {
      const runs = await store.listRuns({ sessionId: 'shared' }, { limit: 1000 })
      // Every run has its index row and ended; runs refused with session-busy were never created.
      expect(runs.items.map((record) => record.runId).sort()).toEqual([...done].sort())
      expect(new Set(runs.items.map((record) => record.status))).toEqual(new Set(['completed']))

      const session = await store.getSession('shared')
      const messages = session?.messages ?? []
      const users = messages.filter((message) => message.role === 'user').map(textOf)
      expect([...users].sort()).toEqual(
        ['a', 'b'].flatMap((name) => Array.from({ length: turns }, (_, turn) => `${name}-${turn}`)).sort(),
      )
      // Each turn whole and in order: user, tool call, its result, answer.
      expect(messages).toHaveLength(4 * 2 * turns)
      for (let index = 0; index < messages.length; index += 4) {
        const [user, call, result, answer] = messages.slice(index, index + 4)
        expect([user?.role, call?.role, result?.role, answer?.role]).toEqual([
          'user',
          'assistant',
          'tool',
          'assistant',
        ])
        expect(textOf(call)).toContain(`note-${textOf(user)}`)
        expect(textOf(result)).toContain(`noted ${textOf(user)}`)
      }
      // The turns queued: each run started from the whole session as the turns before it left it.
      const seen = new Map<string, number>()
      for (const record of runs.items) {
        const [started] = await store.read(record.runId, { limit: 1 })
        const data = started?.data as { input: Message[]; history?: Message[] } | undefined
        seen.set(textOf(data?.input[0]), data?.history?.length ?? 0)
      }
      const positions = users.map((user, index) => [user, index * 4])
      expect(positions.map(([user]) => [user, seen.get(user as string)])).toEqual(positions)
    } finally {
      await store.close()
    }
  })
})
