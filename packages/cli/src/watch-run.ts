import { createInterface } from 'node:readline/promises'
import type { RunHandle, Runtime } from '@vel/actors'
import type { JsonValue, RunState, SerializedError, StreamPart } from '@vel/core'
import type { Io } from './command.ts'
import { compact, createPartPrinter, nextSteps, stylesFor } from './render.ts'

/** How a watched run stands when the CLI lets go of it (the `--json` output of run, approve, ...). */
export interface RunSummary {
  readonly runId: string
  readonly agentId: string
  /** `waiting`: paused for a human, continue it with `vel approve|deny|answer`. */
  readonly status: 'running' | 'waiting' | 'completed' | 'failed' | 'cancelled'
  readonly answer: JsonValue
  readonly error: SerializedError | null
  /** Open approvals and questions while `waiting`. */
  readonly pending: ReadonlyArray<JsonValue>
  /** Every stream part seen, with `--json`. */
  readonly parts?: ReadonlyArray<StreamPart>
}

/** Options of `watchRun`. */
export interface WatchOptions {
  /** Collect parts for JSON output instead of printing them. */
  readonly json: boolean
  /** Ask approvals and questions at the terminal instead of leaving the run waiting. */
  readonly prompt: boolean
  /** Start watching for the run to leave memory only after this (e.g. the approval that wakes it). */
  readonly ready?: Promise<unknown>
  /** Stops watching (when the event that should wake the run was refused). */
  readonly signal?: AbortSignal
}

const isEnded = (state: RunState): boolean =>
  state.phase === 'completed' || state.phase === 'failed' || state.phase === 'cancelled'

const statusOf = (state: RunState): RunSummary['status'] =>
  state.phase === 'thinking' || state.phase === 'acting' || state.phase === 'idle' ? 'running' : state.phase

/**
 * Follows a run from `handle` until it ends or pauses for a human, reading the run's stream
 * (`runtime.stream`, which ends at a pause): nothing polls. A paused run has been passivated
 * (snapshot written, nothing in memory), so the process can exit and any later `vel approve`/
 * `answer` continues it. With `prompt`, requests are answered at the terminal as they come.
 */
export async function watchRun(
  runtime: Runtime,
  handle: RunHandle,
  io: Io,
  options: WatchOptions,
): Promise<RunSummary> {
  const printer = options.json ? undefined : createPartPrinter(io)
  const parts: StreamPart[] = []
  const inputs = new Map<string, { toolName: string; input: JsonValue }>()
  await options.ready
  if (!options.signal?.aborted) {
    for await (const part of handle.parts({
      untilPause: true,
      ...(options.signal ? { signal: options.signal } : {}),
    })) {
      if (options.signal?.aborted) break
      parts.push(part)
      printer?.print(part)
      if (part.type === 'tool-input-available') inputs.set(part.toolCallId, part)
      const request =
        part.type === 'tool-approval-request'
          ? { kind: 'approval' as const, id: part.toolCallId }
          : part.type === 'data-vel-human-request'
            ? { kind: 'question' as const, id: String((part.data as { requestId?: string }).requestId) }
            : undefined
      if (request !== undefined && options.prompt)
        await answerAtPrompt(runtime, handle.runId, request, inputs, io)
    }
  }
  const info = await runtime.get(handle.runId)
  printer?.end()
  return {
    runId: handle.runId,
    agentId: info.record.agentId,
    status: statusOf(info.state),
    answer: info.state.answer,
    error: info.state.error,
    pending: info.state.pending as unknown as JsonValue[],
    ...(options.json ? { parts } : {}),
  }
}

async function answerAtPrompt(
  runtime: Runtime,
  runId: string,
  request: { kind: 'approval' | 'question'; id: string },
  inputs: ReadonlyMap<string, { toolName: string; input: JsonValue }>,
  io: Io,
): Promise<void> {
  const s = stylesFor(io)
  const prompt = createInterface({ input: io.stdin, output: io.stderr as NodeJS.WritableStream })
  try {
    if (request.kind === 'approval') {
      const call = inputs.get(request.id)
      const answer = await prompt.question(
        `${s.yellow('?')} Approve ${s.bold(call?.toolName ?? request.id)} ${s.dim(compact(call?.input))}? [y/N] `,
      )
      if (answer.trim().toLowerCase().startsWith('y')) await runtime.approve(runId, request.id, { by: 'cli' })
      else await runtime.deny(runId, request.id, { by: 'cli', reason: 'denied at the prompt' })
    } else {
      const answer = await prompt.question(`${s.yellow('>')} `)
      await runtime.respond(runId, request.id, answer, { by: 'cli' })
    }
  } finally {
    prompt.close()
  }
}

/** Prints where a watched run stands: nothing more for a finished run, the next commands for a waiting one. */
export function reportSummary(summary: RunSummary, io: Io): number {
  const s = stylesFor(io)
  if (summary.status === 'waiting') {
    io.stderr.write(`${s.yellow('waiting')} run ${summary.runId} waits for a human:\n`)
    io.stderr.write(`${nextSteps(summary.runId, summary.pending).join('\n')}\n`)
    return 0
  }
  if (summary.status === 'completed') {
    io.stderr.write(`${s.dim(`run ${summary.runId} completed`)}\n`)
    return 0
  }
  io.stderr.write(
    `${s.red(summary.status)} run ${summary.runId}${summary.error ? `: ${summary.error.message}` : ''}\n`,
  )
  return 1
}
