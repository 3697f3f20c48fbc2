import { describe, expect, it } from 'vitest'
import { CallControl } from '../src/call-control.ts'

describe('CallControl', () => {
  it('a signal read after the abort is already aborted, with the reason', () => {
    const control = new CallControl()
    control.abort('stop')
    expect(control.aborted).toBe(true)
    expect(control.signal.aborted).toBe(true)
    expect(control.signal.reason).toBe('stop')
  })

  it('a signal read before the abort aborts with it, once', () => {
    const control = new CallControl()
    const reasons: unknown[] = []
    control.signal.addEventListener('abort', () => reasons.push(control.signal.reason))
    control.abort('first')
    control.abort('second')
    expect(reasons).toEqual(['first'])
  })

  it('an inner control aborts with its outer one, read before or after', () => {
    const outer = new CallControl()
    const early = new CallControl(outer)
    const earlySignal = early.signal
    const late = new CallControl(outer)
    outer.abort('cancelled')
    expect(earlySignal.aborted).toBe(true)
    expect(earlySignal.reason).toBe('cancelled')
    expect(late.signal.aborted).toBe(true)
    expect(late.signal.reason).toBe('cancelled')
    expect(new CallControl(outer).aborted).toBe(true)
  })

  it('an inner control aborts alone, and a released one is not aborted by its outer', () => {
    const outer = new CallControl()
    const timedOut = new CallControl(outer)
    timedOut.abort()
    expect(timedOut.signal.aborted).toBe(true)
    expect(outer.aborted).toBe(false)
    const finished = new CallControl(outer)
    const signal = finished.signal
    finished.release()
    outer.abort('later')
    expect(signal.aborted).toBe(false)
  })

  it('tells its listener once, and not after it stops listening', () => {
    const control = new CallControl()
    const heard: unknown[] = []
    control.onAbort((reason) => heard.push(reason))
    control.onAbort(undefined)
    control.abort('x')
    const other = new CallControl()
    other.onAbort((reason) => heard.push(reason))
    other.abort('y')
    other.abort('z')
    expect(heard).toEqual(['y'])
  })

  it('wraps a plain AbortSignal', () => {
    const controller = new AbortController()
    const control = CallControl.of(controller.signal)
    expect(control.aborted).toBe(false)
    controller.abort('gone')
    expect(control.aborted).toBe(true)
    expect(control.reason).toBe('gone')
    expect(CallControl.of(AbortSignal.abort('already')).reason).toBe('already')
  })
})
