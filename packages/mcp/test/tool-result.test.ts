import { ToolError } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { isDestructive, outputOf, sideEffectsOf } from '../src/index.ts'

describe('outputOf', () => {
  it('prefers structuredContent over the text that mirrors it', () => {
    expect(
      outputOf('lookup', {
        content: [{ type: 'text', text: '{"value":1}' }],
        structuredContent: { value: 1 },
      }),
    ).toEqual({ value: 1 })
  })

  it('gives text as a string, several text blocks joined', () => {
    expect(outputOf('t', { content: [{ type: 'text', text: 'one' }] })).toBe('one')
    expect(
      outputOf('t', {
        content: [
          { type: 'text', text: 'one' },
          { type: 'text', text: 'two' },
        ],
      }),
    ).toBe('one\n\ntwo')
    expect(outputOf('t', { content: [] })).toBe('')
  })

  it('keeps images and other blocks as JSON, without display annotations', () => {
    expect(
      outputOf('t', {
        content: [
          { type: 'text', text: 'see', annotations: { audience: ['user'] } },
          { type: 'image', data: 'AAAA', mimeType: 'image/png' },
          { type: 'resource_link', uri: 'file:///a.txt', name: 'a.txt' },
        ],
      }),
    ).toEqual([
      { type: 'text', text: 'see' },
      { type: 'image', data: 'AAAA', mimeType: 'image/png' },
      { type: 'resource_link', uri: 'file:///a.txt', name: 'a.txt' },
    ])
  })

  it('turns an error result into a ToolError with the server text, compact', () => {
    const call = () =>
      outputOf('fail', { isError: true, content: [{ type: 'text', text: 'x'.repeat(2000) }] })
    expect(call).toThrow(ToolError)
    try {
      call()
    } catch (error) {
      expect(error).toMatchObject({ reason: 'execution', toolName: 'fail' })
      expect((error as Error).message.startsWith("Tool 'fail' failed: xxx")).toBe(true)
      expect((error as Error).message.length).toBeLessThan(700)
    }
    expect(() => outputOf('fail', { isError: true, content: [] })).toThrow("Tool 'fail' failed: []")
  })
})

describe('policy from annotations', () => {
  it('maps read-only to none, idempotent to idempotent, anything else to unsafe', () => {
    expect(sideEffectsOf({ readOnlyHint: true })).toBe('none')
    expect(sideEffectsOf({ readOnlyHint: true, idempotentHint: false })).toBe('none')
    expect(sideEffectsOf({ idempotentHint: true })).toBe('idempotent')
    expect(sideEffectsOf({ destructiveHint: false })).toBe('unsafe')
    expect(sideEffectsOf({})).toBe('unsafe')
    expect(sideEffectsOf(undefined)).toBe('unsafe')
  })

  it('treats a tool as destructive unless it is read-only or says it is not', () => {
    expect(isDestructive(undefined)).toBe(true)
    expect(isDestructive({ idempotentHint: true })).toBe(true)
    expect(isDestructive({ destructiveHint: false })).toBe(false)
    expect(isDestructive({ readOnlyHint: true, destructiveHint: true })).toBe(false)
  })
})
