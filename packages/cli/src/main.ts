/** The `vel` executable's entry (bin/vel.js registers tsx, then imports this). */
import { main } from './cli.ts'

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
})
