import type { Usage } from './language-model.ts'

/**
 * What one model charges, in US dollars per million tokens. `inputPerMTok` applies to input tokens
 * not served from the prompt cache; cached ones cost `cachedInputPerMTok` (default: the input price).
 * Reasoning tokens are billed as output (providers count them in `outputTokens`).
 */
export interface ModelPrice {
  readonly inputPerMTok: number
  readonly outputPerMTok: number
  readonly cachedInputPerMTok?: number
}

/**
 * Prices by model: keys are `provider:modelId` or a bare `modelId`, matched exactly first, then by
 * the longest key the model id extends with a version or date suffix (so `gpt-5.4-mini` also prices
 * `gpt-5.4-mini-2026-03-17`, and `gemini-3.1-pro` prices `gemini-3.1-pro-preview`, while `gpt-5`
 * does not price `gpt-5-mini`).
 */
export type PriceTable = Readonly<Record<string, ModelPrice>>

/** The dollars a usage costs at a price. Linear in the tokens, so it can be summed over calls. */
export function costOf(usage: Usage, price: ModelPrice): number {
  const cached = Math.min(usage.cachedInputTokens, usage.inputTokens)
  const fresh = usage.inputTokens - cached
  const cachedPrice = price.cachedInputPerMTok ?? price.inputPerMTok
  return (fresh * price.inputPerMTok + cached * cachedPrice + usage.outputTokens * price.outputPerMTok) / 1e6
}

/** What may follow a listed model id in a dated or preview snapshot of it. */
const versionSuffix = /^[-@](\d|preview|latest|exp)/

/** The price of `provider`'s `modelId` in `table`, or undefined when the table does not list it. */
export function priceFor(table: PriceTable, provider: string, modelId: string): ModelPrice | undefined {
  const exact = table[`${provider}:${modelId}`] ?? table[modelId]
  if (exact !== undefined) return exact
  let best: { readonly length: number; readonly price: ModelPrice } | undefined
  for (const [key, price] of Object.entries(table)) {
    const colon = key.indexOf(':')
    const keyProvider = colon === -1 ? undefined : key.slice(0, colon)
    const keyModel = colon === -1 ? key : key.slice(colon + 1)
    if (keyProvider !== undefined && keyProvider !== provider) continue
    if (!modelId.startsWith(keyModel) || !versionSuffix.test(modelId.slice(keyModel.length))) continue
    if (best === undefined || keyModel.length > best.length) best = { length: keyModel.length, price }
  }
  return best?.price
}

/** When the default prices were read, and from where (see docs/observability.md). */
export const defaultPricesAsOf = '2026-12-01'

const price = (inputPerMTok: number, outputPerMTok: number, cachedInputPerMTok?: number): ModelPrice =>
  cachedInputPerMTok === undefined
    ? { inputPerMTok, outputPerMTok }
    : { inputPerMTok, outputPerMTok, cachedInputPerMTok }

/**
 * Standard (not batch) list prices of current OpenAI, Anthropic and Gemini models, as published on
 * the vendors' pricing pages and read on `defaultPricesAsOf`; docs/observability.md names the pages.
 * Long-context surcharges (Gemini Pro above 200k prompt tokens) and cache writes are not modelled.
 * Prices change: pass your own table (`createRuntime({ prices })`) for billing.
 */
export const defaultPrices: PriceTable = {
  // OpenAI
  'openai:gpt-5.5': price(5, 30, 0.5),
  'openai:gpt-5.5-pro': price(30, 180),
  'openai:gpt-5.4': price(2.5, 15, 0.25),
  'openai:gpt-5.4-mini': price(0.75, 4.5, 0.075),
  'openai:gpt-5.4-nano': price(0.2, 1.25, 0.02),
  'openai:gpt-5': price(1.25, 10, 0.125),
  'openai:gpt-4o': price(2.5, 10, 1.25),
  'openai:gpt-4o-mini': price(0.15, 0.6, 0.075),
  // Anthropic (cache hits at a tenth of the input price)
  'anthropic:claude-opus-5': price(5, 25, 0.5),
  'anthropic:claude-opus-4-8': price(5, 25, 0.5),
  'anthropic:claude-opus-4-7': price(5, 25, 0.5),
  'anthropic:claude-opus-4-6': price(5, 25, 0.5),
  'anthropic:claude-opus-4-5': price(5, 25, 0.5),
  'anthropic:claude-sonnet-5': price(2, 10, 0.2),
  'anthropic:claude-sonnet-4-6': price(3, 15, 0.3),
  'anthropic:claude-sonnet-4-5': price(3, 15, 0.3),
  'anthropic:claude-haiku-4-5': price(1, 5, 0.1),
  // Gemini (base tier, prompts up to 200k tokens)
  'gemini:gemini-3.5-flash': price(1.5, 9),
  'gemini:gemini-3.1-pro': price(2, 12),
  'gemini:gemini-3.1-flash-lite': price(0.25, 1.5),
  'gemini:gemini-3-flash': price(0.5, 3),
  'gemini:gemini-2.5-pro': price(1.25, 10),
  'gemini:gemini-2.5-flash': price(0.3, 2.5),
  'gemini:gemini-2.5-flash-lite': price(0.1, 0.4),
}
