import { defineTool, type Store } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { describe, expect, it } from 'vitest'
import { Agent, createRuntime } from '../src/index.ts'
import { gate, until } from './run-support.ts'
import { scripted } from './support.ts'

/**
 * A downstream system that fences writers by token (issue 15, "a stale owner"): it remembers the
 * highest token it has seen and refuses a write that carries a smaller one.
 */
class Ledger {
  highest = 0
  readonly accepted: Array<{ token: number; amount: number }> = []
  readonly refused: number[] = []
  write(token: number, amount: number): void {
    if (token < this.highest) {
      this.refused.push(token)
      throw new Error(`stale token ${token} (the ledger has seen ${this.highest})`)
    }
    this.highest = token
    this.accepted.push({ token, amount })
  }
}

describe('a stale owner', () => {
  it('is fenced: its tool sees the lease loss on its signal, and its late write is refused by token', async () => {
    const data = createMemoryStore()
    const ledger = new Ledger()
    const stalled = gate()
    const signals: AbortSignal[] = []
    let calls = 0
    const tool = defineTool({
      name: 'book',
      description: 'Books into the ledger.',
      input: { type: 'object' },
      sideEffects: 'idempotent',
      handler: async (_input, context) => {
        calls += 1
        signals.push(context.signal)
        // The first owner stalls inside the tool (as if paused by SIGSTOP) past its lease.
        if (calls === 1) await stalled.promise
        ledger.write(context.fencingToken ?? 0, 10)
        return 'booked'
      },
    })
    const agent = () =>
      new Agent({
        id: 'booker',
        model: scripted((request) =>
          request.messages.at(-1)?.role === 'tool'
            ? { text: 'done' }
            : { toolCalls: [{ id: 'b1', name: 'book', input: {} }] },
        ),
        tools: [tool],
        policies: { retry: false },
      })
    // The first owner's lease renewals stall with it.
    let frozen = false
    const stallingStore = new Proxy(data, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown
        if (property === 'renewLease')
          return async (...args: Parameters<Store['renewLease']>) => {
            while (frozen) await new Promise((resolve) => setTimeout(resolve, 5))
            return target.renewLease(...args)
          }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
      },
    })
    const first = createRuntime({
      store: stallingStore,
      agents: [agent()],
      leaseTtlMs: 60,
      onError: () => undefined,
    })
    const handle = await first.spawn('booker', 'book it')
    await until(() => calls === 1)
    frozen = true
    await new Promise((resolve) => setTimeout(resolve, 120))
    // Another worker takes the run over and books it, with a larger token.
    const second = createRuntime({ store: data, agents: [agent()], leaseTtlMs: 60_000 })
    expect(await second.recover()).toEqual([handle.runId])
    expect(await second.handle(handle.runId).result).toBe('done')
    // The first owner wakes up: its renewal finds the lease lost, which aborts its tool's signal...
    frozen = false
    await until(() => signals[0]?.aborted === true)
    // ...and its late write carries the old token, which the ledger refuses.
    stalled.open()
    await until(() => ledger.refused.length === 1)
    expect(ledger.accepted).toHaveLength(1)
    expect(ledger.accepted[0]?.token).toBeGreaterThan(ledger.refused[0] ?? 0)
    expect((await data.read(handle.runId)).filter((entry) => entry.type === 'tool.succeeded')).toHaveLength(1)
    await second.shutdown()
  })
})
