import type { Command, Invocation } from '../command.ts'
import { stringFlag } from '../command.ts'
import { writeJson } from '../render.ts'
import { UsageError } from '../usage-error.ts'
import { reportSummary, watchRun } from '../watch-run.ts'
import { agentsOption, jsonOption, storeOption, withWorkspace } from '../workspace.ts'

/** Whether a command may ask at the terminal: stdin is one, and neither `--json` nor `--detach`. */
export const canPrompt = (invocation: Invocation): boolean =>
  invocation.io.stdin.isTTY === true && invocation.values.json !== true && invocation.values.detach !== true

/** `--detach`: leave a run that needs a human waiting instead of asking. */
export const detachOption = {
  type: 'boolean',
  description: 'Do not ask at the terminal: leave a run that needs a human waiting and exit.',
} as const

/** `vel run <agent> "message"`: starts a run and streams it to the terminal. */
export const runCommand: Command = {
  name: 'run',
  summary: 'Start a run of an agent and stream it to the terminal',
  positionals: ['agent', 'message'],
  options: {
    agents: agentsOption,
    store: storeOption,
    session: { type: 'string', placeholder: '<id>', description: 'Continue this conversation (session id).' },
    'run-id': {
      type: 'string',
      placeholder: '<id>',
      description: 'Use this run id instead of a random one.',
    },
    detach: detachOption,
    json: { ...jsonOption, description: 'Print one JSON object at the end: run id, status, answer, parts.' },
  },
  description: `
Starts a run and streams the model's text to stdout, and tool calls, results and requests to
stderr. When the run needs an approval or an answer, it asks at the terminal if stdin is one;
otherwise (or with --detach) the run is left waiting in the store and the command prints how to
continue it (vel approve, vel deny, vel answer). Exit code 0 when completed or waiting, 1 when
the run failed or was cancelled.

Example:
  vel run calc "What is 2 + 40?" --agents ./agents.ts --store sqlite:./vel.db`,
  run: (invocation) =>
    withWorkspace(invocation, { agents: true, create: true }, async ({ runtime, agents }) => {
      const [agentId, message] = invocation.positionals as [string, string]
      if (!agents.some((agent) => agent.id === agentId))
        throw new UsageError(
          `no agent '${agentId}' in the agents module (it has: ${agents.map((agent) => agent.id).join(', ')})`,
          'run',
        )
      const session = stringFlag(invocation.values, 'session')
      const runId = stringFlag(invocation.values, 'run-id')
      const handle = await runtime.spawn(agentId, message, {
        ...(session === undefined ? {} : { sessionId: session }),
        ...(runId === undefined ? {} : { runId }),
      })
      const json = invocation.values.json === true
      if (!json) invocation.io.stderr.write(`run ${handle.runId}\n`)
      const summary = await watchRun(runtime, handle, invocation.io, { json, prompt: canPrompt(invocation) })
      if (json) {
        writeJson(invocation.io, summary)
        return summary.status === 'failed' || summary.status === 'cancelled' ? 1 : 0
      }
      return reportSummary(summary, invocation.io)
    }),
}
