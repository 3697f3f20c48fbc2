import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { Frame } from './run-stream.ts'

/** Headers of the AI SDK UI message stream protocol (v1), beyond the SSE ones Hono sets. */
export const uiMessageStreamHeaders: Readonly<Record<string, string>> = {
  'x-vercel-ai-ui-message-stream': 'v1',
  'x-accel-buffering': 'no',
}

/**
 * Answers with frames as a UI message stream over SSE: one `data: <json>` event per part with its
 * `id:`, then `data: [DONE]`. The frames' signal aborts when the client goes away. A failure after
 * the first byte can only be reported in-band, as an `error` part.
 */
export function uiMessageStream(
  c: Context,
  frames: (signal: AbortSignal) => AsyncIterable<Frame>,
  headers: Readonly<Record<string, string>> = {},
  keepAliveMs = 15_000,
): Response {
  for (const [name, value] of Object.entries({ ...uiMessageStreamHeaders, ...headers })) c.header(name, value)
  return streamSSE(c, async (stream) => {
    const controller = new AbortController()
    stream.onAbort(() => controller.abort())
    // A comment line now and then keeps proxies from closing a stream that waits (e.g. on a human).
    const keepAlive = setInterval(
      () => void stream.write(': keep-alive\n\n').catch(() => undefined),
      keepAliveMs,
    )
    let lastId: string | undefined
    try {
      for await (const frame of frames(controller.signal)) {
        if (stream.aborted) break
        if (frame.id !== undefined) lastId = frame.id
        await stream.writeSSE({
          ...(frame.id === undefined ? {} : { id: frame.id }),
          data: JSON.stringify(frame.part),
        })
      }
    } catch (error) {
      if (stream.aborted) return
      const errorText = error instanceof Error ? error.message : String(error)
      await stream.writeSSE({ data: JSON.stringify({ type: 'error', errorText }) })
    } finally {
      clearInterval(keepAlive)
      controller.abort()
    }
    if (!stream.aborted)
      await stream.writeSSE({ data: '[DONE]', ...(lastId === undefined ? {} : { id: lastId }) })
  })
}
