import type { Runtime } from '@vel/actors'
import type { Command, Invocation } from '../command.ts'
import { stringFlag } from '../command.ts'
import { writeJson } from '../render.ts'
import { reportSummary, watchRun } from '../watch-run.ts'
import { agentsOption, jsonOption, storeOption, withWorkspace } from '../workspace.ts'
import { canPrompt, detachOption } from './run.ts'

const continueOptions = {
  agents: agentsOption,
  store: storeOption,
  detach: detachOption,
  json: { ...jsonOption, description: 'Print one JSON object when the run ends or waits again.' },
}

/**
 * Delivers a decision or answer to a run (rehydrating it in this process), then follows the run
 * until it ends or waits for a human again.
 */
async function continueRun(
  invocation: Invocation,
  deliver: (runtime: Runtime, runId: string) => Promise<unknown>,
): Promise<number> {
  return withWorkspace(invocation, { agents: true, create: false }, async ({ runtime }) => {
    const runId = invocation.positionals[0] as string
    // Watch before delivering: the parts the continuation emits go to this handle.
    const handle = runtime.handle(runId)
    const json = invocation.values.json === true
    const delivered = deliver(runtime, runId)
    const refused = new AbortController()
    const watching = watchRun(runtime, handle, invocation.io, {
      json,
      prompt: canPrompt(invocation),
      ready: delivered.catch(() => undefined),
      signal: refused.signal,
    })
    try {
      await delivered
    } catch (error) {
      // The run would not take it: stop watching (quietly), then report the refusal as the one error.
      refused.abort()
      await watching.catch(() => undefined)
      throw error
    }
    const summary = await watching
    if (json) {
      writeJson(invocation.io, summary)
      return summary.status === 'failed' || summary.status === 'cancelled' ? 1 : 0
    }
    return reportSummary(summary, invocation.io)
  })
}

const decision = (invocation: Invocation) => {
  const reason = stringFlag(invocation.values, 'reason')
  return { by: stringFlag(invocation.values, 'by') ?? 'cli', ...(reason === undefined ? {} : { reason }) }
}

const decisionOptions = {
  reason: { type: 'string', placeholder: '<text>', description: 'Why; recorded in the journal.' },
  by: {
    type: 'string',
    placeholder: '<who>',
    description: 'Who decided; recorded in the journal (default: cli).',
  },
} as const

/** `vel approve <runId> <toolCallId>`. */
export const approveCommand: Command = {
  name: 'approve',
  summary: 'Approve a tool call a run is waiting on, and continue the run',
  positionals: ['runId', 'toolCallId'],
  options: { ...decisionOptions, ...continueOptions },
  description: `
Approves the tool call, which then runs in this process, and follows the run until it ends or
waits for a human again. The decision is journaled with --by and --reason.

Example:
  vel approve 3f1c... call_book --agents ./agents.ts`,
  run: (invocation) =>
    continueRun(invocation, (runtime, runId) =>
      runtime.approve(runId, invocation.positionals[1] as string, decision(invocation)),
    ),
}

/** `vel deny <runId> <toolCallId>`. */
export const denyCommand: Command = {
  name: 'deny',
  summary: 'Deny a tool call a run is waiting on, and continue the run',
  positionals: ['runId', 'toolCallId'],
  options: { ...decisionOptions, ...continueOptions },
  description: `
Denies the tool call: the model reads that it was denied (and --reason) and carries on. Follows
the run until it ends or waits for a human again.

Example:
  vel deny 3f1c... call_book --reason "too expensive" --agents ./agents.ts`,
  run: (invocation) =>
    continueRun(invocation, (runtime, runId) =>
      runtime.deny(runId, invocation.positionals[1] as string, decision(invocation)),
    ),
}

/** `vel answer <runId> <requestId> "text"`. */
export const answerCommand: Command = {
  name: 'answer',
  summary: 'Answer a question a run asked (contactHuman), and continue the run',
  positionals: ['runId', 'requestId', 'answer'],
  options: {
    by: { type: 'string', placeholder: '<who>', description: 'Who answered; recorded (default: cli).' },
    ...continueOptions,
  },
  description: `
Gives the answer to the question the run asked with contactHuman, then follows the run until it
ends or waits again. The request id is shown by vel run and vel runs show.

Example:
  vel answer 3f1c... call_ask "Lisbon, in May" --agents ./agents.ts`,
  run: (invocation) =>
    continueRun(invocation, (runtime, runId) =>
      runtime.respond(runId, invocation.positionals[1] as string, invocation.positionals[2] as string, {
        by: stringFlag(invocation.values, 'by') ?? 'cli',
      }),
    ),
}

/** `vel resume <runId>`. */
export const resumeCommand: Command = {
  name: 'resume',
  summary: 'Take over an interrupted run (after a crash) and continue it here',
  positionals: ['runId'],
  options: continueOptions,
  description: `
Loads the run's snapshot and journal tail and continues it in this process: tool calls that had
finished are not run again; one that started without a result is re-run only if the tool is
'none' or 'idempotent'. Fails if another live worker holds the run's lease (wait for it to
expire). A waiting run is shown its requests again.

Example:
  vel resume 3f1c... --agents ./agents.ts --store sqlite:./vel.db`,
  run: (invocation) =>
    withWorkspace(invocation, { agents: true, create: false }, async ({ runtime }) => {
      const handle = await runtime.resume(invocation.positionals[0] as string)
      const json = invocation.values.json === true
      const summary = await watchRun(runtime, handle, invocation.io, { json, prompt: canPrompt(invocation) })
      if (json) {
        writeJson(invocation.io, summary)
        return summary.status === 'failed' || summary.status === 'cancelled' ? 1 : 0
      }
      return reportSummary(summary, invocation.io)
    }),
}
