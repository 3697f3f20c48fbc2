import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { printed, startWorker } from '../../../test/support/child-process.ts'

interface RunSeen {
  answer: unknown
  resolved: Record<'@opentelemetry/api' | 'effect', number>
  trace?: { traceparent: string }
}

/** What `startup-worker.ts` saw, in a process of its own (nothing registered, nothing loaded). */
async function startup() {
  const worker = startWorker(fileURLToPath(new URL('./startup-worker.ts', import.meta.url)), {})
  return printed<{
    firstTime: RunSeen
    registered: boolean
    triggered: RunSeen
    retried: RunSeen
    traced: RunSeen
    spans: Array<{ name: string; events: string[] }>
  }>(await worker.output, 'STARTUP')
}

describe('what a process loads for its runs', () => {
  it('neither @opentelemetry/api nor Effect until something is registered or something is retried; both still work after', {
    timeout: 60_000,
  }, async () => {
    const seen = await startup()
    // Tools that succeed first time (synchronous and asynchronous), nothing registered: neither.
    expect(seen.firstTime.answer).toBe('done')
    expect(seen.registered).toBe(false)
    expect(seen.firstTime.resolved).toEqual({ '@opentelemetry/api': 0, effect: 0 })
    expect(seen.firstTime.trace).toBeUndefined()
    // A trigger's traceparent is carried on and journaled with nothing registered (the API loads).
    expect(seen.triggered.resolved['@opentelemetry/api']).toBeGreaterThan(0)
    expect(seen.triggered.trace).toEqual({
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    })
    expect(seen.triggered.resolved.effect).toBe(0)
    // A tool that failed once is retried: Effect loads then, and the retry succeeds.
    expect(seen.retried.answer).toBe('done')
    expect(seen.retried.resolved.effect).toBeGreaterThan(0)
    // A provider registered after the runtime was made: every span, the retry an event on its tool's.
    expect(seen.traced.answer).toBe('done')
    expect(seen.traced.trace?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    expect([...seen.spans].sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'chat startup', events: [] },
      { name: 'chat startup', events: [] },
      { name: 'execute_tool flaky', events: ['vel.retry'] },
      { name: 'invoke_agent flaky', events: [] },
    ])
  })
})
