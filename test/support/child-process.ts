import { type ChildProcess, spawn } from 'node:child_process'

/**
 * A worker process of the crash and start-up tests (actors, store): `node --import tsx <script>
 * <options as JSON>`.
 */
export interface Worker {
  readonly child: ChildProcess
  /** Its stdout once it exits (with 0, or by SIGKILL); rejects on any other exit. */
  readonly output: Promise<string>
  /** Resolves when it prints KILLPOINT (it stands at the crash point, blocked). */
  readonly killpoint: Promise<void>
}

export function startWorker(script: string, options: object): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let reached: () => void
  const killpoint = new Promise<void>((resolve) => {
    reached = resolve
  })
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    if (stdout.includes('KILLPOINT')) reached()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const output = new Promise<string>((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (code === 0 || signal === 'SIGKILL') resolve(stdout)
      else reject(new Error(`worker exited with ${code ?? signal}: ${stderr}`))
    })
  })
  return { child, output, killpoint }
}

/** Waits for the worker to reach its kill point (failing if it exits first), then SIGKILLs it. */
export async function killAtKillpoint(worker: Worker): Promise<void> {
  await Promise.race([
    worker.killpoint,
    worker.output.then(() => Promise.reject(new Error('worker finished before the kill point'))),
  ])
  worker.child.kill('SIGKILL')
  await worker.output
}

/** The JSON a worker printed on its line starting with `tag `. */
export function printed<T>(stdout: string, tag: string): T {
  const line = stdout.split('\n').find((candidate) => candidate.startsWith(`${tag} `))
  if (line === undefined) throw new Error(`the worker printed no ${tag}: ${stdout}`)
  return JSON.parse(line.slice(tag.length + 1)) as T
}
