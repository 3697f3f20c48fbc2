import {
  type JournalEntry,
  type JournalEntryInput,
  type JsonValue,
  type Lease,
  type Message,
  type RunRecord,
  type RunStatus,
  type SessionRecord,
  type Snapshot,
  type Store,
  StoreError,
} from '@vel/core'
import { compactJson, decodeJson, encodeCompact, encodeJson } from './codec.ts'
import { decodeCursor, encodeCursor, isAfterCursor } from './cursor.ts'
import { decodeRun } from './decode-run.ts'
import { appended, createMemoryState, type MemoryState } from './memory-state.ts'
import { checkPatch, leasedElsewhere, newRunRecord, patchRunRecord } from './run-record.ts'
import {
  checkEntries,
  checkId,
  checkLease,
  checkPositive,
  checkSeq,
  filterStatuses,
  isStatus,
  pageSize,
  sessionTexts,
  turnTexts,
} from './validate.ts'

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const isSerializedError = (value: unknown): boolean =>
  isObject(value) &&
  typeof value.tag === 'string' &&
  typeof value.reason === 'string' &&
  typeof value.message === 'string'

/**
 * The record when every stored field has its shape, or undefined (`decodeStoredRun` then says what
 * is wrong). Its values are the freshly parsed ones: nobody else holds them.
 */
const wellFormed = (runId: string, raw: unknown): RunRecord | undefined => {
  if (!isObject(raw)) return undefined
  const { agentId, sessionId, parentRunId, idempotencyKey, createdAt, updatedAt } = raw
  const { status, pending, answer, error, metadata } = raw
  if (
    typeof agentId !== 'string' ||
    (sessionId !== null && typeof sessionId !== 'string') ||
    (parentRunId !== null && typeof parentRunId !== 'string') ||
    (idempotencyKey !== null && typeof idempotencyKey !== 'string') ||
    typeof createdAt !== 'number' ||
    typeof updatedAt !== 'number' ||
    !isStatus(status) ||
    !Array.isArray(pending) ||
    answer === undefined ||
    (error !== null && !isSerializedError(error)) ||
    !isObject(metadata)
  )
    return undefined
  return {
    runId,
    agentId,
    sessionId,
    parentRunId,
    idempotencyKey,
    createdAt,
    updatedAt,
    status,
    pending: pending as JsonValue[],
    answer: answer as JsonValue,
    error: error as RunRecord['error'],
    metadata: metadata as RunRecord['metadata'],
  } as RunRecord
}

/** A stored run (JSON text of the record) as a record; one that does not decode is `corrupted`. */
const decodeStoredRun = (runId: string, text: string): { run: RunRecord; storedStatus: unknown } => {
  // The usual case: the text (compact, as the store writes it, or plain JSON) parses to a record
  // of the right shape, taken as it is. Compact text is never valid JSON: a bare `JSON.parse`
  // first would throw (and build an error) on every stored row.
  try {
    const run = wellFormed(runId, decodeJson<unknown>(text, `run ${runId}`))
    if (run !== undefined) return { run, storedStatus: run.status }
  } catch {
    // Unparsable: the general path below names the problem.
  }
  let raw: Record<string, unknown> = {}
  let failure: unknown
  try {
    const parsed = decodeJson<unknown>(text, `run ${runId}`)
    if (isObject(parsed)) raw = parsed
    else failure = new StoreError('corrupted', `run ${runId}: stored record is not an object`)
  } catch (error) {
    failure = error
  }
  const field = (name: string) => () => {
    if (failure !== undefined) throw failure
    return raw[name]
  }
  const stringField = (name: string): string | null =>
    typeof raw[name] === 'string' ? (raw[name] as string) : null
  const time = (name: string): number => (typeof raw[name] === 'number' ? (raw[name] as number) : 0)
  const run = decodeRun(
    {
      runId,
      agentId: stringField('agentId') ?? '',
      sessionId: stringField('sessionId'),
      parentRunId: stringField('parentRunId'),
      idempotencyKey: stringField('idempotencyKey'),
      createdAt: time('createdAt'),
      updatedAt: time('updatedAt'),
    },
    {
      status: raw.status,
      pending: field('pending'),
      answer: field('answer'),
      error: field('error'),
      metadata: field('metadata'),
    },
  )
  return { run, storedStatus: raw.status }
}

/** Options of `createMemoryStore`. */
export interface MemoryStoreOptions {
  /** The data to use; share one state between instances to model several connections. */
  readonly state?: MemoryState
  /** The clock for timestamps and lease expiry (epoch ms); defaults to `Date.now`. */
  readonly now?: () => number
}

/**
 * A `Store` in memory, for tests and single-process use. Values are kept as text (journal data,
 * session messages and run records as compact text, snapshots as JSON), so a caller can never
 * mutate stored data, and an append serializes only the appended entries.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const data = options.state ?? createMemoryState()
  const now = options.now ?? Date.now
  let closed = false

  // Every method is synchronous inside, so each one is atomic with respect to the others.
  const op =
    <A extends unknown[], R>(body: (...args: A) => R) =>
    async (...args: A): Promise<Awaited<R>> => {
      if (closed) throw new StoreError('closed', 'the store is closed')
      return body(...args) as Awaited<R>
    }

  const head = (runId: string): number => {
    const journal = data.journals.get(runId)
    return journal === undefined || journal.data.length === 0 ? 0 : journal.first + journal.data.length - 1
  }

  const getRun = (runId: string): RunRecord | undefined => {
    const text = data.runs.get(runId)
    return text === undefined ? undefined : decodeStoredRun(runId, text).run
  }

  /** A run of the session whose stored status is `running` or `waiting`, if any. */
  const unfinishedRunOf = (sessionId: string): string | undefined => {
    for (const runId of data.sessionRuns.get(sessionId) ?? []) {
      const text = data.runs.get(runId)
      if (text === undefined) continue
      const { storedStatus } = decodeStoredRun(runId, text)
      if (storedStatus === 'running' || storedStatus === 'waiting') return runId
    }
    return undefined
  }

  const liveLease = (runId: string): Lease | undefined => {
    const lease = data.leases.get(runId)
    if (lease === undefined || lease.ownerId === null || lease.expiresAt <= now()) return undefined
    return { runId, ownerId: lease.ownerId, epoch: lease.epoch, expiresAt: lease.expiresAt }
  }

  /**
   * `acquireLease`'s rule, not yet stored: a free, released or expired lease is taken (next epoch),
   * our own renewed (same epoch), another owner's live lease left alone (undefined).
   */
  const nextLease = (runId: string, ownerId: string, ttlMs: number): Lease | undefined => {
    checkLease(runId, ownerId, ttlMs)
    const time = now()
    const current = data.leases.get(runId)
    if (current !== undefined && current.ownerId !== null && current.ownerId !== ownerId) {
      if (current.expiresAt > time) return undefined
    }
    const epoch = current === undefined ? 1 : current.ownerId === ownerId ? current.epoch : current.epoch + 1
    return { runId, ownerId, epoch, expiresAt: time + ttlMs }
  }

  /** Entries' data as stored (compact) text; encode all before writing any. */
  const entryTexts = (entries: ReadonlyArray<JournalEntryInput>): string[] =>
    entries.map((entry, index) => encodeCompact(entry.data, `entry ${index}`))

  /** Journals encoded entries after seq `last` (the run's head). */
  const journalEntries = (
    runId: string,
    last: number,
    entries: ReadonlyArray<JournalEntryInput>,
    texts: ReadonlyArray<string>,
    time: number,
  ): void => {
    if (texts.length === 0) return
    let journal = data.journals.get(runId)
    if (journal === undefined) {
      journal = { first: last + 1, types: [], ats: [], data: [] }
      data.journals.set(runId, journal)
    }
    // Grown in place while the run steps (`settle` trims the columns once it stops).
    for (let index = 0; index < texts.length; index++) {
      const entry = entries[index] as JournalEntryInput
      journal.types.push(entry.type)
      journal.ats.push(entry.at ?? time)
      journal.data.push(texts[index] as string)
    }
  }

  const storeLease = (lease: Lease | undefined): Lease | undefined => {
    if (lease !== undefined)
      data.leases.set(lease.runId, { ownerId: lease.ownerId, epoch: lease.epoch, expiresAt: lease.expiresAt })
    return lease
  }

  /**
   * A run that stopped stepping (it finished, or parks waiting): its journal columns become
   * exact-size copies (a column grown by `push` keeps room for more) and its snapshot compact text.
   * While it steps, its latest snapshot stays JSON: one replaced every few events is never compacted.
   */
  const settle = (runId: string): void => {
    const journal = data.journals.get(runId)
    if (journal !== undefined) {
      journal.types = journal.types.slice()
      journal.ats = journal.ats.slice()
      journal.data = journal.data.slice()
    }
    const snapshot = data.snapshots.get(runId)
    // JSON text of an object starts with `{`; compact text of a run state with a token.
    if (snapshot !== undefined && snapshot.state.charCodeAt(0) === 0x7b)
      snapshot.state = compactJson(snapshot.state)
  }

  const writeSession = (
    sessionId: string,
    messages: ReadonlyArray<Message>,
    expectedVersion: number | undefined,
    replace: boolean,
    runId?: string,
  ): number => {
    const texts = sessionTexts(sessionId, messages, expectedVersion, runId, encodeCompact)
    return storeSession(sessionId, texts, expectedVersion, replace, runId)
  }

  /** Writes checked and encoded session messages (`sessionTexts`); only a version check throws. */
  const storeSession = (
    sessionId: string,
    texts: string[],
    expectedVersion: number | undefined,
    replace: boolean,
    runId: string | undefined,
  ): number => {
    const session = data.sessions.get(sessionId) ?? {
      version: 0,
      updatedAt: 0,
      messages: [],
      turns: [],
    }
    // A run's turn lands at most once: a repeat changes nothing, whatever version it expected.
    if (runId !== undefined && session.turns.includes(runId)) return session.version
    if (expectedVersion !== undefined && session.version !== expectedVersion)
      throw new StoreError(
        'conflict',
        `session ${sessionId} is at version ${session.version}, not ${expectedVersion}`,
      )
    session.messages = appended(replace ? [] : session.messages, texts)
    if (runId !== undefined) session.turns = appended(session.turns, [runId])
    session.version += 1
    session.updatedAt = now()
    data.sessions.set(sessionId, session)
    return session.version
  }

  return {
    features: { sessionTurn: true },
    migrate: op(() => undefined),
    close: async () => {
      closed = true
    },

    append: op((runId, entries, expectedSeq, appendOptions) => {
      checkId('runId', runId)
      checkSeq('expectedSeq', expectedSeq)
      checkEntries(entries)
      const snapshot = appendOptions?.snapshot
      if (snapshot !== undefined) checkSeq('snapshot.schemaVersion', snapshot.schemaVersion)
      const snapshotText = snapshot === undefined ? undefined : encodeJson(snapshot.state, 'snapshot state')
      const lease = appendOptions?.lease
      const patch = appendOptions?.run === undefined ? undefined : checkPatch(appendOptions.run)
      const turn = appendOptions?.session
      const turnMessages = turn === undefined ? undefined : turnTexts(turn, runId, encodeCompact)
      if (lease !== undefined) {
        const current = data.leases.get(runId)
        if (current?.ownerId !== lease.ownerId || current.epoch !== lease.epoch)
          throw new StoreError('fenced', `run ${runId}: lease ${lease.ownerId}@${lease.epoch} is not current`)
      }
      const last = head(runId)
      if (last !== expectedSeq)
        throw new StoreError('conflict', `run ${runId}: journal is at seq ${last}, not ${expectedSeq}`)
      const time = now()
      // The patched row is encoded before anything is written: all or nothing.
      let patchedRun: RunRecord | undefined
      let patchedText: string | undefined
      if (patch !== undefined) {
        const run = getRun(runId)
        if (run === undefined) throw new StoreError('not-found', `run ${runId} not found`)
        patchedRun = patchRunRecord(run, patch, time)
        patchedText = encodeCompact(patchedRun, 'run')
      }
      // Serialize everything first: a bad entry must leave the journal untouched.
      const texts = entryTexts(entries)
      journalEntries(runId, last, entries, texts, time)
      const seq = last + texts.length
      // The snapshot sits at the new head, so no stored snapshot can be newer.
      if (snapshot !== undefined && snapshotText !== undefined)
        data.snapshots.set(runId, {
          seq,
          state: snapshotText,
          schemaVersion: snapshot.schemaVersion,
          at: time,
        })
      if (patchedRun !== undefined && patchedText !== undefined) {
        data.runs.set(runId, patchedText)
        // As `updateRun`: a run that stops running is settled (ADR 0105).
        if (patchedRun.status !== 'running') settle(runId)
      }
      // No version to check: the turn cannot be refused once the entries are in.
      if (turn !== undefined && turnMessages !== undefined)
        storeSession(turn.sessionId, turnMessages, undefined, false, runId)
      return seq
    }),

    read: op((runId, readOptions = {}) => {
      checkId('runId', runId)
      const afterSeq = checkSeq('afterSeq', readOptions.afterSeq ?? 0)
      const limit = readOptions.limit === undefined ? Infinity : checkPositive('limit', readOptions.limit)
      const journal = data.journals.get(runId)
      if (journal === undefined) return []
      // Seqs are gap-free, so the first entry after `afterSeq` is found by arithmetic.
      const start = Math.max(0, afterSeq - journal.first + 1)
      const end = Math.min(journal.data.length, start + limit)
      const result: JournalEntry[] = []
      for (let index = start; index < end; index++) {
        const seq = journal.first + index
        result.push({
          runId,
          seq,
          type: journal.types[index] as string,
          at: journal.ats[index] as number,
          data: decodeJson(journal.data[index], `journal entry ${runId}#${seq}`),
        })
      }
      return result
    }),

    lastSeq: op((runId) => head(checkId('runId', runId))),

    putSnapshot: op((runId, seq, state, schemaVersion) => {
      checkId('runId', runId)
      checkSeq('seq', seq)
      checkSeq('schemaVersion', schemaVersion)
      const text = encodeJson(state, 'snapshot state')
      if (seq > head(runId))
        throw new StoreError('invalid-argument', `run ${runId}: snapshot seq ${seq} is past the journal`)
      const current = data.snapshots.get(runId)
      if (current !== undefined && current.seq > seq) return
      data.snapshots.set(runId, { seq, state: text, schemaVersion, at: now() })
    }),

    getSnapshot: op((runId): Snapshot | undefined => {
      const snapshot = data.snapshots.get(checkId('runId', runId))
      if (snapshot === undefined) return undefined
      const state = decodeJson<JsonValue>(snapshot.state, `snapshot ${runId}#${snapshot.seq}`)
      return { runId, seq: snapshot.seq, state, schemaVersion: snapshot.schemaVersion, at: snapshot.at }
    }),

    pruneJournal: op((runId, throughSeq) => {
      checkId('runId', runId)
      checkSeq('throughSeq', throughSeq)
      const snapshot = data.snapshots.get(runId)
      const journal = data.journals.get(runId)
      if (snapshot === undefined || journal === undefined || journal.data.length === 0) return 0
      // The head entry stays, so seq numbering survives pruning.
      const limit = Math.min(throughSeq, snapshot.seq, head(runId) - 1)
      const count = Math.max(0, limit - journal.first + 1)
      journal.types.splice(0, count)
      journal.ats.splice(0, count)
      journal.data.splice(0, count)
      journal.first += count
      return count
    }),

    createRun: op((run) => {
      const record = newRunRecord(run, now())
      const keyId =
        record.idempotencyKey === null ? undefined : `${record.agentId}\u0000${record.idempotencyKey}`
      if (data.runs.has(record.runId)) throw new StoreError('conflict', `run ${record.runId} exists`)
      if (keyId !== undefined && data.idempotencyKeys.has(keyId))
        throw new StoreError('conflict', `agent ${record.agentId} has a run with that idempotency key`)
      if (run.claimSession === true && record.sessionId !== null) {
        const holder = unfinishedRunOf(record.sessionId)
        if (holder !== undefined)
          throw new StoreError('busy', `session ${record.sessionId} has an unfinished run (${holder})`)
        const version = data.sessions.get(record.sessionId)?.version ?? 0
        if (run.sessionVersion !== undefined && version !== run.sessionVersion)
          throw new StoreError(
            'busy',
            `session ${record.sessionId} is at version ${version}, not ${run.sessionVersion}`,
          )
      }
      // Checked before anything is written, taken after: one synchronous write, all or nothing.
      const wanted = run.lease
      const lease = wanted === undefined ? undefined : nextLease(record.runId, wanted.ownerId, wanted.ttlMs)
      if (wanted !== undefined && lease === undefined) throw leasedElsewhere(record.runId)
      const entries = run.entries
      let texts: string[] | undefined
      if (entries !== undefined) {
        checkEntries(entries)
        if (head(record.runId) !== 0)
          throw new StoreError('conflict', `run ${record.runId}: journal is not empty`)
        texts = entryTexts(entries)
      }
      data.runs.set(record.runId, encodeCompact(record, 'run'))
      if (keyId !== undefined) data.idempotencyKeys.set(keyId, record.runId)
      if (record.sessionId !== null) {
        const runs = data.sessionRuns.get(record.sessionId)
        data.sessionRuns.set(record.sessionId, appended(runs ?? [], [record.runId]))
      }
      if (entries !== undefined && texts !== undefined)
        journalEntries(record.runId, 0, entries, texts, record.createdAt)
      storeLease(lease)
      if (lease === undefined && texts === undefined) return record
      return {
        ...record,
        ...(lease === undefined ? {} : { lease }),
        ...(texts === undefined ? {} : { seq: texts.length }),
      }
    }),

    getRun: op((runId) => getRun(checkId('runId', runId))),

    findRunByIdempotencyKey: op((agentId, idempotencyKey) => {
      const runId = data.idempotencyKeys.get(
        `${checkId('agentId', agentId)}\u0000${checkId('idempotencyKey', idempotencyKey)}`,
      )
      return runId === undefined ? undefined : getRun(runId)
    }),

    updateRun: op((runId, patch) => {
      const run = getRun(checkId('runId', runId))
      if (run === undefined) throw new StoreError('not-found', `run ${runId} not found`)
      const updated = patchRunRecord(run, checkPatch(patch), now())
      data.runs.set(runId, encodeCompact(updated, 'run'))
      if (updated.status !== 'running') settle(runId)
      return updated
    }),

    listRuns: op((filter = {}, page = {}) => {
      const statuses = filterStatuses(filter)
      const limit = pageSize(page.limit)
      const cursor = page.cursor === undefined ? undefined : decodeCursor(page.cursor)
      const matches: RunRecord[] = []
      // A session's runs come from their index, not from decoding every run.
      const ids =
        filter.sessionId === undefined ? data.runs.keys() : (data.sessionRuns.get(filter.sessionId) ?? [])
      for (const runId of ids) {
        const text = data.runs.get(runId)
        if (text === undefined) continue
        // Filters match the stored status, as an index would; a corrupted row still lists.
        const { run, storedStatus } = decodeStoredRun(runId, text)
        if (statuses !== undefined && !statuses.includes(storedStatus as RunStatus)) continue
        if (filter.agentId !== undefined && run.agentId !== filter.agentId) continue
        if (filter.sessionId !== undefined && run.sessionId !== filter.sessionId) continue
        if (filter.parentRunId !== undefined && run.parentRunId !== filter.parentRunId) continue
        if (cursor !== undefined && !isAfterCursor(run, cursor)) continue
        matches.push(run)
      }
      matches.sort(
        (a, b) => b.createdAt - a.createdAt || (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0),
      )
      const items = matches.slice(0, limit)
      const last = items[items.length - 1]
      return matches.length > limit && last !== undefined
        ? { items, nextCursor: encodeCursor(last) }
        : { items }
    }),

    deleteRun: op((runId) => {
      const run = getRun(checkId('runId', runId))
      if (run?.idempotencyKey != null)
        data.idempotencyKeys.delete(`${run.agentId}\u0000${run.idempotencyKey}`)
      const sessionRuns = run?.sessionId == null ? undefined : data.sessionRuns.get(run.sessionId)
      const index = sessionRuns?.indexOf(runId) ?? -1
      if (index >= 0) sessionRuns?.splice(index, 1)
      data.runs.delete(runId)
      data.journals.delete(runId)
      data.snapshots.delete(runId)
      data.leases.delete(runId)
    }),

    acquireLease: op((runId, ownerId, ttlMs) => storeLease(nextLease(runId, ownerId, ttlMs))),

    renewLease: op((lease, ttlMs) => {
      checkPositive('ttlMs', ttlMs)
      const current = data.leases.get(checkId('runId', lease.runId))
      if (current?.ownerId !== lease.ownerId || current.epoch !== lease.epoch) return undefined
      const renewed = { ownerId: lease.ownerId, epoch: lease.epoch, expiresAt: now() + ttlMs }
      data.leases.set(lease.runId, renewed)
      return { runId: lease.runId, ...renewed }
    }),

    releaseLease: op((lease) => {
      const current = data.leases.get(checkId('runId', lease.runId))
      if (current?.ownerId !== lease.ownerId || current.epoch !== lease.epoch) return
      data.leases.set(lease.runId, { ownerId: null, epoch: current.epoch, expiresAt: 0 })
    }),

    getLease: op((runId) => liveLease(checkId('runId', runId))),

    getSession: op((sessionId): SessionRecord | undefined => {
      const session = data.sessions.get(checkId('sessionId', sessionId))
      if (session === undefined) return undefined
      const messages = session.messages.map((text, index) =>
        decodeJson<Message>(text, `session ${sessionId} message #${index}`),
      )
      return { sessionId, messages, version: session.version, updatedAt: session.updatedAt }
    }),

    appendSession: op((sessionId, messages, expectedVersion, appendOptions) =>
      writeSession(sessionId, messages, expectedVersion, false, appendOptions?.runId),
    ),
    replaceSession: op((sessionId, messages, expectedVersion) =>
      writeSession(sessionId, messages, checkSeq('expectedVersion', expectedVersion), true),
    ),
    deleteSession: op((sessionId) => {
      data.sessions.delete(checkId('sessionId', sessionId))
    }),
  }
}
