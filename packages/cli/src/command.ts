import { parseArgs } from 'node:util'
import { UsageError } from './usage-error.ts'

/** One flag of a command, with what `--help` says about it. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly short?: string
  /** Shown in help after the flag, e.g. `<file>`. */
  readonly placeholder?: string
  readonly description: string
}

/** Where a command writes, and what it knows about its terminal. */
export interface Io {
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean }
  readonly stderr: { write(text: string): unknown }
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean }
  readonly env: Readonly<Record<string, string | undefined>>
}

/** What a command receives: its flags (validated by `parseArgs`, strict) and positionals. */
export interface Invocation {
  readonly values: Readonly<Record<string, string | boolean | undefined>>
  readonly positionals: ReadonlyArray<string>
  readonly io: Io
}

/** A `vel` command: its help and its implementation, which resolves to the exit code. */
export interface Command {
  /** As typed after `vel`, e.g. `runs show`. */
  readonly name: string
  /** One line for the list of commands. */
  readonly summary: string
  /** Positional arguments in order, e.g. `['runId', 'toolCallId']`. */
  readonly positionals: ReadonlyArray<string>
  /** Optional trailing positionals, after the required ones. */
  readonly optionalPositionals?: ReadonlyArray<string>
  readonly options: Readonly<Record<string, OptionSpec>>
  /** Paragraphs after the usage line: what it does, examples. */
  readonly description: string
  run(invocation: Invocation): Promise<number>
}

const helpOption: OptionSpec = { type: 'boolean', short: 'h', description: 'Show this help.' }

/** The usage line and full `--help` text of a command. */
export function helpText(command: Command): string {
  const args = [
    ...command.positionals.map((name) => `<${name}>`),
    ...(command.optionalPositionals ?? []).map((name) => `[${name}]`),
  ].join(' ')
  const options = { ...command.options, help: helpOption }
  const flags = Object.entries(options).map(([name, option]) => {
    const short = option.short ? `-${option.short}, ` : '    '
    return [`${short}--${name}${option.placeholder ? ` ${option.placeholder}` : ''}`, option.description]
  })
  const width = Math.max(...flags.map(([flag]) => (flag as string).length))
  return [
    `Usage: vel ${command.name}${args ? ` ${args}` : ''} [options]`,
    '',
    command.description.trim(),
    '',
    'Options:',
    ...flags.map(([flag, text]) => `  ${(flag as string).padEnd(width)}  ${text}`),
    '',
  ].join('\n')
}

/** Why `parseArgs` refused, in our words. */
const explain = (error: unknown, command: Command): string => {
  const code = (error as { code?: string }).code
  const message = (error as Error).message
  const flag = /'(-[^']*)'/.exec(message)?.[1]
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option '${flag ?? message}'`
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = /--([a-z-]+)/.exec(message)?.[1]
    const option = name ? command.options[name] : undefined
    return option?.type === 'string'
      ? `option '--${name}' needs a value${option.placeholder ? ` ${option.placeholder}` : ''}`
      : `option '--${name ?? flag}' takes no value`
  }
  return message.split('. ')[0] ?? message
}

/**
 * Parses a command's arguments strictly. Returns `undefined` when `--help` was asked for (the
 * caller prints the help); throws a `UsageError` for unknown flags, missing values or a wrong
 * number of positionals.
 */
export function parseInvocation(
  command: Command,
  argv: ReadonlyArray<string>,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } | undefined {
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...command.options, help: helpOption },
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    throw new UsageError(explain(error, command), command.name)
  }
  const values = parsed.values as Record<string, string | boolean | undefined>
  if (values.help === true) return undefined
  const positionals = parsed.positionals
  const required = command.positionals.length
  const max = required + (command.optionalPositionals?.length ?? 0)
  if (positionals.length < required) {
    const missing = command.positionals.slice(positionals.length).map((name) => `<${name}>`)
    throw new UsageError(`missing ${missing.join(' ')}`, command.name)
  }
  if (positionals.length > max)
    throw new UsageError(
      `unexpected argument '${positionals[max]}'${max === 0 ? ' (this command takes none)' : ''}`,
      command.name,
    )
  return { values, positionals }
}

/** A string flag, or `fallback`. */
export const stringFlag = (
  values: Invocation['values'],
  name: string,
  fallback?: string,
): string | undefined => {
  const value = values[name]
  return typeof value === 'string' ? value : fallback
}

/** The value of a port flag (`--port`, `--http`): an integer from 0 (any free port) to 65535. */
export function portFlag(text: string, flag: string, command: string): number {
  const port = Number(text)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--${flag} must be a port from 0 to 65535, not '${text}'`, command)
  return port
}
