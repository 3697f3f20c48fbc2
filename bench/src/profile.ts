/**
 * `pnpm --filter @vel/bench profile [runtime] [store]`: runs W1 (K=20) under `node --cpu-prof` in a
 * fresh process and prints the top functions and packages by self time.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { benchDir } from './runner.ts'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}
interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const runtime = process.argv[2] ?? 'vel'
const store = process.argv[3] ?? 'memory'
const dir = mkdtempSync(join(tmpdir(), 'vel-profile-'))
try {
  const options = { runtime, store, dir, ks: [20], runs: 300, warmupSteps: 6_000, warmupMs: 3_000 }
  const child = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      '--conditions=@vel/source',
      '--cpu-prof',
      `--cpu-prof-dir=${dir}`,
      '--import',
      'tsx',
      'src/w1.ts',
      JSON.stringify(options),
    ],
    { cwd: benchDir, encoding: 'utf8' },
  )
  if (child.status !== 0) throw new Error(`w1 failed: ${child.stderr}`)
  process.stdout.write(child.stdout)
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))
  if (file === undefined) throw new Error('no .cpuprofile written')
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map<string, number>()
  const byPackage = new Map<string, number>()
  let total = 0
  profile.samples.forEach((id, index) => {
    const node = byId.get(id)
    const micros = profile.timeDeltas[index] ?? 0
    if (node === undefined) return
    total += micros
    const { functionName, url, lineNumber } = node.callFrame
    const where = url
      .replace(/^file:\/\//, '')
      .replace(/.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, '')
      .replace(/.*\/work\/main\//, '')
    const name = `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim()
    self.set(name, (self.get(name) ?? 0) + micros)
    const owner =
      /^(packages\/[^/]+|bench)\//.exec(where)?.[1] ??
      /^((?:@[^/]+\/)?[^/]+)\//.exec(where)?.[1] ??
      (url.startsWith('node:') ? 'node internals' : functionName.startsWith('(') ? functionName : 'native/V8')
    byPackage.set(owner, (byPackage.get(owner) ?? 0) + micros)
  })
  const top = (map: Map<string, number>, count: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(
        ([name, micros]) =>
          `${((100 * micros) / total).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(6)} ms  ${name}`,
      )
      .join('\n')
  process.stdout.write(
    `\nself time by package (${(total / 1000).toFixed(0)} ms sampled, ${runtime}/${store}):\n${top(byPackage, 12)}\n`,
  )
  process.stdout.write(`\ntop functions by self time:\n${top(self, 45)}\n`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
