/**
 * A mistake in how the command was called (unknown flag, missing argument, bad value). The CLI
 * prints its message and the command's usage line and exits with code 2, like most Unix tools.
 */
export class UsageError extends Error {
  readonly _tag = 'UsageError' as const
  /** The command whose `--help` the message points to (e.g. `runs show`), if known. */
  readonly command: string | undefined

  constructor(message: string, command?: string) {
    super(message)
    this.name = 'UsageError'
    this.command = command
  }

  /** True for a `UsageError`, also across module copies. */
  static isInstance(value: unknown): value is UsageError {
    return (value as { _tag?: unknown } | null)?._tag === 'UsageError'
  }
}
