/** The `vel` executable's entry (bin/vel.js registers tsx, then imports this). */
import { main } from './cli.ts'

// A reader that went away (`vel runs show … | head -4`) is not an error: stop writing and finish.
let stdoutClosed = false
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') stdoutClosed = true
  else fail(error)
})

// Nothing may end the CLI with a stack trace: whatever escaped a command is one line and exit 1.
function fail(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error)
  const detail = process.env.VEL_DEBUG && error instanceof Error ? (error.stack ?? message) : message
  process.stderr.write(`vel: ${detail}\n`)
  process.exit(1)
}
process.on('uncaughtException', fail)
process.on('unhandledRejection', fail)

// A command whose promise can no longer settle (nothing left on the event loop) would end with
// Node's exit code 13 and no word; say so in one line instead.
let settled = false
process.on('beforeExit', () => {
  if (settled) return
  settled = true
  const command = process.argv.slice(2, 3).join(' ') || 'vel'
  process.stderr.write(`vel ${command}: stopped: nothing was left to wait for, and no result came\n`)
  process.exitCode = 1
})

process.exitCode = await main(process.argv.slice(2), {
  stdout: {
    write: (text: string) => stdoutClosed || process.stdout.write(text),
    get isTTY() {
      return process.stdout.isTTY
    },
  },
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
})
settled = true
