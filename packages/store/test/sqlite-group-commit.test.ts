import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StoreError } from '@vel/core'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { createGroupCommit } from '../src/sqlite/group-commit.ts'
import { createSqliteStore } from '../src/sqlite/index.ts'

const directory = mkdtempSync(join(tmpdir(), 'vel-store-group-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))
let files = 0
const nextFile = () => join(directory, `group-${++files}.db`)

/** A connection with one table, `items`, and a count of the transactions it committed. */
const open = () => {
  const connection = new Database(':memory:')
  connection.exec('create table items (id integer primary key, value text not null)')
  const insert = connection.prepare('insert into items (id, value) values (?, ?)')
  const rows = () => connection.prepare('select id, value from items order by id').all()
  return { connection, insert, rows }
}

describe('group commit (ADR 0123)', () => {
  it('runs the writes called in one turn in one transaction, in call order', async () => {
    const { connection, insert, rows } = open()
    const group = createGroupCommit(connection, () => undefined)
    const seen: boolean[] = []
    const write = (id: number) =>
      group.run(() => {
        seen.push(connection.inTransaction)
        insert.run(id, `v${id}`)
        return id
      })
    // A read called after them sees their writes.
    const results = await Promise.all([write(1), write(2), write(3), group.read(() => rows().length)])
    expect(results).toEqual([1, 2, 3, 3])
    expect(seen).toEqual([true, true, true])
    expect(connection.inTransaction).toBe(false)
    // Alone in its turn, a write is its own transaction, as without grouping.
    await write(4)
    expect(seen[3]).toBe(false)
    expect(rows()).toHaveLength(4)
  })

  it("undoes only a refused operation's own writes; the others commit", async () => {
    const { connection, insert, rows } = open()
    const group = createGroupCommit(connection, () => undefined)
    const twoRows = connection.transaction((id: number) => {
      insert.run(id, 'first')
      insert.run(id + 1, 'second')
      throw new StoreError('conflict', 'refused after two writes')
    })
    const outcomes = await Promise.allSettled([
      group.run(() => insert.run(1, 'a')),
      group.run(() => twoRows(10)),
      // A duplicate key: the single statement fails, SQLite undoes it alone.
      group.run(() => insert.run(1, 'again')),
      group.run(() => insert.run(2, 'b')),
    ])
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
    ])
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(StoreError)
    expect(rows()).toEqual([
      { id: 1, value: 'a' },
      { id: 2, value: 'b' },
    ])
  })

  it('fails every operation of a batch whose commit fails, and keeps none of its writes', async () => {
    const { connection, rows } = open()
    connection.pragma('foreign_keys = ON')
    connection.exec(`create table parents (id integer primary key);
      create table children (id integer primary key,
        parent integer references parents (id) deferrable initially deferred)`)
    const group = createGroupCommit(connection, () => undefined)
    const outcomes = await Promise.allSettled([
      group.run(() => connection.prepare("insert into items (id, value) values (1, 'a')").run()),
      // Deferred: the missing parent is found only at commit.
      group.run(() => connection.prepare('insert into children (id, parent) values (1, 99)').run()),
      // A read acknowledges nothing: it runs again, and sees what is kept.
      group.read(() => rows().length),
    ])
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'fulfilled'])
    expect((outcomes[2] as PromiseFulfilledResult<number>).value).toBe(0)
    expect(connection.inTransaction).toBe(false)
    expect(rows()).toEqual([])
    // The connection goes on.
    await Promise.all([
      group.run(() => connection.prepare("insert into items (id, value) values (2, 'b')").run()),
      group.run(() => connection.prepare("insert into items (id, value) values (3, 'c')").run()),
    ])
    expect(rows()).toHaveLength(2)
  })

  it('fails the writes before a lost transaction and runs the rest again', async () => {
    const { connection, insert, rows } = open()
    const group = createGroupCommit(connection, () => undefined)
    const lost = new Error('the transaction was rolled back')
    const outcomes = await Promise.allSettled([
      group.run(() => insert.run(1, 'a')),
      group.read(() => rows().length),
      group.run(() => {
        // What SQLite does on a full disk or an I/O error: the whole transaction is gone.
        connection.prepare('rollback').run()
        throw lost
      }),
      group.run(() => insert.run(3, 'c')),
    ])
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
    ])
    // The read ran again, before the write after the lost one.
    expect((outcomes[1] as PromiseFulfilledResult<number>).value).toBe(0)
    expect((outcomes[0] as PromiseRejectedResult).reason).toBe(lost)
    expect(rows()).toEqual([{ id: 3, value: 'c' }])
  })

  it('fails the batch, and hangs nothing, when its transaction cannot begin', async () => {
    const { connection, insert, rows } = open()
    const gone = new Error('the connection is not open')
    const broken = {
      prepare: (source: string) => {
        if (source === 'begin immediate') throw gone
        return connection.prepare(source)
      },
      get inTransaction() {
        return connection.inTransaction
      },
    }
    const group = createGroupCommit(broken, () => undefined)
    const outcomes = await Promise.allSettled([
      group.run(() => insert.run(1, 'a')),
      group.run(() => insert.run(2, 'b')),
    ])
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected'])
    expect((outcomes[0] as PromiseRejectedResult).reason).toBe(gone)
    await group.settled()
    expect(rows()).toEqual([])
  })

  it('waits while the connection is busy, then runs what was queued', async () => {
    const { connection, insert, rows } = open()
    let release: () => void = () => undefined
    let busy: Promise<void> | undefined = new Promise<void>((resolve) => {
      release = () => {
        busy = undefined
        resolve()
      }
    })
    const group = createGroupCommit(connection, () => busy)
    const written = Promise.all([group.run(() => insert.run(1, 'a')), group.run(() => insert.run(2, 'b'))])
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(rows()).toEqual([])
    release()
    await written
    expect(rows()).toHaveLength(2)
    await group.settled()
  })
})

describe('SQLite store with group commit', () => {
  it('commits concurrent runs together; a conflict refuses only its own append', async () => {
    const filename = nextFile()
    const store = createSqliteStore({ filename })
    await store.migrate()
    const ids = Array.from({ length: 40 }, (_, index) => `run-${index}`)
    await Promise.all(
      ids.map((runId) =>
        store.createRun({ runId, agentId: 'agent', lease: { ownerId: 'me', ttlMs: 60_000 } }),
      ),
    )
    const entry = { type: 'note', data: { text: 'x' }, at: 1 }
    const appended = await Promise.allSettled(
      ids.map((runId, index) => store.append(runId, [entry], index === 7 ? 3 : 0)),
    )
    expect(appended.filter((outcome) => outcome.status === 'rejected')).toHaveLength(1)
    const refused = appended[7] as PromiseRejectedResult
    expect(refused.reason).toMatchObject({ reason: 'conflict' })
    await store.close()
    // What was acknowledged is in the file.
    const reopened = createSqliteStore({ filename })
    for (const [index, runId] of ids.entries())
      expect(await reopened.lastSeq(runId)).toBe(index === 7 ? 0 : 1)
    await reopened.close()
  })

  it('runs writes called before a Kysely operation first (listRuns sees them)', async () => {
    const store = createSqliteStore({ filename: nextFile() })
    await store.migrate()
    const created = [
      store.createRun({ runId: 'a', agentId: 'agent' }),
      store.createRun({ runId: 'b', agentId: 'agent' }),
    ]
    const listed = store.listRuns({ agentId: 'agent' })
    await Promise.all(created)
    expect((await listed).items.map((run) => run.runId).sort()).toEqual(['a', 'b'])
    // deleteRun is a Kysely transaction: an append called before it lands first, then goes with it.
    const appended = store.append('a', [{ type: 'note', data: {}, at: 1 }], 0)
    await store.deleteRun('a')
    expect(await appended).toBe(1)
    expect(await store.getRun('a')).toBeUndefined()
    expect(await store.lastSeq('a')).toBe(0)
    await store.close()
  })
})
