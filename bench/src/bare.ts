/**
 * The floor: the same script as a hand-written loop with nothing durable, no streaming and no
 * validation: an array of messages, the decision function, the tool, and a Map of sessions. What
 * any runtime adds is measured against this.
 */
import { decide, stepsIn } from './script.ts'

type Message =
  | { readonly role: 'user' | 'assistant'; readonly text: string; readonly call?: { a: number; b: number } }
  | { readonly role: 'tool'; readonly result: number }

const add = async ({ a, b }: { a: number; b: number }): Promise<number> => a + b

export function createBare() {
  const sessions = new Map<string, Message[]>()
  return {
    async run(prompt: string, sessionId: string): Promise<string> {
      const messages: Message[] = [...(sessions.get(sessionId) ?? []), { role: 'user', text: prompt }]
      const steps = stepsIn(prompt)
      const results: number[] = []
      for (;;) {
        const decision = decide(steps, results)
        if (decision.type === 'answer') {
          messages.push({ role: 'assistant', text: decision.text })
          sessions.set(sessionId, messages)
          return decision.text
        }
        messages.push({ role: 'assistant', text: '', call: { a: decision.a, b: decision.b } })
        const result = await add(decision)
        results.push(result)
        messages.push({ role: 'tool', result })
      }
    },
    async conversation(sessionId: string): Promise<string[]> {
      const roles = { user: 'human', assistant: 'ai', tool: 'tool' } as const
      return (sessions.get(sessionId) ?? []).map((message) =>
        message.role === 'tool' ? `tool:${message.result}` : `${roles[message.role]}:${message.text}`,
      )
    },
  }
}
