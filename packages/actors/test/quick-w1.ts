import type { Message } from '@vel/core'
import { createMemoryStore } from '@vel/store'
import { Agent, createRuntime } from '../src/index.ts'
import { addTool, scripted, stepsOf } from './support.ts'

const model = scripted((request) => {
  const results = request.messages.flatMap((message: Message) =>
    message.role === 'tool'
      ? message.content.map((part) => ('output' in part ? Number(part.output) : 0))
      : [],
  )
  const n = results.length
  if (n < stepsOf(request))
    return { toolCalls: [{ id: `call_${n + 1}`, name: 'add', input: { a: n + 1, b: n + 1 } }] }
  return { text: `sum=${results.reduce((s, v) => s + v, 0)}` }
})
const agent = new Agent({ id: 'w1', model, tools: [addTool], policies: { retry: false } })
createRuntime({ store: createMemoryStore(), agents: [agent] })
const K = Number(process.argv[2] ?? 20)
const runOnce = async (i: number) => {
  const answer = await agent.run(`steps=${K}`, { sessionId: `s${i}` })
  if (answer !== `sum=${K * (K + 1)}`) throw new Error(String(answer))
}
let i = 0
const warmEnd = Date.now() + 3000
while (Date.now() < warmEnd) await runOnce(i++)
const times: number[] = []
for (let r = 0; r < 60; r++) {
  const t = performance.now()
  await runOnce(i++)
  times.push(((performance.now() - t) * 1000) / K)
}
times.sort((a, b) => a - b)
console.log(
  `K=${K} median µs/step ${times[30]?.toFixed(1)} min ${times[0]?.toFixed(1)} max ${times.at(-1)?.toFixed(1)} (warm-up runs ${i - 60})`,
)
