/**
 * The benchmark's correctness checks in quick form (no timing assertions): every answer of every
 * runtime (Vel, the bare-loop floor and the peers) and store is right (the children throw otherwise), sessions keep their conversation, and
 * crash/resume in real processes never runs Vel's unsafe tool twice.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { crashAndResume, measure, type W1Result, type W2Result } from '../src/runner.ts'

const dir = mkdtempSync(join(tmpdir(), 'vel-bench-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const configs = [
  { runtime: 'vel', store: 'memory' },
  { runtime: 'vel', store: 'sqlite' },
  { runtime: 'langgraph', store: 'memory' },
  { runtime: 'langgraph', store: 'sqlite' },
  { runtime: 'bare', store: 'memory' },
  { runtime: 'ai-sdk', store: 'memory' },
  { runtime: 'openai-agents', store: 'memory' },
] as const

describe('bench (quick correctness, no timings)', () => {
  it('W1: runs of K = 20, 5 and 100 answer sum=K(K+1) on every runtime and store', async () => {
    const results = await Promise.all(
      [...configs, { runtime: 'vel', store: 'memory', variant: 'async-tool' } as const].map((config) =>
        measure<W1Result>('w1.ts', {
          ...config,
          dir,
          ks: [20, 5, 100],
          runs: 2,
          warmupSteps: 0,
          warmupMs: 0,
        }),
      ),
    )
    expect(results.at(-1)?.variant).toBe('async-tool')
    for (const result of results) {
      expect(result.checked).toBe(6)
      expect(Object.keys(result.perK).sort()).toEqual(['100', '20', '5'])
    }
  })

  it('W2: 200 sessions of K = 2, 100 at a time, all answered and still holding their conversation', async () => {
    const results = await Promise.all(
      configs.map((config) =>
        measure<W2Result>('w2.ts', { ...config, dir, sessions: 200, concurrency: 100, warmupSessions: 0 }),
      ),
    )
    for (const result of results) {
      expect(result.checked).toBe(200)
      expect(result.sessionsVerified).toBe(4)
    }
  })

  it('W2 all at once: 1,000 Vel sessions in flight together in one process all answer right', async () => {
    const result = await measure<W2Result>('w2.ts', {
      runtime: 'vel',
      store: 'memory',
      dir,
      sessions: 1_000,
      concurrency: 1_000,
      warmupSessions: 0,
    })
    expect(result.checked).toBe(1_000)
    expect(result.sessionsVerified).toBe(4)
  })

  it('W3: Vel resumes after SIGKILL at the model call and inside an unsafe tool with no duplicate', async () => {
    const [atModel, inTool] = await Promise.all([
      crashAndResume('vel', 'model', dir, 1),
      crashAndResume('vel', 'tool', dir, 2),
    ])
    expect(atModel).toMatchObject({ answer: 'sum=420', allRan: true, duplicates: 0, crashSignal: 'SIGKILL' })
    // call_10 was interrupted: the model reads an error result for it, so 20 is missing from the sum.
    expect(inTool).toMatchObject({ answer: 'sum=400', allRan: true, duplicates: 0, crashSignal: 'SIGKILL' })
  })

  it('W3: LangGraph resumes the same crashes and finishes the run', async () => {
    const [atModel, inTool] = await Promise.all([
      crashAndResume('langgraph', 'model', dir, 3),
      crashAndResume('langgraph', 'tool', dir, 4),
    ])
    expect(atModel).toMatchObject({ answer: 'sum=420', allRan: true, duplicates: 0 })
    expect(inTool).toMatchObject({ answer: 'sum=420', allRan: true })
  })
})

describe('bench W3 on the compiled build (builds dist/ first when it is stale)', () => {
  it('plain node on dist/ resumes after SIGKILL at the model call and inside an unsafe tool', async () => {
    const atModel = await crashAndResume('vel', 'model', dir, 5, 'compiled')
    const inTool = await crashAndResume('vel', 'tool', dir, 6, 'compiled')
    expect(atModel).toMatchObject({ build: 'compiled', answer: 'sum=420', allRan: true, duplicates: 0 })
    expect(inTool).toMatchObject({ build: 'compiled', answer: 'sum=400', allRan: true, duplicates: 0 })
    expect(atModel.velEntry).toMatch(/\/packages\/actors\/dist\/index\.js$/)
  }, 600_000)
})
