import type { JsonObject } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { type McpCallPlan, toVelTool } from '../src/mcp-tool.ts'

const neverCalled = async () => {
  throw new Error('not called in this test')
}

describe('toVelTool', () => {
  it('validates against a draft-07 schema and still shows the model the schema as published', () => {
    const published = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { a: { type: 'string' } },
      required: ['a'],
    }
    const tool = toVelTool(
      { name: 'echo', inputSchema: published as never },
      'echo',
      'server',
      {},
      neverCalled,
    )
    expect(tool.spec.inputSchema).toEqual(published)
    expect(tool.validateInput({ a: 'x' })).toEqual({ ok: true, value: { a: 'x' } })
    expect(tool.validateInput({ a: 1 })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/\/a: must be string/),
    })
  })

  it('leaves validation to the server when Vel cannot compile the schema', () => {
    const published = { type: 'object', properties: { a: { $ref: '#/$defs/missing' } } }
    const tool = toVelTool({ name: 'odd', inputSchema: published as never }, 'odd', 'server', {}, neverCalled)
    expect(tool.inputSchema).toEqual(published)
    expect(tool.validateInput({ a: 'anything' })).toEqual({ ok: true, value: { a: 'anything' } })
  })

  it('describes a tool the server left undescribed, and passes the plan to the call', async () => {
    let seen: McpCallPlan | undefined
    const tool = toVelTool(
      { name: 'ping', inputSchema: { type: 'object' }, annotations: { idempotentHint: true } },
      'srv_ping',
      'srv',
      { timeoutMs: 500, tools: { ping: { retry: { maxAttempts: 2 } } } },
      async (plan, input: JsonObject) => {
        seen = plan
        return input
      },
    )
    expect(tool.description).toBe("Tool 'ping' of the MCP server 'srv'.")
    expect(tool.retry).toEqual({ maxAttempts: 2 })
    expect(await tool.handler({ n: 1 }, {} as never)).toEqual({ n: 1 })
    expect(seen).toEqual({ mcpName: 'ping', velName: 'srv_ping', timeoutMs: 500, resendable: true })
  })
})
