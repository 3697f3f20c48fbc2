import type { JsonValue, RunRecord, StreamPart } from '@vel/core'
import type { Io } from './command.ts'

/** ANSI styles, or plain text when the output is not a terminal or `NO_COLOR` is set. */
export interface Styles {
  readonly bold: (text: string) => string
  readonly dim: (text: string) => string
  readonly green: (text: string) => string
  readonly yellow: (text: string) => string
  readonly red: (text: string) => string
  readonly cyan: (text: string) => string
}

/** Styles for `io`'s terminal. */
export function stylesFor(io: Io): Styles {
  const on = io.stdout.isTTY === true && io.env.NO_COLOR === undefined
  const style = (code: number) => (text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text)
  return {
    bold: style(1),
    dim: style(2),
    green: style(32),
    yellow: style(33),
    red: style(31),
    cyan: style(36),
  }
}

/** JSON on one line, cut at `max` characters. */
export const compact = (value: JsonValue | undefined, max = 200): string => {
  const text = JSON.stringify(value) ?? 'null'
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

/** Writes a value as pretty JSON (the `--json` output of every command). */
export const writeJson = (io: Io, value: unknown): void => {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

/**
 * Prints a run's stream for a person: the model's text on stdout (so `> answer.txt` keeps only
 * the answer), tool calls, results, requests and errors on stderr.
 */
export function createPartPrinter(io: Io): { print(part: StreamPart): void; end(): void } {
  const s = stylesFor(io)
  const tools = new Map<string, string>()
  let midLine = false
  /** The descendant agent whose part is being printed (pipelines), named before its notes. */
  let speaker: string | undefined
  const note = (text: string) => {
    if (midLine) io.stdout.write('\n')
    midLine = false
    io.stderr.write(`${speaker === undefined ? '' : s.dim(`[${speaker}] `)}${text}\n`)
  }
  const printer = {
    print(part: StreamPart): void {
      switch (part.type) {
        case 'text-delta':
          io.stdout.write(part.delta)
          midLine = !part.delta.endsWith('\n')
          break
        case 'text-end':
          if (midLine) io.stdout.write('\n')
          midLine = false
          break
        case 'tool-input-available':
          tools.set(part.toolCallId, part.toolName)
          note(`${s.cyan('⚙')} ${s.bold(part.toolName)} ${s.dim(compact(part.input))}`)
          break
        case 'tool-output-available':
          note(`  ${s.green('→')} ${s.dim(compact(part.output))}`)
          break
        case 'tool-output-error':
          note(`  ${s.red('✗')} ${s.dim(part.errorText)}`)
          break
        case 'tool-output-denied':
          note(`  ${s.red('✗')} ${s.dim('denied')}`)
          break
        case 'tool-approval-request':
          note(
            `${s.yellow('?')} ${s.bold(tools.get(part.toolCallId) ?? 'tool')} needs approval ${s.dim(`(${part.toolCallId})`)}`,
          )
          break
        case 'error':
          note(`${s.red('error')} ${part.errorText}`)
          break
        case 'abort':
          note(`${s.red('aborted')}${part.reason ? ` ${part.reason}` : ''}`)
          break
        default:
          if (part.type === 'data-vel-human-request') {
            const data = part.data as { requestId?: string; question?: string }
            note(`${s.yellow('?')} ${data.question ?? ''} ${s.dim(`(${data.requestId ?? ''})`)}`)
          } else if (part.type === 'data-vel-agent') {
            const data = part.data as { agentId?: string; status?: string }
            note(s.dim(`[${data.agentId} ${data.status}]`))
          } else if (part.type === 'data-vel-child' && !part.transient) {
            // A descendant's tool calls, requests and errors, named; its text stays off stdout
            // (which keeps only the answer).
            const child = part.data as { agentId?: string; part?: StreamPart }
            if (child.part !== undefined && fromChildren.has(child.part.type)) {
              speaker = child.agentId
              try {
                printer.print(child.part)
              } finally {
                speaker = undefined
              }
            }
          }
      }
    },
    end() {
      if (midLine) io.stdout.write('\n')
      midLine = false
    },
  }
  return printer
}

/** A descendant's parts that `vel run` shows (on stderr). */
const fromChildren: ReadonlySet<string> = new Set([
  'tool-input-available',
  'tool-output-available',
  'tool-output-error',
  'tool-output-denied',
  'tool-approval-request',
  'data-vel-human-request',
  'error',
  'abort',
])

/** The commands that continue a waiting run, one per pending request. */
export function nextSteps(runId: string, pending: ReadonlyArray<JsonValue>): string[] {
  return pending.map((value) => {
    const request = value as {
      requestId: string
      kind: string
      toolName: string
      input: JsonValue
      question?: string
    }
    return request.kind === 'question'
      ? `  question ${request.requestId}: ${request.question ?? ''}\n    vel answer ${runId} ${request.requestId} "..."`
      : `  approval ${request.requestId}: ${request.toolName} ${compact(request.input, 120)}\n    vel approve ${runId} ${request.requestId}   (or: vel deny ${runId} ${request.requestId} --reason "...")`
  })
}

/** One line of `vel runs`. */
export function runLine(record: RunRecord): string {
  const when = new Date(record.updatedAt).toISOString().replace('T', ' ').slice(0, 19)
  return [
    record.runId.padEnd(36),
    record.agentId.padEnd(16),
    record.status.padEnd(9),
    when,
    record.sessionId ?? '-',
  ].join('  ')
}
