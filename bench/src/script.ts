/**
 * The benchmark's script (shared/BENCHMARKS.md): the prompt, the `add` tool's schema, and the
 * scripted model's decision as a pure function of the tool results a conversation holds.
 */

/** The user message of a run of `steps` steps. */
export const promptFor = (steps: number): string =>
  `Add the numbers step by step, then report the sum. steps=${steps}`

/** K as written in the prompt (`steps=K`). */
export const stepsIn = (prompt: string): number => {
  const match = /steps=(\d+)/.exec(prompt)
  if (match === null) throw new Error(`no steps=K in the prompt: ${prompt}`)
  return Number(match[1])
}

/** The correct answer of a run of K steps: 2 + 4 + ... + 2K. */
export const expectedAnswer = (steps: number): string => `sum=${steps * (steps + 1)}`

/** The input schema of `add`, exactly as the workloads define it. */
export const addInputSchema = {
  type: 'object' as const,
  properties: { a: { type: 'number' as const }, b: { type: 'number' as const } },
  required: ['a', 'b'],
  additionalProperties: false,
}

export const addDescription = 'Adds two numbers.'

/** What the model answers next. */
export type Decision =
  | { readonly type: 'call'; readonly id: string; readonly a: number; readonly b: number }
  | { readonly type: 'answer'; readonly text: string }

/**
 * The scripted model: `results` are the tool results in the conversation (a number, or `undefined`
 * for an error result, which counts as a result but adds nothing to the sum).
 */
export function decide(steps: number, results: ReadonlyArray<number | undefined>): Decision {
  const n = results.length
  if (n < steps) return { type: 'call', id: `call_${n + 1}`, a: n + 1, b: n + 1 }
  let sum = 0
  for (const value of results) if (value !== undefined) sum += value
  return { type: 'answer', text: `sum=${sum}` }
}
