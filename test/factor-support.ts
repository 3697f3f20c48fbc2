/**
 * What the twelve-factor tests share: scripted models (no API, deterministic), a clock that moves
 * only when told, and a wait on a condition (never a fixed sleep).
 */
import type { Message, ModelRequest, ToolResultPart } from '@vel/core'
import { createScriptedModel, type ScriptedModel, type ScriptedResponse } from '@vel/providers/testing'

/** The last message of a request. */
export const lastMessage = (request: ModelRequest): Message | undefined => request.messages.at(-1)

/** The tool results of the request's last message, if it is a tool message. */
export const toolResults = (request: ModelRequest | undefined): ReadonlyArray<ToolResultPart> => {
  const last = request === undefined ? undefined : lastMessage(request)
  return last?.role === 'tool' ? last.content : []
}

/**
 * A model that, after each user message, asks for the tool calls of `calls` one response at a
 * time (the n-th assistant turn since that message makes the n-th), then answers `answer(request)`.
 */
export function toolThenAnswer(
  calls: ReadonlyArray<ScriptedResponse['toolCalls']>,
  answer: (request: ModelRequest) => string,
): ScriptedModel {
  return createScriptedModel({
    respond: (request) => {
      const since = request.messages.slice(
        request.messages.findLastIndex((message) => message.role === 'user'),
      )
      const step = since.filter((message) => message.role === 'assistant').length
      const next = calls[step]
      return next !== undefined ? { toolCalls: next } : { text: answer(request) }
    },
  })
}

/** A clock for `createRuntime({ now })`: it stands still until `advance`. */
export function manualClock(start = Date.UTC(2026, 0, 5, 9, 0)) {
  let time = start
  return {
    now: () => time,
    advance: (ms: number) => {
      time += ms
    },
  }
}

/** Resolves once `condition()` holds; checks every few milliseconds, for up to `limitMs`. */
export async function until(condition: () => boolean | Promise<boolean>, limitMs = 20_000): Promise<void> {
  const end = Date.now() + limitMs
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not reached')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
