/**
 * The pieces of the interleavings property test: a model and tools whose every step the test
 * grants (so the test decides, from a seed, what happens in which order), and a worker "process"
 * (runtime + NATS bus + NATS worker on its own connection) that can be crashed for good: its store
 * freezes (no call settles any more), its connection closes, and whatever it was running stays
 * stuck where it was, as after SIGKILL.
 */
import type { NatsConnection } from '@nats-io/transport-node'
import { Agent, contactHuman, type Runtime } from '@vel/actors'
import {
  defineTool,
  formatPosition,
  type LanguageModel,
  type Message,
  type ModelPart,
  type PositionedPart,
  type Store,
  type StreamPart,
} from '@vel/core'
import { createHttpApp } from '@vel/http'
import { readUIMessageStream, type UIMessage, type UIMessageChunk } from 'ai'
import type { NatsWorker } from '../src/index.ts'
import { startWorker } from './support.ts'

/** One model turn of a scenario: its text deltas, then (except the last turn) one tool call. */
export interface Turn {
  readonly deltas: ReadonlyArray<string>
  readonly tool?: 'add' | 'pay' | 'ask'
}

const usage = { inputTokens: 1, outputTokens: 1, reasoningTokens: 0, cachedInputTokens: 0 }

/** A model call or tool call in flight in some worker, waiting for the test to let it go on. */
export interface Pending {
  readonly worker: string
  readonly kind: 'model' | 'tool'
  readonly id: number
  /** Lets the call make one more step (a model: its next part; a tool: its outcome). */
  grant(ok?: boolean): void
  done: boolean
}

/** Every call in flight, newest last; the test grants steps to them. */
export class Gatekeeper {
  readonly calls: Pending[] = []
  private next = 0
  /** Workers that crashed: their calls never go on. */
  readonly dead = new Set<string>()
  /**
   * Model calls of an owner that lost its lease and does not know it yet: they are not let go on.
   * (Its live deltas would race the new owner's on the way to each reader, so readers could differ
   * on where the abandoned attempt's partial text goes; see ADR 0007.)
   */
  readonly stale = new Set<number>()

  /** Marks the model calls in flight in `worker` as stale. */
  supersede(worker: string): void {
    for (const call of this.calls)
      if (call.worker === worker && call.kind === 'model' && !call.done) this.stale.add(call.id)
  }

  /** The newest call of this kind, not done, in a live worker. */
  newest(kind: 'model' | 'tool'): Pending | undefined {
    for (let index = this.calls.length - 1; index >= 0; index--) {
      const call = this.calls[index] as Pending
      if (call.kind === kind && !call.done && !this.dead.has(call.worker) && !this.stale.has(call.id))
        return call
    }
    return undefined
  }

  /** A model call's parts, each one waiting for a grant; aborting the call ends it. */
  async *model(
    worker: string,
    parts: ReadonlyArray<ModelPart>,
    signal?: AbortSignal,
  ): AsyncGenerator<ModelPart> {
    let permits = 0
    let wake: (() => void) | undefined
    const call: Pending = {
      worker,
      kind: 'model',
      id: this.next++,
      done: false,
      grant: () => {
        permits += 1
        wake?.()
      },
    }
    this.calls.push(call)
    const aborted = () => wake?.()
    signal?.addEventListener('abort', aborted)
    try {
      for (const part of parts) {
        while (permits === 0 && !signal?.aborted) await new Promise<void>((resolve) => (wake = resolve))
        if (signal?.aborted) throw new Error('aborted')
        permits -= 1
        yield part
      }
    } finally {
      call.done = true
      signal?.removeEventListener('abort', aborted)
    }
  }

  /** A tool call's outcome, decided by the grant (`ok` false: it throws). */
  tool(worker: string, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const call: Pending = {
        worker,
        kind: 'tool',
        id: this.next++,
        done: false,
        grant: (ok = true) => {
          call.done = true
          resolve(ok)
        },
      }
      this.calls.push(call)
      signal?.addEventListener('abort', () => {
        call.done = true
        reject(new Error('aborted'))
      })
    })
  }
}

const toolCount = (messages: ReadonlyArray<Message>) =>
  messages.filter((message) => message.role === 'tool').length

/** The parts of turn `n` of a scenario: text deltas tagged with the turn, then its tool call. */
export function turnParts(turns: ReadonlyArray<Turn>, n: number): ModelPart[] {
  const turn = turns[Math.min(n, turns.length - 1)] as Turn
  const parts: ModelPart[] = [{ type: 'text-start', id: 'text-0' }]
  for (const [index, delta] of turn.deltas.entries())
    parts.push({ type: 'text-delta', id: 'text-0', delta: `[${n}.${index}]${delta} ` })
  parts.push({ type: 'text-end', id: 'text-0' })
  if (turn.tool !== undefined && n < turns.length - 1) {
    const id = `call_${n}`
    const name = turn.tool === 'ask' ? 'contactHuman' : turn.tool
    const input = JSON.stringify(turn.tool === 'ask' ? { question: `q${n}?` } : { cents: n })
    parts.push({ type: 'tool-input-start', id, toolName: name })
    parts.push({ type: 'tool-input-delta', id, delta: input })
    parts.push({ type: 'tool-input-end', id })
    parts.push({ type: 'tool-call', toolCallId: id, toolName: name, input })
  }
  parts.push({
    type: 'finish',
    finishReason: turn.tool && n < turns.length - 1 ? 'tool-calls' : 'stop',
    usage,
  })
  return parts
}

/**
 * The scenario's agent as seen from one worker: the model answers turn N after N tool results (a
 * pure function of the conversation, so a run resumed elsewhere gets the same answers); `add` is
 * idempotent, `pay` is unsafe and needs approval; `contactHuman` asks.
 */
export function scenarioAgent(worker: string, turns: ReadonlyArray<Turn>, gates: Gatekeeper): Agent {
  const model: LanguageModel = {
    provider: 'test',
    modelId: 'gated',
    stream: (request, options) =>
      gates.model(worker, turnParts(turns, toolCount(request.messages)), options?.signal),
  }
  const tool = (name: 'add' | 'pay') =>
    defineTool({
      name,
      description: name,
      input: { type: 'object', properties: { cents: { type: 'number' } } },
      handler: async ({ cents }: { cents?: number }, context) => {
        if (!(await gates.tool(worker, context.signal))) throw new Error(`${name} failed`)
        return `${name}-${cents ?? 0}`
      },
      sideEffects: name === 'add' ? 'idempotent' : 'unsafe',
      ...(name === 'pay' ? { needsApproval: true } : {}),
    })
  return new Agent({
    id: 'scenario',
    model,
    tools: [tool('add'), tool('pay'), contactHuman],
    policies: { retry: false },
  })
}

/**
 * A store whose calls all stop settling once `freeze()` is called, as in a process that died.
 */
export function freezable(store: Store): { store: Store; freeze(): void } {
  let frozen = false
  const never = () => new Promise<never>(() => undefined)
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver)
      if (typeof value !== 'function') return value
      return async (...args: unknown[]) => {
        if (frozen) return never()
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
        if (frozen) return never()
        return result
      }
    },
  })
  return {
    store: proxy,
    freeze: () => {
      frozen = true
    },
  }
}

/** One worker process: a runtime on a NATS bus with a NATS worker, on its own connection. */
export interface WorkerProcess {
  readonly name: string
  readonly runtime: Runtime
  readonly worker: NatsWorker
  readonly connection: NatsConnection
  alive: boolean
  /** Dies where it stands: the store freezes, the connection closes; nothing it does settles. */
  crash(): Promise<void>
  /** A clean stop (for the end of a test). */
  close(): Promise<void>
}

export async function startProcess(options: {
  name: string
  store: Store
  prefix: string
  agent: Agent
  leaseTtlMs: number
}): Promise<WorkerProcess> {
  const frozen = freezable(options.store)
  const { runtime, worker, connection } = await startWorker({
    store: frozen.store,
    prefix: options.prefix,
    agents: [options.agent],
    ownerId: options.name,
    leaseTtlMs: options.leaseTtlMs,
    worker: { jetstream: false, onError: () => undefined },
  })
  const process: WorkerProcess = {
    name: options.name,
    runtime,
    worker,
    connection,
    alive: true,
    async crash() {
      process.alive = false
      frozen.freeze()
      await connection.close()
    },
    async close() {
      if (!process.alive) return
      process.alive = false
      await worker.close()
      await runtime.shutdown({ graceMs: 0 })
      await connection.close()
    },
  }
  return process
}

/** One reader of a run: its parts so far (with their positions, where it has them), and how it ended. */
export interface Reader {
  readonly name: string
  readonly parts: StreamPart[]
  /** `position part-type` per part, for failure reports. */
  readonly trace: string[]
  ended: boolean
  failure?: unknown
  /** Inside the worker with this name (dies with it); undefined: in the observing process. */
  readonly process?: string
  readonly abort: AbortController
}

/** Starts reading `source` (parts, or positioned parts) in the background. */
export function read(
  name: string,
  source: (signal: AbortSignal) => AsyncIterable<StreamPart | PositionedPart>,
  process?: string,
): Reader {
  const reader: Reader = {
    name,
    parts: [],
    trace: [],
    ended: false,
    abort: new AbortController(),
    ...(process ? { process } : {}),
  }
  void (async () => {
    try {
      for await (const item of source(reader.abort.signal)) {
        const positioned = 'position' in item && 'part' in item ? (item as PositionedPart) : undefined
        const part = positioned?.part ?? (item as StreamPart)
        reader.parts.push(part)
        reader.trace.push(`${positioned ? formatPosition(positioned.position) : '-'} ${brief(part)}`)
      }
    } catch (error) {
      if (!reader.abort.signal.aborted) reader.failure = error
    } finally {
      reader.ended = true
    }
  })()
  return reader
}

/** A part in a few characters, for failure reports. */
export const brief = (part: StreamPart): string =>
  'delta' in part
    ? `${part.type}:${part.id}:${part.delta}`
    : 'id' in part
      ? `${part.type}:${part.id}`
      : part.type

/** The parts of an SSE response body as it streams (`data:` lines; `[DONE]` ends it). */
export async function* sseParts(response: Response): AsyncGenerator<StreamPart> {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    let end = buffer.indexOf('\n\n')
    while (end >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      end = buffer.indexOf('\n\n')
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n')
      if (data === '' || data === '[DONE]') continue
      yield JSON.parse(data) as StreamPart
    }
  }
}

/** The UI message the AI SDK's own client assembles from the parts. */
export async function assemble(parts: ReadonlyArray<StreamPart>): Promise<UIMessage | undefined> {
  const stream = new ReadableStream<UIMessageChunk>({
    start(controller) {
      for (const part of parts) controller.enqueue(part as UIMessageChunk)
      controller.close()
    },
  })
  let last: UIMessage | undefined
  for await (const message of readUIMessageStream<UIMessage>({ stream })) last = structuredClone(message)
  return last
}

/** Turn of a text delta (`[n.i]...`), or undefined. */
const turnOf = (part: StreamPart): number | undefined =>
  part.type === 'text-delta' ? Number(/^\[(\d+)\./.exec(part.delta)?.[1]) : undefined

/** Steps in order: turns only move forward, and a tool's outcome comes before the next turn's text. */
export function assertStepsInOrder(parts: ReadonlyArray<StreamPart>): void {
  let turn = 0
  for (const [index, part] of parts.entries()) {
    const n = turnOf(part)
    if (n !== undefined) {
      if (n < turn) throw new Error(`part ${index}: text of turn ${n} after turn ${turn}`)
      turn = n
    }
    if (
      part.type === 'tool-output-available' ||
      part.type === 'tool-output-error' ||
      part.type === 'tool-output-denied'
    ) {
      const call = Number(/^call_(\d+)$/.exec(part.toolCallId)?.[1])
      if (call < turn) throw new Error(`part ${index}: outcome of call_${call} after text of turn ${turn}`)
    }
  }
}

/** A runtime's decisions as a client of its HTTP app makes them: POSTs, throwing on an error status. */
export function overHttp(runtime: Runtime) {
  const app = createHttpApp({ runtime })
  const post = async (path: string, body: unknown): Promise<void> => {
    const response = await app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`)
  }
  return {
    approve: (runId: string, id: string, _options?: object) =>
      post(`/runs/${runId}/approvals/${id}`, { approved: true }),
    deny: (runId: string, id: string, options?: { reason?: string }) =>
      post(`/runs/${runId}/approvals/${id}`, { approved: false, reason: options?.reason }),
    respond: (runId: string, id: string, answer: string) => post(`/runs/${runId}/answers/${id}`, { answer }),
    cancel: (runId: string, reason?: string) => post(`/runs/${runId}/cancel`, { reason }),
  }
}
