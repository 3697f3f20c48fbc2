import { usageOf } from '@vel/actors'
import type { RunFilter, RunStatus } from '@vel/core'
import type { Command } from '../command.ts'
import { stringFlag } from '../command.ts'
import { stylesFor, writeJson } from '../render.ts'
import { UsageError } from '../usage-error.ts'
import { jsonOption, storeOption, withWorkspace } from '../workspace.ts'

const statuses: ReadonlyArray<RunStatus> = ['running', 'waiting', 'completed', 'failed', 'cancelled']

/** `vel usage`: tokens and cost summed over runs, by agent, session or status. */
export const usageCommand: Command = {
  name: 'usage',
  summary: 'Tokens and cost summed over runs (by --agent, --session, --status)',
  positionals: [],
  options: {
    store: storeOption,
    agent: { type: 'string', placeholder: '<id>', description: 'Only runs of this agent.' },
    session: { type: 'string', placeholder: '<id>', description: 'Only runs of this session.' },
    status: {
      type: 'string',
      placeholder: '<status>',
      description: `Only runs with this status: ${statuses.join(', ')}.`,
    },
    json: { ...jsonOption, description: 'Print { runs, usage, costUsd, unpricedRuns } as JSON.' },
  },
  description: `
Sums the token usage and the cost of the runs the filters select, each run at the price journaled
when it started (runs whose model has no price count their tokens, not their cost). Each run counts
its own model calls once: a child run counts under its own agent.

Examples:
  vel usage --agent researcher
  vel usage --session chat-42 --json | jq .costUsd`,
  run: (invocation) => {
    const status = stringFlag(invocation.values, 'status')
    if (status !== undefined && !statuses.includes(status as RunStatus))
      throw new UsageError(`--status must be one of ${statuses.join(', ')}, not '${status}'`, 'usage')
    const agent = stringFlag(invocation.values, 'agent')
    const session = stringFlag(invocation.values, 'session')
    const filter: RunFilter = {
      ...(status === undefined ? {} : { status: status as RunStatus }),
      ...(agent === undefined ? {} : { agentId: agent }),
      ...(session === undefined ? {} : { sessionId: session }),
    }
    return withWorkspace(invocation, { agents: false, create: false }, async ({ runtime }) => {
      const summary = await usageOf(runtime, filter)
      if (invocation.values.json === true) {
        writeJson(invocation.io, summary)
        return 0
      }
      const s = stylesFor(invocation.io)
      const out = (line: string) => invocation.io.stdout.write(`${line}\n`)
      const { usage } = summary
      out(`${s.bold('runs')}     ${summary.runs}`)
      out(
        `${s.bold('tokens')}   ${usage.inputTokens} in (${usage.cachedInputTokens} cached), ${usage.outputTokens} out`,
      )
      const unpriced = summary.unpricedRuns > 0 ? ` (${summary.unpricedRuns} runs unpriced)` : ''
      out(`${s.bold('cost')}     $${summary.costUsd.toFixed(4)}${unpriced}`)
      return 0
    })
  },
}
