/**
 * The offline demo (`pnpm demo`): a streamed answer, tool calls, an approval at the prompt, then a
 * worker process killed mid-run and the run resumed from the store in this process.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline/promises'
import { fileURLToPath } from 'node:url'
import { createInProcessBus, createRuntime, type RunHandle } from '@vel/actors'
import type { StreamPart } from '@vel/core'
import { createSqliteStore } from '@vel/store/sqlite'
import { chooseModel, travelAgent } from './agent.ts'

const tty = process.stdout.isTTY === true
const color = (code: number) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text)
const bold = color(1)
const dim = color(2)
const green = color(32)
const yellow = color(33)
const cyan = color(36)
const red = color(31)

/** A spinner while work runs (a plain progress line when stdout is not a terminal). */
function spinner(label: string) {
  if (!tty) {
    process.stdout.write(dim(`  … ${label}\n`))
    return { stop: () => undefined }
  }
  const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏'
  let index = 0
  const timer = setInterval(
    () => process.stdout.write(`\r  ${cyan(frames[index++ % frames.length] ?? '')} ${dim(label)}`),
    80,
  )
  return {
    stop: () => {
      clearInterval(timer)
      process.stdout.write('\r\x1b[2K')
    },
  }
}

async function askApproval(toolName: string, input: unknown): Promise<boolean> {
  const question = `  ${yellow('?')} Approve ${bold(toolName)} ${dim(JSON.stringify(input))}? [y/N] `
  if (!process.stdin.isTTY) {
    process.stdout.write(`${question}${dim('y (auto-approved: stdin is not a terminal)')}\n`)
    return true
  }
  const prompt = createInterface({ input: process.stdin, output: process.stdout })
  const answer = await prompt.question(question)
  prompt.close()
  return answer.trim().toLowerCase().startsWith('y')
}

/** Prints a run's stream as a transcript; answers approvals at the prompt. */
async function show(handle: RunHandle, agentName: string): Promise<void> {
  const inputs = new Map<string, { toolName: string; input: unknown }>()
  let wait = spinner('thinking…')
  let speaking = false
  for await (const part of handle.parts() as AsyncIterable<StreamPart>) {
    switch (part.type) {
      case 'text-start':
        wait.stop()
        process.stdout.write(`  ${green(agentName)} › `)
        speaking = true
        break
      case 'text-delta':
        process.stdout.write(part.delta)
        break
      case 'text-end':
        process.stdout.write('\n')
        speaking = false
        break
      case 'tool-input-available':
        wait.stop()
        inputs.set(part.toolCallId, { toolName: part.toolName, input: part.input })
        process.stdout.write(`  ${cyan('⚙')} ${bold(part.toolName)} ${dim(JSON.stringify(part.input))}\n`)
        wait = spinner(`running ${part.toolName}…`)
        break
      case 'tool-approval-request': {
        wait.stop()
        const call = inputs.get(part.toolCallId)
        const approved = await askApproval(call?.toolName ?? part.toolCallId, call?.input)
        if (approved) await handle.approve(part.toolCallId, { by: 'demo-user' })
        else await handle.deny(part.toolCallId, { by: 'demo-user', reason: 'the user said no' })
        wait = spinner(approved ? 'approved; running…' : 'denied; thinking…')
        break
      }
      case 'tool-output-available':
        wait.stop()
        process.stdout.write(`    ${green('→')} ${dim(JSON.stringify(part.output))}\n`)
        wait = spinner('thinking…')
        break
      case 'tool-output-error':
      case 'tool-output-denied':
        wait.stop()
        process.stdout.write(
          `    ${red('✗')} ${dim(part.type === 'tool-output-error' ? part.errorText : 'denied')}\n`,
        )
        wait = spinner('thinking…')
        break
      case 'error':
        wait.stop()
        process.stdout.write(`  ${red('error')} ${part.errorText}\n`)
        break
      case 'finish':
        wait.stop()
        break
      default:
        break
    }
  }
  wait.stop()
  if (speaking) process.stdout.write('\n')
}

const dir = mkdtempSync(join(tmpdir(), 'vel-demo-'))
const filename = join(dir, 'vel.db')
const request = 'Book me two nights in Lisbon if the weather is good.'

try {
  console.log(`${bold('Vel demo')}  ${dim(`model: ${chooseModel().label}`)}`)
  console.log(dim(`store: SQLite at ${filename}\n`))

  const store = createSqliteStore({ filename })
  await store.migrate()
  const agent = travelAgent()
  const runtime = createRuntime({ store, bus: createInProcessBus(), agents: [agent], leaseTtlMs: 500 })

  console.log(bold('1. A run: streaming, tool calls, an approval'))
  console.log(`  ${cyan('you')} › ${request}`)
  const started = Date.now()
  const first = await agent.start(request, { sessionId: 'demo' })
  await show(first, 'travel')
  await first.result.catch(() => undefined)
  const journal = await runtime.journal(first.runId)
  console.log(
    dim(
      `  run ${first.runId.slice(0, 8)} ${(await runtime.get(first.runId)).state.phase} in ${Date.now() - started} ms; ${journal.length} events journaled: ${[...new Set(journal.map((entry) => entry.type))].join(', ')}\n`,
    ),
  )

  console.log(bold('2. A crash, and the resume'))
  const runId = `crash-${Date.now().toString(36)}`
  const worker = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(new URL('./worker.ts', import.meta.url)), filename, runId],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  console.log(`  A worker process (pid ${worker.pid}) starts the same request as run ${runId}.`)
  await new Promise<void>((resolve, reject) => {
    let output = ''
    worker.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('WEATHER-DONE')) resolve()
    })
    worker.on('exit', (code) => reject(new Error(`the worker exited early (${code})`)))
  })
  worker.kill('SIGKILL')
  await new Promise((resolve) => worker.once('exit', resolve))
  console.log(
    `  ${red('✗')} Killed it with SIGKILL after get_weather returned, while the model was streaming its next step.`,
  )
  const before = await runtime.journal(runId)
  const snapshot = await store.getSnapshot(runId)
  console.log(
    dim(`  The journal holds ${before.length} events: ${before.map((entry) => entry.type).join(' → ')}`),
  )
  console.log(
    dim(
      `  The latest snapshot covers events 1..${snapshot?.seq ?? 0}; the ${before.length - (snapshot?.seq ?? 0)} after it are replayed through the reducer.`,
    ),
  )
  await new Promise((resolve) => setTimeout(resolve, 600)) // the dead worker's lease expires
  const wait = spinner('recovering…')
  const handle = runtime.handle(runId)
  const resumed = await runtime.recover()
  wait.stop()
  console.log(
    `  ${green('✓')} recover() took over ${resumed.length} run(s); the weather is not fetched again, the model call is redone:`,
  )
  await show(handle, 'travel')
  const answer = await handle.result.catch((error: Error) => `(failed: ${error.message})`)
  const events = await runtime.journal(runId)
  const weatherCalls = events.filter(
    (entry) =>
      entry.type === 'tool.succeeded' && (entry.data as { toolCallId: string }).toolCallId === 'call_weather',
  )
  console.log(dim(`  answer: ${JSON.stringify(answer)}`))
  console.log(
    dim(
      `  get_weather has ${weatherCalls.length} journaled result(s): it was not run again after the crash; ${events.length} events journaled.\n`,
    ),
  )
  console.log(
    `${bold('Done.')} Next: ${cyan('pnpm test')}, the examples in ${cyan('examples/')}, the docs in ${cyan('docs/')}.`,
  )
  await runtime.shutdown()
  await store.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
