/**
 * Approvals and questions (Factor 7). The run asks a question with contactHuman, then needs an
 * approval to send an email. In a terminal you answer both at the prompt; otherwise (or with
 * `--second-process`) a second process answers them from the same SQLite file, which shows that
 * a waiting run lives in the store, not in any process.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline/promises'
import { fileURLToPath } from 'node:url'
import { createRuntime } from '@vel/actors'
import { createSqliteStore } from '@vel/store/sqlite'
import { assistant } from './agent.ts'

const dir = mkdtempSync(join(tmpdir(), 'vel-approval-'))
const filename = join(dir, 'vel.db')
const atPrompt = process.stdin.isTTY === true && !process.argv.includes('--second-process')
const store = createSqliteStore({ filename })
await store.migrate()
const agent = assistant()
const runtime = createRuntime({ store, agents: [agent] })

const handle = await agent.start('Email the quarterly report.')
console.log(
  `run ${handle.runId} started; ${atPrompt ? 'answer at the prompt' : 'a second process will answer'}`,
)
if (atPrompt) {
  const prompt = createInterface({ input: process.stdin, output: process.stdout })
  for await (const part of handle.parts()) {
    if (part.type === 'data-vel-human-request') {
      const { requestId, question } = part.data as { requestId: string; question: string }
      await handle.respond(requestId, await prompt.question(`  ? ${question} `))
    } else if (part.type === 'tool-approval-request') {
      const yes = (await prompt.question('  ? Send the email? [y/N] ')).trim().toLowerCase().startsWith('y')
      await (yes
        ? handle.approve(part.toolCallId, { by: 'you' })
        : handle.deny(part.toolCallId, { by: 'you' }))
    } else if (part.type === 'text-delta') console.log(`  answer: ${part.delta}`)
  }
  prompt.close()
} else {
  const approver = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(new URL('./approver.ts', import.meta.url)), filename],
    { stdio: 'inherit' },
  )
  // Follow the journal (the run moves between processes; the journal is where it lives).
  for await (const entry of runtime.follow(handle.runId, { pollMs: 100 })) {
    const data = entry.data as { approved?: boolean; answer?: unknown; by?: string }
    const detail =
      entry.type === 'human.responded'
        ? ` ${JSON.stringify(data.answer)} by ${data.by}`
        : entry.type === 'approval.decided'
          ? ` approved=${data.approved} by ${data.by}`
          : ''
    console.log(`  journal ${entry.seq}: ${entry.type}${detail}`)
  }
  await new Promise((resolve) => approver.once('exit', resolve))
}
const { state } = await runtime.get(handle.runId)
console.log(`run ${state.phase}: ${JSON.stringify(state.answer)}`)
await runtime.shutdown()
await store.close()
rmSync(dir, { recursive: true, force: true })
