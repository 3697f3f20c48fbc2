import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const bin = fileURLToPath(new URL('../bin/vel.js', import.meta.url))
const agents = fileURLToPath(new URL('./fixtures/priced-agents.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'vel-cli-cost-'))
const store = `sqlite:${join(dir, 'vel.db')}`
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Runs `vel` as a child process; one that hangs is killed after 110 s (not a speed check). */
const vel = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, timeout: 110_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })

describe('vel runs show and vel usage: usage and cost', () => {
  it("shows the run's tokens, its cost at its price and its budget", { timeout: 120_000 }, async () => {
    const started = await vel('run', 'priced', 'hello', '--agents', agents, '--store', store, '--json')
    expect(started.code).toBe(0)
    const { runId } = JSON.parse(started.stdout) as { runId: string }
    const shown = await vel('runs', 'show', runId, '--store', store)
    expect(shown.code).toBe(0)
    expect(shown.stdout).toMatch(/usage\s+1 in, 1 out/)
    expect(shown.stdout).toMatch(/cost\s+\$0\.0030 of \$1\.0000 budget/)
    const detail = JSON.parse((await vel('runs', 'show', runId, '--store', store, '--json')).stdout) as {
      usage: { costUsd: number; tree: { runs: number; costUsd: number } }
    }
    expect(detail.usage.costUsd).toBeCloseTo(0.003, 12)
    expect(detail.usage.tree).toMatchObject({ runs: 1, unpricedRuns: 0 })
  })

  it('vel usage sums tokens and cost by agent and session', { timeout: 120_000 }, async () => {
    for (const session of ['s-1', 's-1', 's-2'])
      expect(
        (await vel('run', 'priced', 'hi', '--session', session, '--agents', agents, '--store', store)).code,
      ).toBe(0)
    const usage = async (...filters: string[]) =>
      JSON.parse((await vel('usage', ...filters, '--store', store, '--json')).stdout) as {
        runs: number
        usage: { inputTokens: number }
        costUsd: number
      }
    const s1 = await usage('--session', 's-1')
    expect(s1).toMatchObject({ runs: 2, usage: { inputTokens: 2 }, unpricedRuns: 0 })
    expect(s1.costUsd).toBeCloseTo(0.006, 12)
    // The first test's run and these three.
    expect((await usage('--agent', 'priced')).runs).toBe(4)
    const text = await vel('usage', '--session', 's-2', '--store', store)
    expect(text.stdout).toMatch(/runs\s+1\n/)
    expect(text.stdout).toMatch(/cost\s+\$0\.0030/)
  })
})
