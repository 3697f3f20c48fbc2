import { createMemoryStore } from '@vel/store'
import { describe, expect, it } from 'vitest'
import { Agent, createRuntime } from '../src/index.ts'
import { scripted } from './support.ts'

const version7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const millisecondsOf = (id: string) => Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)

describe('run ids the runtime names (ADR 0124)', () => {
  it('are UUID version 7: creation time first, so they sort in the order runs were made', async () => {
    const agent = new Agent({
      id: 'ids',
      model: scripted(() => ({ text: 'ok' })),
      policies: { retry: false },
    })
    const runtime = createRuntime({ store: createMemoryStore(), agents: [agent] })
    const ids: string[] = []
    const before = Date.now()
    for (let index = 0; index < 3; index++) {
      ids.push((await runtime.spawn('ids', 'hi')).runId)
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    const after = Date.now()
    for (const id of ids) {
      expect(id).toMatch(version7)
      expect(millisecondsOf(id)).toBeGreaterThanOrEqual(before)
      expect(millisecondsOf(id)).toBeLessThanOrEqual(after)
    }
    expect([...ids].sort()).toEqual(ids)
    expect(new Set(ids).size).toBe(3)
    // A caller's own id is kept as it is.
    expect((await runtime.spawn('ids', 'hi', { runId: 'mine-1' })).runId).toBe('mine-1')
    await runtime.shutdown()
  })
})
