import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const tsx = createRequire(import.meta.url).resolve('tsx')
const hide = fileURLToPath(new URL('./missing-sdk/hide-packages.mjs', import.meta.url))
const probe = fileURLToPath(new URL('./missing-sdk/probe.ts', import.meta.url))

interface Outcome {
  readonly tag?: string
  readonly reason?: string
  readonly retryable?: boolean
  readonly message?: string
}

/** Runs the probe in a fresh Node process where `hidden` packages cannot be resolved and `broken` ones throw on load. */
async function probeWithout(
  hidden: ReadonlyArray<string>,
  broken: ReadonlyArray<string> = [],
): Promise<Record<string, Outcome>> {
  const { stdout } = await run(process.execPath, ['--import', tsx, '--import', hide, probe], {
    env: {
      ...process.env,
      VEL_HIDE_PACKAGES: JSON.stringify(hidden),
      VEL_BREAK_PACKAGES: JSON.stringify(broken),
    },
  })
  return JSON.parse(stdout) as Record<string, Outcome>
}

const missing = (provider: string, name: string): Outcome => ({
  tag: 'ProviderError',
  reason: 'unsupported',
  retryable: false,
  message: `${provider}: the SDK package '${name}' is not installed; install ${name}: npm i ${name}`,
})

describe('provider SDKs are optional', () => {
  it('imports @vel/providers with no SDK installed and names the package to install on the first call', async () => {
    const outcomes = await probeWithout(['openai', '@anthropic-ai/sdk', '@google/genai'])
    expect(outcomes).toEqual({
      openai: missing('openai', 'openai'),
      'openai-responses': missing('openai-responses', 'openai'),
      anthropic: missing('anthropic', '@anthropic-ai/sdk'),
      gemini: missing('gemini', '@google/genai'),
    })
  })

  it('loads only the SDK of the provider in use: the others work while one is missing or broken', async () => {
    const outcomes = await probeWithout(['@anthropic-ai/sdk'], ['@google/genai'])
    expect(outcomes.anthropic).toEqual(missing('anthropic', '@anthropic-ai/sdk'))
    expect(outcomes.gemini).toEqual({
      tag: 'ProviderError',
      reason: 'unsupported',
      retryable: false,
      message:
        "gemini: the SDK package '@google/genai' failed to load (broken by the test); reinstall it: npm i @google/genai",
    })
    // Nothing listens on the probe's port: these calls got as far as the network, so their SDK loaded.
    for (const provider of ['openai', 'openai-responses'])
      expect(outcomes[provider]).toMatchObject({ tag: 'ProviderError', reason: 'network' })
  })
})
