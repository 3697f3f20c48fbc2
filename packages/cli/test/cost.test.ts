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

describe('vel runs show: usage and cost', () => {
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
})
