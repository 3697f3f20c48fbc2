/**
 * W3 (b), crash and resume (one process of two). Mode `crash`: runs K = 20 against a SQLite file
 * and kills itself with SIGKILL when the model is called for step 11 (`at: "model"`) or inside
 * tool 10 right after its side effect (`at: "tool"`). Mode `resume`: a fresh process continues the
 * same run without resending the input and reports its timings. The tool appends one line per
 * invocation to a log file; the parent counts duplicates. Runs through tsx on the sources, or, compiled
 * by `compiled.ts` into `bench/dist/`, with plain node on the packages' `dist/`.
 */
const entryMs = performance.now()

import { appendFileSync } from 'node:fs'
import { promptFor } from './script.ts'
import { childOptions, printResult } from './stats.ts'
import type { RuntimeName } from './subject.ts'

interface CrashOptions {
  runtime: RuntimeName
  mode: 'crash' | 'resume'
  at: 'model' | 'tool'
  db: string
  log: string
  runId: string
  leaseTtlMs: number
}

const K = 20
const options = childOptions<CrashOptions>()
const crashing = options.mode === 'crash'
const die = (): Promise<never> => {
  process.kill(process.pid, 'SIGKILL')
  return new Promise<never>(() => undefined)
}
let firstStepMs: number | undefined
let firstStepCpuMs: number | undefined
let firstModelCallMs: number | undefined
const onTool = async ({ a, b }: { a: number; b: number }) => {
  if (firstStepMs === undefined) {
    firstStepMs = performance.now()
    const cpu = process.cpuUsage()
    firstStepCpuMs = (cpu.user + cpu.system) / 1000
  }
  appendFileSync(options.log, `add(${a},${b})\n`)
  if (crashing && options.at === 'tool' && a === 10) await die()
}
const onModelCall = async (results: number) => {
  firstModelCallMs ??= performance.now()
  if (crashing && options.at === 'model' && results === 10) await die()
}

let answer: string
const loadStartMs = performance.now()
let loadedMs: number
let readyMs: number
if (options.runtime === 'vel') {
  const { createVel } = await import('./vel.ts')
  loadedMs = performance.now()
  const vel = await createVel({
    store: 'sqlite',
    filename: options.db,
    sideEffects: 'unsafe',
    onTool,
    onModelCall,
    leaseTtlMs: options.leaseTtlMs,
  })
  readyMs = performance.now()
  if (crashing) {
    const handle = await vel.runtime.spawn('adder', promptFor(K), { runId: options.runId, stream: false })
    answer = String(await handle.result)
  } else {
    const handle = vel.runtime.handle(options.runId)
    const resumed = await vel.runtime.recover()
    if (!resumed.includes(options.runId)) throw new Error(`run not recovered: ${JSON.stringify(resumed)}`)
    answer = String(await handle.result)
  }
  await vel.close()
} else {
  const { createLangGraph } = await import('./langgraph.ts')
  loadedMs = performance.now()
  // Checkpoints written before the next step starts: step 10 is persisted when step 11's model call begins.
  const lg = await createLangGraph({
    store: 'sqlite',
    filename: options.db,
    onTool,
    onModelCall,
    durability: 'sync',
  })
  readyMs = performance.now()
  answer = crashing ? await lg.run(promptFor(K), options.runId) : await lg.resume(options.runId)
  await lg.close()
}
if (crashing) throw new Error(`the crashing process finished instead of crashing (answer ${answer})`)
printResult({
  answer,
  entryMs,
  moduleLoadMs: loadedMs - loadStartMs,
  openMs: readyMs - loadedMs,
  firstModelCallMs,
  firstStepMs,
  firstStepCpuMs,
  ...(options.runtime === 'vel' ? { velEntry: import.meta.resolve('@vel/actors') } : {}),
})
