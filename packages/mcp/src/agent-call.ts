import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import type { Runtime } from '@vel/actors'
import type { HumanRequest, JsonValue, PartPosition, RunState, StreamPart } from '@vel/core'
import { failedResult, messageOf, type RunMeta, waitingResult } from './agent-result.ts'

/** What the person the client asked decided; `undefined` from `ask` leaves the run waiting. */
export type HumanDecision =
  | { readonly kind: 'approve' | 'deny'; readonly reason?: string }
  | { readonly kind: 'answer'; readonly answer: string }

/** Following one run for an MCP tool call, as the server hands it over. */
export interface RunFollower {
  readonly runtime: Runtime
  readonly agentId: string
  /** Put a completed answer in `structuredContent` (the agent publishes an `outputSchema`). */
  readonly structured: boolean
  /** Aborts on `notifications/cancelled` and when the connection closes. */
  readonly signal: AbortSignal
  /** Whether an abort of `signal` was the client cancelling the request (not a closed connection). */
  readonly cancelled: () => boolean
  /** Sends one progress notification; absent when the client sent no `progressToken`. */
  readonly progress?: (message: string) => Promise<void>
  /** Asks the client's person (MCP elicitation); absent when the client cannot be asked. */
  readonly ask?: (request: HumanRequest) => Promise<HumanDecision | undefined>
  /** Recorded in the journal as who decided. */
  readonly by: string
  /** The server's tool that follows a run, named in a waiting result. */
  readonly followTool?: string
}

/** One MCP tool call of an agent: a new run. */
export interface AgentCall extends RunFollower {
  readonly message: string
  readonly sessionId?: string
  /** Stored on the run's index row. */
  readonly metadata: Readonly<Record<string, JsonValue>>
}

const ended = (state: RunState): boolean =>
  state.phase === 'completed' || state.phase === 'failed' || state.phase === 'cancelled'

/** A part of the run, or of a child run (wrapped as `data-vel-child` in the parent's stream). */
interface SeenPart {
  readonly part: StreamPart
  /** The child run's agent, for a child's part. */
  readonly child?: string
  readonly runId?: string
}

const unwrap = (part: StreamPart): SeenPart => {
  if (part.type !== 'data-vel-child') return { part }
  const data = part.data as { runId?: unknown; agentId?: unknown; part?: StreamPart }
  if (typeof data.part?.type !== 'string' || typeof data.runId !== 'string') return { part }
  return { part: data.part, child: String(data.agentId), runId: data.runId }
}

/** A progress line for the parts worth telling a waiting client about (not text deltas). */
function describe(
  seen: SeenPart,
  tools: Map<string, string>,
  steps: Map<string, number>,
): string | undefined {
  const line = describePart(seen, tools, steps)
  return line === undefined || seen.child === undefined ? line : `${seen.child}: ${line}`
}

function describePart(
  { part, runId = '' }: SeenPart,
  tools: Map<string, string>,
  steps: Map<string, number>,
): string | undefined {
  switch (part.type) {
    case 'start-step': {
      const step = (steps.get(runId) ?? 0) + 1
      steps.set(runId, step)
      return `step ${step}`
    }
    case 'tool-input-available':
      tools.set(part.toolCallId, part.toolName)
      return `calling ${part.toolName}`
    case 'tool-output-available':
      return `${tools.get(part.toolCallId) ?? part.toolCallId} done`
    case 'tool-output-error':
      return `${tools.get(part.toolCallId) ?? part.toolCallId} failed: ${part.errorText.slice(0, 200)}`
    case 'tool-output-denied':
      return `${tools.get(part.toolCallId) ?? part.toolCallId} denied`
    case 'tool-approval-request':
      return `waiting for approval of ${tools.get(part.toolCallId) ?? part.toolCallId}`
    case 'data-vel-human-request':
      return `waiting for an answer: ${String((part.data as { question?: unknown }).question ?? '')}`
    default:
      return undefined
  }
}

/** Resolves when the run's journal grows past `afterSeq` (or the call is aborted). */
async function nextEntry(runtime: Runtime, runId: string, afterSeq: number, signal: AbortSignal) {
  for await (const _entry of runtime.follow(runId, { afterSeq, signal })) return
}

/**
 * Starts a run and follows it to its answer: progress for each step, tool call and request; each
 * approval or question the run waits on goes to `ask`, and the run continues with the answer. A run
 * nobody here can answer is left waiting (passivated, answerable elsewhere) and the result says
 * how. The client cancelling the request cancels the run; a closed connection leaves it running.
 */
export async function callAgent(call: AgentCall): Promise<CallToolResult> {
  let runId: string
  try {
    const handle = await call.runtime.spawn(call.agentId, call.message, {
      ...(call.sessionId === undefined ? {} : { sessionId: call.sessionId }),
      metadata: call.metadata,
    })
    runId = handle.runId
  } catch (error) {
    return failedResult(`Could not start a run of agent '${call.agentId}': ${messageOf(error)}`)
  }
  return followRun(call, runId, { first: `run ${runId} started`, cancelOnAbort: true })
}

/**
 * Follows a run to its answer as `callAgent` does, from `after` (default: the run's start).
 * `cancelOnAbort`: the client cancelling the request cancels the run (a reader that only follows
 * an existing run just stops).
 */
export async function followRun(
  call: RunFollower,
  runId: string,
  options: { readonly first: string; readonly cancelOnAbort: boolean; readonly after?: PartPosition },
): Promise<CallToolResult> {
  const { runtime, signal } = call
  const meta: RunMeta = { runId, agentId: call.agentId }
  const onAbort = () => {
    // The SDK aborts the signal, then forgets the transport: decide once that has happened.
    queueMicrotask(() => {
      if (call.cancelled()) void runtime.cancel(runId, 'cancelled by the MCP client').catch(() => undefined)
    })
  }
  if (options.cancelOnAbort) signal.addEventListener('abort', onAbort, { once: true })
  const tools = new Map<string, string>()
  const steps = new Map<string, number>()
  const tell = async (message: string) => {
    if (call.progress && !signal.aborted) await call.progress(message)
  }
  try {
    await tell(options.first)
    let after: PartPosition | undefined = options.after
    const answered = new Set<string>()
    const inputs = new Map<string, { toolName: string; input: JsonValue }>()
    if (after !== undefined) {
      // Following from the middle: the steps so far and the calls in flight were announced before.
      const { state } = await runtime.get(runId)
      steps.set('', state.step)
      for (const toolCall of state.toolCalls) {
        tools.set(toolCall.toolCallId, toolCall.toolName)
        inputs.set(toolCall.toolCallId, toolCall)
      }
    }
    /** Asks the client; `undefined` when the run is left waiting (the result to return then). */
    const askFor = async (request: HumanRequest, own: boolean): Promise<CallToolResult | undefined> => {
      const decision = await call.ask?.(request)
      if (signal.aborted) return undefined
      if (decision === undefined) {
        const { pending } = (await runtime.get(runId)).state
        return waitingResult(pending.length > 0 ? pending : [request], meta, call.followTool)
      }
      answered.add(request.requestId)
      await deliver(runtime, runId, request, decision, call.by, own)
      return undefined
    }
    for (;;) {
      for await (const { part, position } of runtime.stream(runId, {
        ...(after === undefined ? {} : { after }),
        untilPause: true,
        signal,
      })) {
        after = position
        const seen = unwrap(part)
        if (seen.part.type === 'tool-input-available') inputs.set(seen.part.toolCallId, seen.part)
        const line = describe(seen, tools, steps)
        if (line !== undefined) await tell(line)
        const request = requestOf(seen.part, inputs)
        if (request === undefined || answered.has(request.requestId)) continue
        // A child run's request (asTool, pipelines) reaches this stream too but never pauses this run.
        const own = seen.child === undefined
        if (call.ask === undefined) {
          if (own) continue // the stream ends at the pause; the result lists every open request
          return waitingResult([request], meta, call.followTool)
        }
        const waiting = await askFor(request, own)
        if (waiting !== undefined) return waiting
        if (signal.aborted) break
      }
      if (signal.aborted) return failedResult(stoppedText(runId, options.cancelOnAbort), meta)
      const { state, seq } = await runtime.get(runId)
      if (ended(state)) return endedResult(state, meta, call.structured)
      if (state.phase !== 'waiting') continue
      const open = state.pending.filter((request) => !answered.has(request.requestId))
      if (open.length === 0) {
        // Our answers are on their way to the run's owner: wait for the journal to move.
        await nextEntry(runtime, runId, seq, signal)
        continue
      }
      if (call.ask === undefined) return waitingResult(state.pending, meta, call.followTool)
      for (const request of open) {
        const waiting = await askFor(request, true)
        if (waiting !== undefined) return waiting
        if (signal.aborted) break
      }
    }
  } catch (error) {
    if (signal.aborted) return failedResult(stoppedText(runId, options.cancelOnAbort), meta)
    return failedResult(`Run ${runId}: ${messageOf(error)}`, meta)
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

const stoppedText = (runId: string, cancelled: boolean) =>
  cancelled ? `Run ${runId} was cancelled by the MCP client.` : `Stopped following run ${runId}.`

/** The request a part announces, with the tool call's name and input seen before it. */
function requestOf(
  part: StreamPart,
  inputs: ReadonlyMap<string, { toolName: string; input: JsonValue }>,
): HumanRequest | undefined {
  if (part.type === 'tool-approval-request') {
    const call = inputs.get(part.toolCallId)
    return {
      requestId: part.toolCallId,
      kind: 'approval',
      toolName: call?.toolName ?? part.toolCallId,
      input: call?.input ?? null,
      requestedAt: 0,
    }
  }
  if (part.type !== 'data-vel-human-request') return undefined
  const data = part.data as { requestId?: unknown; question?: unknown }
  if (typeof data.requestId !== 'string') return undefined
  return {
    requestId: data.requestId,
    kind: 'question',
    toolName: inputs.get(data.requestId)?.toolName ?? 'contactHuman',
    input: inputs.get(data.requestId)?.input ?? null,
    question: typeof data.question === 'string' ? data.question : '',
    requestedAt: 0,
  }
}

/**
 * Gives the run the decision (the runtime finds the child run that asked, for a child's request).
 * A decision on the run's own request that it no longer waits for (decided elsewhere) is dropped.
 */
async function deliver(
  runtime: Runtime,
  runId: string,
  request: HumanRequest,
  decision: HumanDecision,
  by: string,
  own: boolean,
): Promise<void> {
  const reason = 'reason' in decision && decision.reason ? { reason: decision.reason } : {}
  try {
    if (decision.kind === 'answer') await runtime.respond(runId, request.requestId, decision.answer, { by })
    else if (decision.kind === 'approve') await runtime.approve(runId, request.requestId, { by, ...reason })
    else await runtime.deny(runId, request.requestId, { by, ...reason })
  } catch (error) {
    if (!own) throw error
    const state = (await runtime.get(runId)).state
    if (state.pending.some((pending) => pending.requestId === request.requestId)) throw error
  }
}

/** The result of a run that ended: its answer, or an error result saying why it did not answer. */
function endedResult(state: RunState, meta: RunMeta, structured: boolean): CallToolResult {
  if (state.phase === 'completed') {
    const answer = state.answer
    const text = typeof answer === 'string' ? answer : JSON.stringify(answer)
    const isObject = typeof answer === 'object' && answer !== null && !Array.isArray(answer)
    return {
      content: [{ type: 'text', text }],
      ...(structured && isObject ? { structuredContent: answer } : {}),
      _meta: { 'vel/run': { ...meta, status: 'completed' } },
    }
  }
  const why = state.error ? `${state.error.message} (${state.error.reason})` : 'no reason given'
  return failedResult(
    `Run ${meta.runId} ${state.phase === 'cancelled' ? 'was cancelled' : 'failed'}: ${why}`,
    meta,
    state.phase,
  )
}
