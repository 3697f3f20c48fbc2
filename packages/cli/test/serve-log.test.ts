import { createInProcessBus, createRuntime } from '@vel/actors'
import { createMemoryStore } from '@vel/store'
import { describe, expect, it } from 'vitest'
import { createServeLog, loggingBus } from '../src/serve-log.ts'
import fixtures from './fixtures/agents.ts'

const at = () => new Date('2026-12-01T12:34:56.789Z')

describe("vel serve's log", () => {
  it('writes one human line, or one JSON line, per event', () => {
    const lines: string[] = []
    createServeLog((line) => lines.push(line), { json: false, now: at }).info('request', {
      method: 'POST',
      path: '/runs',
      status: 201,
      note: 'two words',
      absent: undefined,
    })
    createServeLog((line) => lines.push(line), { json: true, now: at }).error('run.failed', { runId: 'r1' })
    expect(lines).toEqual([
      '12:34:56.789 request method=POST path=/runs status=201 note="two words"\n',
      '{"time":"2026-12-01T12:34:56.789Z","level":"error","event":"run.failed","runId":"r1"}\n',
    ])
  })

  it("logs a run's lifecycle through a pause for approval, once per event", async () => {
    const events: Array<{ event: string; runId?: string }> = []
    const log = createServeLog((line) => events.push(JSON.parse(line)), { json: true })
    const store = createMemoryStore()
    await store.migrate()
    const runtime = createRuntime({ store, agents: fixtures, bus: loggingBus(createInProcessBus(), log) })
    try {
      const until = async (event: string) => {
        for (let attempt = 0; attempt < 500 && !events.some((e) => e.event === event); attempt++)
          await new Promise((resolve) => setTimeout(resolve, 10))
      }
      const handle = await runtime.spawn('booker', 'book Lisbon')
      await until('run.waiting')
      await runtime.approve(handle.runId, 'call_book')
      await until('run.completed')
      expect(events.map((event) => [event.event, event.runId])).toEqual([
        ['run.started', handle.runId],
        ['run.waiting', handle.runId],
        ['run.resumed', handle.runId],
        ['run.completed', handle.runId],
      ])
    } finally {
      await runtime.shutdown()
    }
  })
})
