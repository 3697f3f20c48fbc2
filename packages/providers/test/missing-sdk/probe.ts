// Imports the package entry by its own name, creates a model of every provider pointed at a port
// where nothing listens, calls each once and prints how each call failed, as JSON on stdout.
import { createModel, type ProviderName } from '@vel/providers'

const providers: ProviderName[] = ['openai', 'openai-responses', 'anthropic', 'gemini']
const results: Record<string, unknown> = {}
for (const provider of providers) {
  const model = createModel({ provider, model: 'probe', apiKey: 'unused', baseURL: 'http://127.0.0.1:1' })
  try {
    for await (const _ of model.stream({ messages: [{ role: 'user', content: 'Hi' }] })) {
    }
    results[provider] = { ok: true }
  } catch (error) {
    const { _tag, reason, retryable, message } = error as Record<string, unknown>
    results[provider] = { tag: _tag, reason, retryable, message }
  }
}
process.stdout.write(JSON.stringify(results))
