import { summaryBoundary } from './context.ts'
import { costOf } from './cost.ts'
import { RunError, type SerializedError } from './errors.ts'
import type { JsonValue } from './json.ts'
import { addUsage, emptyUsage } from './language-model.ts'
import {
  type AssistantMessage,
  type Message,
  type ToolCallPart,
  type ToolResultPart,
  textOf,
} from './messages.ts'
import {
  type Command,
  defaultRunPolicy,
  type HumanRequest,
  type RunEvent,
  type RunState,
  runStateVersion,
  type ToolCallState,
  type ToolPlan,
} from './run-state.ts'
import type { FinishReason, StreamPart } from './stream-parts.ts'
import { truncate } from './text.ts'

/** The state before `run.started`. */
export const emptyRunState: RunState = {
  version: runStateVersion,
  runId: '',
  agentId: '',
  sessionId: null,
  parentRunId: null,
  phase: 'idle',
  step: 0,
  messages: [],
  priorCount: 0,
  toolCalls: [],
  pending: [],
  usage: emptyUsage(),
  policy: defaultRunPolicy,
  finalizing: false,
  answer: null,
  error: null,
  finishReason: null,
  toolErrors: 0,
  startedAt: 0,
}

type Result = [RunState, Command[]]

const isTerminal = (state: RunState): boolean =>
  state.phase === 'completed' || state.phase === 'failed' || state.phase === 'cancelled'

const reject = (state: RunState, event: RunEvent, reason: string): Result => [
  state,
  [{ type: 'reject', eventType: event.type, reason }],
]

const emit = (parts: StreamPart[]): Command => ({ type: 'emit', parts })

/**
 * The agent as a pure reducer (Factor 12): `step(state, event) -> [state, commands]`. Total (never
 * throws), deterministic, and it never mutates its input. An event that is illegal in the current
 * state leaves the state unchanged and answers with a `reject` command.
 */
export function step(state: RunState, event: RunEvent): Result {
  try {
    return transition(state, event)
  } catch (cause) {
    // Only reachable with inputs that violate the types (e.g. hand-edited journals).
    return reject(state, event, `malformed event: ${(cause as Error).message}`)
  }
}

function transition(state: RunState, event: RunEvent): Result {
  if (event.type === 'run.started') {
    if (state.phase !== 'idle') return reject(state, event, 'run already started')
    return start(event)
  }
  if (state.phase === 'idle') return reject(state, event, 'run not started')
  if (isTerminal(state)) return reject(state, event, `run is ${state.phase}`)
  switch (event.type) {
    case 'model.responded':
      if (state.phase !== 'thinking') return reject(state, event, `no model call in flight (${state.phase})`)
      return modelResponded(state, event)
    case 'model.failed': {
      if (state.phase !== 'thinking') return reject(state, event, `no model call in flight (${state.phase})`)
      const partial = event.partial
      const parts = partial && !event.streamed ? contentParts(partial, state.step + 1, event.epoch) : []
      const failed =
        partial && partial.content.length > 0 ? { ...state, messages: [...state.messages, partial] } : state
      return fail(failed, event.error, [], 'error', parts)
    }
    case 'tool.started': {
      const call = findCall(state, event.toolCallId)
      if (call?.status !== 'queued')
        return reject(state, event, `tool call ${event.toolCallId} is not queued`)
      return [withCall({ ...state, phase: 'acting' }, { ...call, status: 'running' }), []]
    }
    case 'tool.succeeded':
    case 'tool.failed': {
      const call = findCall(state, event.toolCallId)
      if (call?.status !== 'running' && call?.status !== 'queued')
        return reject(state, event, `tool call ${event.toolCallId} is not running`)
      if (event.type === 'tool.succeeded')
        return resolve(state, call, { output: event.output }, [
          { type: 'tool-output-available', toolCallId: call.toolCallId, output: event.output },
        ])
      const error = truncate(event.error, state.policy.maxErrorChars)
      return resolve(state, call, { error }, [
        { type: 'tool-output-error', toolCallId: call.toolCallId, errorText: error },
      ])
    }
    case 'tool.interrupted': {
      const call = findCall(state, event.toolCallId)
      if (call?.status !== 'running')
        return reject(state, event, `tool call ${event.toolCallId} was not running`)
      if (call.sideEffects !== 'unsafe')
        return [
          withCall({ ...state, phase: 'acting' }, { ...call, status: 'queued' }),
          [callTool(state, call)],
        ]
      const error = `The outcome of '${call.toolName}' is unknown: the process stopped while it ran, and it was not run again because it has side effects. Check its effect before calling it again.`
      return resolve(state, call, { error }, [
        { type: 'tool-output-error', toolCallId: call.toolCallId, errorText: error },
      ])
    }
    case 'approval.decided': {
      const call = findCall(state, event.toolCallId)
      if (call?.status !== 'approval')
        return reject(state, event, `no approval pending for ${event.toolCallId}`)
      const pending = state.pending.filter((request) => request.requestId !== call.toolCallId)
      if (event.approved) {
        const next = withCall({ ...state, pending, phase: 'acting' }, { ...call, status: 'queued' })
        return [next, [callTool(state, call)]]
      }
      const error = `Denied by a human${event.reason ? `: ${event.reason}` : ''}. Do not retry this call unchanged.`
      return resolve({ ...state, pending }, call, { error }, [
        { type: 'tool-output-denied', toolCallId: call.toolCallId },
      ])
    }
    case 'human.responded': {
      const call = findCall(state, event.requestId)
      if (call?.status !== 'question')
        return reject(state, event, `no question pending for ${event.requestId}`)
      const pending = state.pending.filter((request) => request.requestId !== call.toolCallId)
      return resolve({ ...state, pending }, call, { output: event.answer }, [
        { type: 'tool-output-available', toolCallId: call.toolCallId, output: event.answer },
      ])
    }
    case 'child.reported': {
      const call = findCall(state, event.toolCallId)
      if (call?.status !== 'running')
        return reject(state, event, `tool call ${event.toolCallId} is not running`)
      const known = state.children?.[event.childRunId] ?? 0
      if (event.seq <= known)
        return reject(state, event, `child ${event.childRunId} is reported up to ${known} already`)
      return childReported(state, event)
    }
    case 'context.summarized': {
      if (state.phase !== 'thinking')
        return reject(state, event, `no model call is about to be made (${state.phase})`)
      const upTo = Number.isInteger(event.upTo) ? summaryBoundary(state.messages, event.upTo) : -1
      if (upTo <= (state.summary?.upTo ?? 0) || upTo >= state.messages.length)
        return reject(
          state,
          event,
          `upTo ${event.upTo} must be past the last summary and leave a message after it`,
        )
      const usage = event.usage ? addUsage(state.usage, event.usage) : state.usage
      return [{ ...state, usage, summary: { upTo, text: event.summary } }, []]
    }
    case 'run.cancelled':
      return stop(state, 'cancelled', 'Cancelled before it finished.', event.reason ?? 'cancelled')
    case 'budget.exhausted':
      return stop(
        state,
        'failed',
        `Not run: the ${event.budget} budget was exhausted.`,
        event.detail ?? event.budget,
      )
    default:
      return reject(state, event, `unknown event type ${JSON.stringify((event as { type: unknown }).type)}`)
  }
}

function start(event: Extract<RunEvent, { type: 'run.started' }>): Result {
  const policy = { ...defaultRunPolicy, ...event.policy }
  const prior: Message[] = event.instructions ? [{ role: 'system', content: event.instructions }] : []
  for (const message of event.history ?? []) prior.push(message)
  const finalizing = policy.maxSteps <= 0
  const state: RunState = {
    ...emptyRunState,
    runId: event.runId,
    agentId: event.agentId,
    sessionId: event.sessionId ?? null,
    parentRunId: event.parentRunId ?? null,
    ...(event.rootRunId === undefined ? {} : { rootRunId: event.rootRunId }),
    phase: 'thinking',
    messages: [...prior, ...event.input],
    priorCount: prior.length,
    policy,
    finalizing,
    startedAt: event.at,
    ...(event.trace === undefined ? {} : { trace: event.trace }),
  }
  return [
    state,
    [
      emit([{ type: 'start', messageId: event.runId }, { type: 'start-step' }]),
      { type: 'call-model', step: 1, tools: !finalizing },
    ],
  ]
}

function modelResponded(state: RunState, event: Extract<RunEvent, { type: 'model.responded' }>): Result {
  const parts: StreamPart[] = event.streamed ? [] : contentParts(event.message, state.step + 1, event.epoch)
  const calls: ToolCallPart[] = []
  for (const part of event.message.content) if (part.type === 'tool-call') calls.push(part)
  // One new state for the whole event, filled in below and by `afterResolution` (it is ours alone
  // until returned, so filling it in mutates nothing the caller holds).
  const next: Draft = {
    ...state,
    step: state.step + 1,
    usage: addUsage(state.usage, event.usage),
    messages: appended(state.messages, event.message),
    finishReason: event.finishReason,
  }
  const maxTokens = state.policy.maxTokens
  // Descendants that used up the budget already leave the run its one summarizing call.
  if (
    maxTokens !== undefined &&
    tokensOf(next) > maxTokens &&
    !(state.finalizing && tokensOf(state) > maxTokens)
  ) {
    const error = new RunError('budget-exceeded', `token budget of ${maxTokens} exceeded`, {
      runId: state.runId,
    })
    const settled = settleAll(calls, 'Not run: the token budget was exhausted.', parts)
    return fail(next, error.toJSON(), settled, 'length', parts)
  }
  const { maxCostUsd, price } = state.policy
  const overBudget =
    maxCostUsd !== undefined &&
    (price !== undefined || state.charged !== undefined) &&
    spentOf(next) >= maxCostUsd
  if (calls.length === 0 || state.finalizing || overBudget) {
    const note = overBudget ? 'Not run: the cost budget was reached.' : 'Not run: the step limit was reached.'
    const settled = settleAll(calls, note, parts)
    if (settled.length > 0) next.messages = appended(next.messages, { role: 'tool', content: settled })
    const answer = event.output !== undefined ? event.output : textOf(event.message)
    // Cut short by the budget with work left: say so as a length stop, as a token limit would.
    const finishReason = overBudget && calls.length > 0 ? 'length' : event.finishReason
    parts.push({ type: 'finish-step' }, { type: 'finish', finishReason })
    next.phase = 'completed'
    next.answer = answer
    next.finishReason = finishReason
    return [next, [emit(parts), { type: 'finish', phase: 'completed', answer, error: null }]]
  }
  const commands: Command[] = []
  // Copied only when a human request is added.
  let pending: HumanRequest[] | undefined
  const requestedAt = event.at ?? 0
  const toolCalls: ToolCallState[] = []
  let rejected = 0
  for (const call of calls) {
    const plan = planOf(event.plan, call.id)
    const toolCallId = call.id
    const toolName = call.name
    const input = call.input
    switch (plan.action) {
      case 'reject':
        parts.push({ type: 'tool-input-error', toolCallId, toolName, input, errorText: plan.error })
        rejected += 1
        toolCalls.push(notRun(call, plan.error))
        break
      case 'execute':
        parts.push({ type: 'tool-input-available', toolCallId, toolName, input })
        commands.push(callTool(state, { toolCallId, toolName, input }))
        toolCalls.push(
          plan.final
            ? { toolCallId, toolName, input, sideEffects: plan.sideEffects, status: 'queued', final: true }
            : { toolCallId, toolName, input, sideEffects: plan.sideEffects, status: 'queued' },
        )
        break
      case 'approve': {
        const timeout = state.policy.approvalTimeoutMs
        const request: HumanRequest = {
          requestId: toolCallId,
          kind: 'approval',
          toolName,
          input,
          requestedAt,
          ...(timeout === undefined ? {} : { expiresAt: requestedAt + timeout }),
        }
        pending ??= [...state.pending]
        pending.push(request)
        parts.push(
          { type: 'tool-input-available', toolCallId, toolName, input },
          { type: 'tool-approval-request', approvalId: toolCallId, toolCallId },
        )
        commands.push({ type: 'request-approval', request })
        toolCalls.push({ toolCallId, toolName, input, sideEffects: plan.sideEffects, status: 'approval' })
        break
      }
      case 'deny': {
        const error = `Denied by policy: ${plan.reason}. Do not retry this call unchanged.`
        parts.push(
          { type: 'tool-input-available', toolCallId, toolName, input },
          { type: 'tool-output-denied', toolCallId },
        )
        rejected += 1
        toolCalls.push(notRun(call, error))
        break
      }
      default: {
        // 'ask-human'
        const request: HumanRequest = {
          requestId: toolCallId,
          kind: 'question',
          toolName,
          input,
          question: plan.question,
          requestedAt,
        }
        pending ??= [...state.pending]
        pending.push(request)
        parts.push(
          { type: 'tool-input-available', toolCallId, toolName, input },
          {
            type: 'data-vel-human-request',
            id: toolCallId,
            data: { requestId: toolCallId, question: plan.question },
          },
        )
        commands.push({ type: 'contact-human', request })
        toolCalls.push({ toolCallId, toolName, input, sideEffects: 'none', status: 'question' })
      }
    }
  }
  next.toolCalls = toolCalls
  if (pending !== undefined) next.pending = pending
  next.toolErrors = state.toolErrors + rejected
  const result = afterResolution(next, parts)
  for (const command of commands) result[1].push(command)
  return result
}

/** A call the plan does not run (rejected, denied): done already, with an error result. */
const notRun = (call: ToolCallPart, error: string): ToolCallState => ({
  toolCallId: call.id,
  toolName: call.name,
  input: call.input,
  sideEffects: 'none',
  status: 'done',
  result: resultOf(call, { error }),
})

/** The plan for a call (the last one given for its id, as a map of them would keep). */
function planOf(plans: ReadonlyArray<ToolPlan>, toolCallId: string): ToolPlan {
  for (let index = plans.length - 1; index >= 0; index--) {
    const plan = plans[index] as ToolPlan
    if (plan.toolCallId === toolCallId) return plan
  }
  return { toolCallId, action: 'reject', error: 'No plan for this tool call.' }
}

/** Records one tool result, then moves on if the step's calls are all resolved. */
function resolve(
  state: RunState,
  call: ToolCallState,
  outcome: { output: JsonValue } | { error: string },
  parts: StreamPart[],
): Result {
  // Spelled out: a spread of the call followed by the key it lacks (`result`) takes V8's slow path.
  const result = resultOf(call, outcome)
  const { toolCallId, toolName, input, sideEffects } = call
  const done: ToolCallState = call.final
    ? { toolCallId, toolName, input, sideEffects, status: 'done', result, final: true }
    : { toolCallId, toolName, input, sideEffects, status: 'done', result }
  const toolCalls: ToolCallState[] = []
  for (const existing of state.toolCalls)
    toolCalls.push(existing.toolCallId === call.toolCallId ? done : existing)
  return afterResolution(
    { ...state, toolErrors: 'error' in outcome ? state.toolErrors + 1 : state.toolErrors, toolCalls },
    parts,
  )
}

/**
 * Sets the phase from the step's calls; when all are done, appends the results and calls the model.
 * `state` is a new state of the caller's own making: it is filled in, not copied again.
 */
function afterResolution(state: Draft, parts: StreamPart[]): Result {
  let open = false
  let acting = false
  for (const call of state.toolCalls) {
    if (call.status === 'done') continue
    open = true
    if (call.status === 'queued' || call.status === 'running') acting = true
  }
  if (open) {
    state.phase = acting ? 'acting' : 'waiting'
    return [state, parts.length > 0 ? [emit(parts)] : []]
  }
  const results: ToolResultPart[] = []
  let handoff: ToolCallState | undefined
  for (const call of state.toolCalls) {
    results.push(call.result as ToolResultPart)
    if (handoff === undefined && call.final && call.result && 'output' in call.result) handoff = call
  }
  state.toolCalls = none
  state.pending = none
  state.messages = appended(state.messages, { role: 'tool', content: results })
  if (handoff?.result && 'output' in handoff.result) {
    // Control passed to another agent: its answer is this run's answer.
    const answer = handoff.result.output
    parts.push({ type: 'finish-step' }, { type: 'finish', finishReason: 'stop' })
    state.phase = 'completed'
    state.answer = answer
    return [state, [emit(parts), { type: 'finish', phase: 'completed', answer, error: null }]]
  }
  const finalizing = state.finalizing || stepsOf(state) >= state.policy.maxSteps
  parts.push({ type: 'finish-step' }, { type: 'start-step' })
  state.phase = 'thinking'
  state.finalizing = finalizing
  return [state, [emit(parts), { type: 'call-model', step: state.step + 1, tools: !finalizing }]]
}

/** A new state being made by one transition: filled in before it is returned, never after. */
type Draft = { -readonly [Key in keyof RunState]: RunState[Key] }

/** Shared empty lists of a state (states are never mutated, so one instance serves them all). */
const none: ReadonlyArray<never> = Object.freeze([])

/**
 * A copy of `messages` with `message` at the end, in one allocation of the exact size (a slice and
 * then a push allocated the array twice, the second time half as large again).
 */
const appended = (messages: ReadonlyArray<Message>, message: Message): Message[] => messages.concat(message)

/** Tokens counted against `maxTokens`: the run's own and its descendants'. */
const tokensOf = (state: RunState): number =>
  state.usage.inputTokens +
  state.usage.outputTokens +
  (state.charged ? state.charged.usage.inputTokens + state.charged.usage.outputTokens : 0)

/** Dollars counted against `maxCostUsd`: the run's own calls at its price, and its descendants'. */
const spentOf = (state: RunState): number =>
  (state.policy.price === undefined ? 0 : costOf(state.usage, state.policy.price)) +
  (state.charged?.costUsd ?? 0)

/** Model calls counted against `maxSteps`: the run's own (unless a pipeline's) and its descendants'. */
const stepsOf = (state: RunState): number =>
  (state.policy.countOwnSteps === false ? 0 : state.step) + (state.charged?.steps ?? 0)

/**
 * A child's progress: its parts join the stream and its model calls, tokens and cost are charged
 * here. Descendants that go past this run's `maxSteps` or `maxTokens`, or reach its `maxCostUsd`
 * (as the run's own calls do), are stopped (their calls get a
 * synthetic result, their handlers are aborted, which cancels the child runs) and the run makes its
 * one tool-less summarizing call, as when its own steps run out.
 */
function childReported(state: RunState, event: Extract<RunEvent, { type: 'child.reported' }>): Result {
  const charged = {
    steps: (state.charged?.steps ?? 0) + event.steps,
    usage: addUsage(state.charged?.usage ?? emptyUsage(), event.usage),
    costUsd: (state.charged?.costUsd ?? 0) + (event.costUsd ?? 0),
  }
  const next: RunState = {
    ...state,
    children: { ...state.children, [event.childRunId]: event.seq },
    charged,
  }
  const parts = [...event.parts]
  const { maxTokens, maxCostUsd } = state.policy
  const exhausted = state.finalizing
    ? undefined
    : maxTokens !== undefined && tokensOf(next) > maxTokens
      ? 'token'
      : stepsOf(next) > state.policy.maxSteps
        ? 'step'
        : maxCostUsd !== undefined && spentOf(next) >= maxCostUsd
          ? 'cost'
          : undefined
  if (exhausted === undefined) return [next, parts.length > 0 ? [emit(parts)] : []]
  const note = `Stopped: the ${exhausted} budget of this run and its children was exhausted.`
  let settled: RunState = { ...next, finalizing: true, pending: [] }
  let toolErrors = settled.toolErrors
  for (const call of settled.toolCalls) {
    if (call.status === 'done') continue
    parts.push({ type: 'tool-output-error', toolCallId: call.toolCallId, errorText: note })
    toolErrors += 1
    settled = withCall(settled, { ...call, status: 'done', result: resultOf(call, { error: note }) })
  }
  const [advanced, commands] = afterResolution({ ...settled, toolErrors }, parts)
  return [advanced, [{ type: 'abort-inflight', reason: note }, ...commands]]
}

/** Ends a run early (cancel, budget): every open tool call gets a synthetic result first. */
function stop(state: RunState, phase: 'cancelled' | 'failed', note: string, reason: string): Result {
  const parts: StreamPart[] = []
  let next = state
  if (state.toolCalls.length > 0) {
    const results = state.toolCalls.map((call) => {
      if (call.result) return call.result
      parts.push({ type: 'tool-output-error', toolCallId: call.toolCallId, errorText: note })
      return resultOf(call, { error: note })
    })
    next = { ...state, toolCalls: [], messages: [...state.messages, { role: 'tool', content: results }] }
  }
  next = { ...next, pending: [] }
  if (phase === 'cancelled') {
    parts.push({ type: 'finish-step' }, { type: 'abort', reason }, { type: 'finish', finishReason: 'other' })
    return [
      { ...next, phase: 'cancelled' },
      [
        { type: 'abort-inflight', reason },
        emit(parts),
        { type: 'finish', phase: 'cancelled', answer: null, error: null },
      ],
    ]
  }
  const error = new RunError('budget-exceeded', note, { runId: state.runId }).toJSON()
  const [failed, commands] = fail(next, error, [], 'other', parts)
  return [failed, [{ type: 'abort-inflight', reason }, ...commands]]
}

function fail(
  state: RunState,
  error: SerializedError,
  settled: ToolResultPart[],
  finishReason: FinishReason,
  parts: StreamPart[] = [],
): Result {
  const messages =
    settled.length > 0 ? [...state.messages, { role: 'tool', content: settled } as Message] : state.messages
  parts.push(
    { type: 'finish-step' },
    { type: 'error', errorText: `${error.reason}: ${error.message}` },
    { type: 'finish', finishReason },
  )
  return [
    { ...state, messages, phase: 'failed', error, pending: [], toolCalls: [] },
    [emit(parts), { type: 'finish', phase: 'failed', answer: null, error }],
  ]
}

/** Synthetic error results for tool calls that will not run, with their stream parts. */
function settleAll(calls: ReadonlyArray<ToolCallPart>, note: string, parts: StreamPart[]): ToolResultPart[] {
  return calls.map((call) => {
    parts.push(
      { type: 'tool-input-available', toolCallId: call.id, toolName: call.name, input: call.input },
      { type: 'tool-output-error', toolCallId: call.id, errorText: note },
    )
    return { type: 'tool-result', toolCallId: call.id, toolName: call.name, error: note }
  })
}

/**
 * The id of content block `index` of the response to model call `step` (1-based), streamed by the
 * owner of lease `epoch`: the same live and in replays, and never reused by a re-run after a takeover.
 */
export const blockId = (step: number, index: number, epoch?: number): string =>
  epoch === undefined ? `${step}-${index}` : `${step}-${index}.${epoch}`

/** Text and reasoning blocks of a response, for readers that did not see it streamed live. */
export function contentParts(message: AssistantMessage, step: number, epoch?: number): StreamPart[] {
  const parts: StreamPart[] = []
  message.content.forEach((part, index) => {
    const id = blockId(step, index, epoch)
    if (part.type === 'text' && part.text !== '')
      parts.push(
        { type: 'text-start', id },
        { type: 'text-delta', id, delta: part.text },
        { type: 'text-end', id },
      )
    if (part.type === 'reasoning')
      parts.push(
        { type: 'reasoning-start', id },
        { type: 'reasoning-delta', id, delta: part.text },
        { type: 'reasoning-end', id },
      )
  })
  return parts
}

const findCall = (state: RunState, toolCallId: string): ToolCallState | undefined => {
  for (const call of state.toolCalls) if (call.toolCallId === toolCallId) return call
  return undefined
}

const withCall = (state: RunState, call: ToolCallState): RunState => ({
  ...state,
  toolCalls: state.toolCalls.map((existing) => (existing.toolCallId === call.toolCallId ? call : existing)),
})

const resultOf = (
  call: { toolCallId: string; toolName: string } | ToolCallPart,
  outcome: { output: JsonValue } | { error: string },
): ToolResultPart => {
  const toolCallId = 'toolCallId' in call ? call.toolCallId : call.id
  const toolName = 'toolName' in call ? call.toolName : call.name
  return 'error' in outcome
    ? { type: 'tool-result', toolCallId, toolName, error: outcome.error }
    : { type: 'tool-result', toolCallId, toolName, output: outcome.output }
}

const callTool = (
  state: RunState,
  call: { toolCallId: string; toolName: string; input: JsonValue },
): Extract<Command, { type: 'call-tool' }> => ({
  type: 'call-tool',
  toolCallId: call.toolCallId,
  toolName: call.toolName,
  input: call.input,
  idempotencyKey: `${state.runId}:${call.toolCallId}`,
})

/**
 * What to do to continue a run loaded from the store: the model call or queued tool calls it was
 * about to make, and the human requests to publish again. Tool calls that were `running` are not
 * here: journal a `tool.interrupted` for each of `interruptedToolCalls(state)` first.
 */
export function resumeCommands(state: RunState): Command[] {
  switch (state.phase) {
    case 'thinking':
      return [{ type: 'call-model', step: state.step + 1, tools: !state.finalizing }]
    case 'acting':
    case 'waiting': {
      const commands: Command[] = []
      for (const call of state.toolCalls) {
        if (call.status === 'queued') commands.push(callTool(state, call))
      }
      for (const request of state.pending) {
        commands.push({ type: request.kind === 'approval' ? 'request-approval' : 'contact-human', request })
      }
      return commands
    }
    default:
      return []
  }
}

/** Tool calls whose `tool.started` was journaled without a result: the process stopped mid-call. */
export const interruptedToolCalls = (state: RunState): string[] =>
  state.toolCalls.filter((call) => call.status === 'running').map((call) => call.toolCallId)

/** The event as a reader that did not watch live replays it: streamed text comes whole. */
export const forReplay = (event: RunEvent): RunEvent =>
  (event.type === 'model.responded' || event.type === 'model.failed') && event.streamed
    ? { ...event, streamed: false }
    : event

/**
 * The stream parts a reader sees for a journal of events, as if it had watched live (text comes
 * whole per block instead of in deltas). Used to replay a run's stream from the store.
 */
export function partsFromEvents(events: Iterable<RunEvent>, state: RunState = emptyRunState): StreamPart[] {
  const parts: StreamPart[] = []
  let current = state
  for (const event of events) {
    const [next, commands] = step(current, forReplay(event))
    current = next
    for (const command of commands) if (command.type === 'emit') parts.push(...command.parts)
  }
  return parts
}

/**
 * The state after applying `events` in order to `state` (default: before `run.started`): the
 * reducer walked by hand, as replay does. Illegal events leave the state as it was, as in `step`.
 */
export function stateFromEvents(events: Iterable<RunEvent>, state: RunState = emptyRunState): RunState {
  let current = state
  for (const event of events) current = step(current, event)[0]
  return current
}
