/**
 * The peer: LangGraph.js running the same script. A `BaseChatModel` that answers from the
 * conversation, the `add` tool, and the usual agent graph (model node, `ToolNode`, `toolsCondition`)
 * with the memory saver or the SQLite checkpointer (WAL, synchronous=NORMAL).
 */
import { BaseChatModel } from '@langchain/core/language_models/chat_models'
import { AIMessage, type BaseMessage } from '@langchain/core/messages'
import type { ChatResult } from '@langchain/core/outputs'
import { tool } from '@langchain/core/tools'
import { END, MemorySaver, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph'
import { ToolNode, toolsCondition } from '@langchain/langgraph/prebuilt'
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite'
import { addDescription, addInputSchema, decide, stepsIn } from './script.ts'
import type { StoreKind } from './vel.ts'

const textOf = (message: BaseMessage): string =>
  typeof message.content === 'string'
    ? message.content
    : message.content
        .map((part) => ('text' in part && typeof part.text === 'string' ? part.text : ''))
        .join('')

/** The scripted model as a LangChain chat model. */
class ScriptedChatModel extends BaseChatModel {
  constructor(private readonly onCall?: (results: number) => void | Promise<void>) {
    super({})
  }

  _llmType(): string {
    return 'scripted'
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const results: Array<number | undefined> = []
    let prompt = ''
    for (const message of messages) {
      const type = message.getType()
      if (type === 'tool') {
        const status = (message as BaseMessage & { status?: string }).status
        results.push(status === 'error' ? undefined : Number(textOf(message)))
      } else if (type === 'human' && prompt === '') prompt = textOf(message)
    }
    if (this.onCall) await this.onCall(results.length)
    const decision = decide(stepsIn(prompt), results)
    const message =
      decision.type === 'call'
        ? new AIMessage({
            content: '',
            tool_calls: [
              { id: decision.id, name: 'add', args: { a: decision.a, b: decision.b }, type: 'tool_call' },
            ],
          })
        : new AIMessage({ content: decision.text })
    return { generations: [{ text: decision.type === 'answer' ? decision.text : '', message }] }
  }
}

/** Options of `createLangGraph`. */
export interface LangGraphOptions {
  readonly store: StoreKind
  readonly filename?: string
  readonly onTool?: (input: { a: number; b: number }) => void | Promise<void>
  readonly onModelCall?: (results: number) => void | Promise<void>
  /** LangGraph's checkpoint durability; default `async` (its default). */
  readonly durability?: 'async' | 'sync' | 'exit'
}

export async function createLangGraph(options: LangGraphOptions) {
  let saver: MemorySaver | SqliteSaver
  if (options.store === 'memory') saver = new MemorySaver()
  else {
    const sqlite = SqliteSaver.fromConnString(options.filename ?? ':memory:')
    sqlite.db.pragma('journal_mode = WAL')
    sqlite.db.pragma('synchronous = NORMAL')
    saver = sqlite
  }
  const onTool = options.onTool
  const add = tool(
    async (input: { a: number; b: number }) => {
      if (onTool) await onTool(input)
      return input.a + input.b
    },
    { name: 'add', description: addDescription, schema: addInputSchema },
  )
  const model = new ScriptedChatModel(options.onModelCall)
  const graph = new StateGraph(MessagesAnnotation)
    .addNode('agent', async (state: typeof MessagesAnnotation.State) => ({
      messages: [await model.invoke(state.messages)],
    }))
    .addNode('tools', new ToolNode([add]))
    .addEdge(START, 'agent')
    .addConditionalEdges('agent', toolsCondition, ['tools', END])
    .addEdge('tools', 'agent')
    .compile({ checkpointer: saver })
  const config = (threadId: string) => ({
    configurable: { thread_id: threadId },
    recursionLimit: 10_000,
    durability: options.durability ?? ('async' as const),
  })
  const answerOf = (state: typeof MessagesAnnotation.State): string => {
    const last = state.messages.at(-1)
    return last === undefined ? '' : textOf(last)
  }
  return {
    graph,
    saver,
    async run(prompt: string, threadId: string): Promise<string> {
      return answerOf(await graph.invoke({ messages: [{ role: 'user', content: prompt }] }, config(threadId)))
    },
    /** Continues a thread from its last checkpoint without new input. */
    async resume(threadId: string): Promise<string> {
      return answerOf(await graph.invoke(null, config(threadId)))
    },
    /** The thread's messages as `role:text` lines. */
    async conversation(threadId: string): Promise<string[]> {
      const state = await graph.getState({ configurable: { thread_id: threadId } })
      const messages = (state.values as typeof MessagesAnnotation.State).messages ?? []
      return messages.map((message) => `${message.getType()}:${textOf(message)}`)
    },
    checkpointWal(): void {
      if (saver instanceof SqliteSaver) saver.db.pragma('wal_checkpoint(TRUNCATE)')
    },
    async close(): Promise<void> {
      if (saver instanceof SqliteSaver) saver.db.close()
    },
  }
}
