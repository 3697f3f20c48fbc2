import { runUsage } from '@vel/actors'
import type { RunFilter, RunRecord, RunStatus, Usage } from '@vel/core'
import type { Command } from '../command.ts'
import { stringFlag } from '../command.ts'
import { compact, nextSteps, runLine, stylesFor, writeJson } from '../render.ts'
import { UsageError } from '../usage-error.ts'
import { jsonOption, storeOption, withWorkspace } from '../workspace.ts'

const statuses: ReadonlyArray<RunStatus> = ['running', 'waiting', 'completed', 'failed', 'cancelled']

const positiveInteger = (text: string | undefined, flag: string, command: string): number | undefined => {
  if (text === undefined) return undefined
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1)
    throw new UsageError(`--${flag} must be a positive integer, not '${text}'`, command)
  return value
}

/** `vel runs`: the runs index, newest first. */
export const runsCommand: Command = {
  name: 'runs',
  summary: 'List runs, newest first (vel runs show <runId> for one run)',
  positionals: [],
  options: {
    store: storeOption,
    status: {
      type: 'string',
      placeholder: '<status>',
      description: `Only runs with this status: ${statuses.join(', ')}.`,
    },
    agent: { type: 'string', placeholder: '<id>', description: 'Only runs of this agent.' },
    session: { type: 'string', placeholder: '<id>', description: 'Only runs of this session.' },
    limit: { type: 'string', placeholder: '<n>', description: 'At most this many runs (default 50).' },
    json: { ...jsonOption, description: 'Print the runs as a JSON array of run records.' },
  },
  description: `
Lists runs from the store's index: id, agent, status, last update, session. Waiting runs are
paused for a human; continue them with vel approve, vel deny or vel answer.

Examples:
  vel runs --status waiting
  vel runs --agent calc --json | jq '.[].runId'`,
  run: (invocation) => {
    const status = stringFlag(invocation.values, 'status')
    if (status !== undefined && !statuses.includes(status as RunStatus))
      throw new UsageError(`--status must be one of ${statuses.join(', ')}, not '${status}'`, 'runs')
    const limit = positiveInteger(stringFlag(invocation.values, 'limit'), 'limit', 'runs') ?? 50
    const agent = stringFlag(invocation.values, 'agent')
    const session = stringFlag(invocation.values, 'session')
    const filter: RunFilter = {
      ...(status === undefined ? {} : { status: status as RunStatus }),
      ...(agent === undefined ? {} : { agentId: agent }),
      ...(session === undefined ? {} : { sessionId: session }),
    }
    return withWorkspace(invocation, { agents: false, create: false }, async ({ store }) => {
      const runs: RunRecord[] = []
      let cursor: string | undefined
      do {
        const page = await store.listRuns(filter, {
          limit: Math.min(200, limit - runs.length),
          ...(cursor === undefined ? {} : { cursor }),
        })
        runs.push(...page.items)
        cursor = page.nextCursor
      } while (cursor !== undefined && runs.length < limit)
      if (invocation.values.json === true) writeJson(invocation.io, runs)
      else if (runs.length === 0) invocation.io.stderr.write('no runs\n')
      else {
        const s = stylesFor(invocation.io)
        invocation.io.stdout.write(
          `${s.dim(['run'.padEnd(36), 'agent'.padEnd(16), 'status'.padEnd(9), 'updated (UTC)'.padEnd(19), 'session'].join('  '))}\n`,
        )
        for (const run of runs) invocation.io.stdout.write(`${runLine(run)}\n`)
      }
      return 0
    })
  },
}

const tokens = (usage: Usage) => `${usage.inputTokens} in, ${usage.outputTokens} out`
const dollars = (usd: number) => `$${usd < 0.01 && usd > 0 ? usd.toPrecision(2) : usd.toFixed(4)}`

/** `vel runs show <runId>`: one run's index row, state, journal, usage and cost (with its tree's). */
export const runsShowCommand: Command = {
  name: 'runs show',
  summary: "Show one run: status, answer, pending requests, the journal and the state's messages",
  positionals: ['runId'],
  options: {
    store: storeOption,
    json: { ...jsonOption, description: 'Print { record, state, journal } as JSON.' },
  },
  description: `
Shows a run as the store has it (Factor 5: the journal is the state): the index row, every
journaled event in order, and the state rebuilt from the latest snapshot plus the journal tail.

Example:
  vel runs show 3f1c... --json | jq '.journal[].type'`,
  run: (invocation) =>
    withWorkspace(invocation, { agents: false, create: false }, async ({ runtime }) => {
      const runId = invocation.positionals[0] as string
      const [info, journal, usage] = await Promise.all([
        runtime.get(runId),
        runtime.journal(runId),
        runUsage(runtime, runId),
      ])
      const { record, state } = info
      if (invocation.values.json === true) {
        writeJson(invocation.io, { record, state, journal, usage })
        return 0
      }
      const s = stylesFor(invocation.io)
      const out = (line: string) => invocation.io.stdout.write(`${line}\n`)
      out(`${s.bold('run')}      ${record.runId}`)
      out(`${s.bold('agent')}    ${record.agentId}`)
      out(`${s.bold('status')}   ${record.status} (state: ${state.phase}, step ${state.step})`)
      if (record.sessionId) out(`${s.bold('session')}  ${record.sessionId}`)
      if (record.parentRunId) out(`${s.bold('parent')}   ${record.parentRunId}`)
      out(`${s.bold('usage')}    ${tokens(state.usage)}`)
      const budget =
        state.policy.maxCostUsd === undefined ? '' : ` of ${dollars(state.policy.maxCostUsd)} budget`
      if (usage.costUsd !== undefined) out(`${s.bold('cost')}     ${dollars(usage.costUsd)}${budget}`)
      if (usage.tree.runs > 1) {
        const unpriced = usage.tree.unpricedRuns > 0 ? `, ${usage.tree.unpricedRuns} unpriced` : ''
        out(
          `${s.bold('tree')}     ${usage.tree.runs} runs: ${tokens(usage.tree.usage)}, ${dollars(usage.tree.costUsd)}${unpriced}`,
        )
      }
      if (state.answer !== null) out(`${s.bold('answer')}   ${compact(state.answer, 500)}`)
      if (state.error) out(`${s.bold('error')}    ${state.error.reason}: ${state.error.message}`)
      if (state.phase === 'waiting') out(nextSteps(runId, state.pending as never).join('\n'))
      out('')
      out(s.bold(`journal (${journal.length} events)`))
      for (const entry of journal) {
        const { type: _type, ...data } = entry.data as Record<string, unknown>
        const when = new Date(entry.at).toISOString().slice(11, 23)
        out(
          `  ${String(entry.seq).padStart(4)}  ${s.dim(when)}  ${entry.type.padEnd(17)} ${s.dim(compact(data as never, 100))}`,
        )
      }
      out('')
      out(s.bold(`messages (${state.messages.length})`))
      for (const message of state.messages)
        out(`  ${message.role.padEnd(9)} ${s.dim(compact(message.content as never, 120))}`)
      return 0
    }),
}
