import { type Command, helpText, type Io, parseInvocation } from './command.ts'
import { answerCommand, approveCommand, denyCommand, resumeCommand } from './commands/decide.ts'
import { mcpCommand } from './commands/mcp.ts'
import { runCommand } from './commands/run.ts'
import { runsCommand, runsShowCommand } from './commands/runs.ts'
import { serveCommand } from './commands/serve.ts'
import { usageCommand } from './commands/usage.ts'
import { UsageError } from './usage-error.ts'
import { version } from './version.ts'

/** Every command, in the order `vel --help` lists them. */
export const commands: ReadonlyArray<Command> = [
  serveCommand,
  mcpCommand,
  runCommand,
  runsCommand,
  runsShowCommand,
  usageCommand,
  approveCommand,
  denyCommand,
  answerCommand,
  resumeCommand,
]

/** `vel --help`. */
export function mainHelp(): string {
  const width = Math.max(...commands.map((command) => command.name.length))
  return [
    'Usage: vel <command> [arguments] [options]',
    '',
    'Runs Vel agents from a TypeScript module and manages their durable runs.',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Every command takes --help and --json; vel --version prints the version. Runs live in --store',
    '(default: $VEL_STORE or sqlite:./vel.db); agents come from --agents (default: $VEL_AGENTS or',
    './agents.ts).',
    '',
    'Exit codes: 0 done (or a run waiting for a human), 1 failed, 2 bad usage.',
    '',
  ].join('\n')
}

/** The command named by the first arguments (`runs show` before `runs`), and the rest. */
function findCommand(argv: ReadonlyArray<string>): { command: Command; rest: string[] } | undefined {
  const [first, second] = argv
  const two = commands.find((command) => command.name === `${first} ${second}`)
  if (two) return { command: two, rest: argv.slice(2) }
  const one = commands.find((command) => command.name === first)
  return one ? { command: one, rest: argv.slice(1) } : undefined
}

export { version } from './version.ts'

/** Runs the CLI on `argv` (without `node` and the script) and resolves to the exit code. */
export async function main(argv: ReadonlyArray<string>, io: Io): Promise<number> {
  const [first] = argv
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    ;(first === undefined ? io.stderr : io.stdout).write(mainHelp())
    return first === undefined ? 2 : 0
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    io.stdout.write(argv.includes('--json') ? `${JSON.stringify({ version })}\n` : `vel ${version}\n`)
    return 0
  }
  const found = findCommand(argv)
  if (found === undefined) {
    io.stderr.write(`vel: unknown command '${first}'\n\n${mainHelp()}`)
    return 2
  }
  const { command, rest } = found
  try {
    const parsed = parseInvocation(command, rest)
    if (parsed === undefined) {
      io.stdout.write(helpText(command))
      return 0
    }
    return await command.run({ ...parsed, io })
  } catch (error) {
    return reportError(error, command, io)
  }
}

/** Prints an error for a person and returns the exit code (2 for usage, 1 for the rest). */
function reportError(error: unknown, command: Command, io: Io): number {
  if (UsageError.isInstance(error)) {
    io.stderr.write(`vel ${error.command ?? command.name}: ${error.message}\n`)
    io.stderr.write(`Run 'vel ${error.command ?? command.name} --help' for usage.\n`)
    return 2
  }
  const tagged = error as { _tag?: unknown; reason?: unknown; message?: unknown } | null
  if (typeof tagged?._tag === 'string' && typeof tagged.reason === 'string') {
    // A Vel error (RunError, StoreError, ...): its message is written for people already.
    io.stderr.write(`vel ${command.name}: ${String(tagged.message)} (${tagged.reason})\n`)
    return 1
  }
  const text =
    error instanceof Error
      ? io.env.VEL_DEBUG
        ? (error.stack ?? error.message)
        : error.message
      : String(error)
  io.stderr.write(`vel ${command.name}: ${text}\n`)
  return 1
}
