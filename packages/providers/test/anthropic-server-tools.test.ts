import type { Message } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { createAnthropicModel } from '../src/anthropic.ts'
import { assistantFrom, collectOk, finishOf, sse, textOf, useFakeServer } from './support.ts'

const fake = useFakeServer()

const model = () =>
  createAnthropicModel({ model: 'claude-sonnet-5-5', apiKey: 'sk-ant-test', baseURL: fake().url })
const hello = { messages: [{ role: 'user', content: 'Hi' }] as Message[] }

// Shaped like a recorded web-search response: the API runs `server_tool_use` blocks itself and
// streams their input and results, which are not calls for the client to make.
describe('anthropic server tools', () => {
  const searchId = 'srvtoolu_01Bj5uzzLcYG5hfueSLcDH8k'
  const webSearch = (clientTool: boolean) =>
    sse(
      [
        {
          type: 'message_start',
          message: {
            id: 'msg_01LHpEgU4KbfgXGVi3UtHQY1',
            type: 'message',
            role: 'assistant',
            model: 'claude-sonnet-4-20250514',
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: {
              input_tokens: 2037,
              cache_creation_input_tokens: 0,
              cache_read_input_tokens: 0,
              output_tokens: 3,
            },
          },
        },
        {
          type: 'content_block_start',
          index: 0,
          content_block: { type: 'server_tool_use', id: searchId, name: 'web_search', input: {} },
        },
        { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '' } },
        {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'input_json_delta', partial_json: '{"query": "t' },
        },
        {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'input_json_delta', partial_json: 'ech news"}' },
        },
        { type: 'content_block_stop', index: 0 },
        {
          type: 'content_block_start',
          index: 1,
          content_block: {
            type: 'web_search_tool_result',
            tool_use_id: searchId,
            content: [
              {
                type: 'web_search_result',
                title: 'Apple Ginza opens',
                url: 'https://www.apple.com/newsroom/',
                encrypted_content: 'EqgfCioIBhgC',
                page_age: 'September 26, 2025',
              },
            ],
          },
        },
        { type: 'content_block_stop', index: 1 },
        { type: 'content_block_start', index: 2, content_block: { citations: [], type: 'text', text: '' } },
        {
          type: 'content_block_delta',
          index: 2,
          delta: {
            type: 'citations_delta',
            citation: {
              type: 'web_search_result_location',
              cited_text: 'Apple today announced the grand reopening of Apple Ginza.',
              url: 'https://www.apple.com/newsroom/',
              title: 'Apple Ginza opens',
              encrypted_index: 'EpABCioIBhgC',
            },
          },
        },
        {
          type: 'content_block_delta',
          index: 2,
          delta: { type: 'text_delta', text: 'Apple reopened Ginza.' },
        },
        { type: 'content_block_stop', index: 2 },
        ...(clientTool
          ? [
              {
                type: 'content_block_start',
                index: 3,
                content_block: {
                  type: 'tool_use',
                  id: 'toolu_01KFbKqPYSuAKujiL6mTfzYA',
                  name: 'save_note',
                  input: {},
                },
              },
              {
                type: 'content_block_delta',
                index: 3,
                delta: { type: 'input_json_delta', partial_json: '{"text": "Ginza"}' },
              },
              { type: 'content_block_stop', index: 3 },
            ]
          : []),
        {
          type: 'message_delta',
          delta: { stop_reason: clientTool ? 'tool_use' : 'end_turn', stop_sequence: null },
          usage: { input_tokens: 15665, output_tokens: 795, server_tool_use: { web_search_requests: 1 } },
        },
        { type: 'message_stop' },
      ],
      { named: true },
    )

  it('keeps a server tool (web search) and its result out of the client tool parts', async () => {
    fake().reply({ body: webSearch(false) })
    const parts = await collectOk(model().stream(hello))
    expect(parts.filter((part) => part.type.startsWith('tool-'))).toEqual([])
    expect(textOf(parts)).toBe('Apple reopened Ginza.')
    expect(finishOf(parts).finishReason).toBe('stop')
    expect(assistantFrom(parts).content).toEqual([{ type: 'text', text: 'Apple reopened Ginza.' }])
  })

  it('streams only the client tool call when a server tool ran before it', async () => {
    fake().reply({ body: webSearch(true) })
    const parts = await collectOk(model().stream(hello))
    const id = 'toolu_01KFbKqPYSuAKujiL6mTfzYA'
    expect(parts.filter((part) => part.type.startsWith('tool-'))).toEqual([
      { type: 'tool-input-start', id, toolName: 'save_note' },
      { type: 'tool-input-delta', id, delta: '{"text": "Ginza"}' },
      { type: 'tool-input-end', id },
      { type: 'tool-call', toolCallId: id, toolName: 'save_note', input: '{"text": "Ginza"}' },
    ])
    expect(finishOf(parts).finishReason).toBe('tool-calls')
  })
})
