import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

/*
 * Follows docs/getting-started.md as written: its `agents.ts` and program, saved in a folder at
 * the repository root (where the guide says to work), run with `pnpm exec vel` and `pnpm exec tsx`.
 * The one change: the OpenAI model is swapped for a scripted one, so no key or network is needed.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url))
const guide = readFileSync(join(root, 'docs/getting-started.md'), 'utf8')
const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string)
const agentsBlock = blocks.find((block) => block.startsWith('// agents.ts'))
const programBlock = blocks.find((block) => block.includes("from './agents.ts'"))

const openAiModel = /^\s*model: \{ provider: 'openai'.*$/m
const scriptedModel = `    model: createScriptedModel({
      respond: (request) => {
        const last = request.messages.at(-1)
        if (last?.role !== 'tool') return { toolCalls: [{ name: 'add', input: { a: 2, b: 40 } }] }
        const [result] = last.content as Array<{ output?: unknown }>
        return { text: \`The sum is \${JSON.stringify(result?.output)}.\` }
      },
    }),`

// A folder at the repository root, as a reader's own files would be; removed afterwards.
const dir = mkdtempSync(join(root, '.getting-started-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const run = (command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(command, args, { cwd: dir, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })

describe('docs/getting-started.md, followed as written', () => {
  it('has an agents.ts and a program that uses it', () => {
    expect(agentsBlock).toMatch(openAiModel)
    expect(programBlock).toContain('createRuntime')
  })

  it('runs its agents.ts from the repository root with the vel command and with the program', async () => {
    const agents = `import { createScriptedModel } from '@vel/providers/testing'\n${(agentsBlock as string).replace(openAiModel, scriptedModel)}`
    writeFileSync(join(dir, 'agents.ts'), agents)
    writeFileSync(join(dir, 'main.ts'), programBlock as string)

    const cli = await run('pnpm', [
      'exec',
      'vel',
      'run',
      'calc',
      'What is 2 + 40?',
      '--agents',
      './agents.ts',
      '--store',
      'sqlite:./vel.db',
    ])
    expect(cli.stderr).not.toContain('Cannot find')
    expect(cli).toMatchObject({ code: 0, stdout: 'The sum is 42.\n' })

    const program = await run('pnpm', ['exec', 'tsx', 'main.ts'])
    expect(program.stderr).toBe('')
    expect(program).toMatchObject({ code: 0, stdout: 'The sum is 42.' })
  })
})
