/** The example's agent: asks a human a question (contactHuman), then sends an email only with approval. */
import { Agent, contactHuman } from '@vel/actors'
import { defineTool, type LanguageModel, type ModelPart } from '@vel/core'

const usage = { inputTokens: 10, outputTokens: 5, reasoningTokens: 0, cachedInputTokens: 0 }

const sendEmail = defineTool({
  name: 'send_email',
  description: 'Sends an email.',
  input: {
    type: 'object',
    properties: { to: { type: 'string' }, body: { type: 'string' } },
    required: ['to', 'body'],
  },
  handler: ({ to }: { to: string; body: string }) => ({ sent: true, to }),
  needsApproval: true, // Factor 7: a person decides before it runs
  sideEffects: 'unsafe',
})

/** A scripted model: ask who to write to, ask to send, then report what happened. */
const model: LanguageModel = {
  provider: 'scripted',
  modelId: 'assistant',
  async *stream(request): AsyncGenerator<ModelPart> {
    const results = request.messages.flatMap((message) => (message.role === 'tool' ? message.content : []))
    const call = (id: string, name: string, input: unknown): ModelPart[] => [
      { type: 'tool-call', toolCallId: id, toolName: name, input: JSON.stringify(input) },
      { type: 'finish', finishReason: 'tool-calls', usage },
    ]
    if (results.length === 0) {
      yield* call('ask_recipient', 'contactHuman', { question: 'Who should get the quarterly report?' })
      return
    }
    const recipient = results[0] && 'output' in results[0] ? String(results[0].output) : 'nobody'
    if (results.length === 1) {
      yield* call('send', 'send_email', { to: recipient, body: 'The quarterly report is attached.' })
      return
    }
    const sent = results[1] && 'output' in results[1]
    yield { type: 'text-start', id: 't' }
    yield {
      type: 'text-delta',
      id: 't',
      delta: sent ? `Sent the report to ${recipient}.` : 'I did not send it.',
    }
    yield { type: 'text-end', id: 't' }
    yield { type: 'finish', finishReason: 'stop', usage }
  },
}

export const assistant = () => new Agent({ id: 'assistant', model, tools: [contactHuman, sendEmail] })
