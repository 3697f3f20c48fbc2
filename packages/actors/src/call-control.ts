/**
 * The abort handle of one model call, tool call or tool attempt. Its `AbortController` is made only
 * when something reads `signal`: most calls end without anyone listening, and a controller with its
 * signal was the largest single cost of a step (ADR 0080). Aborting before that only records the
 * reason; a signal read later is already aborted, with that reason.
 *
 * A control made `within` another (a tool's attempt within its call) aborts with it, with the
 * outer reason; it can also abort alone (the attempt timed out).
 */
export class CallControl {
  aborted = false
  reason: unknown = undefined
  private controller: AbortController | undefined
  /**
   * Inner controls whose signal was read: aborted with this one. One whose signal is not read yet
   * learns of an abort when it is read.
   */
  private inner: CallControl[] | undefined
  /** Called once when this control aborts (an executor waiting on it). */
  private listener: ((reason: unknown) => void) | undefined

  constructor(private readonly outer?: CallControl) {
    if (outer?.aborted) {
      this.aborted = true
      this.reason = outer.reason
    }
  }

  /** Wraps a plain `AbortSignal` (callers outside a run owner). */
  static of(signal: AbortSignal): CallControl {
    const control = new CallControl()
    if (signal.aborted) control.abort(signal.reason)
    else signal.addEventListener('abort', () => control.abort(signal.reason), { once: true })
    return control
  }

  /** The call's `AbortSignal`, made on first read. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      // The outer control may have aborted since: nobody was following it then.
      if (!this.aborted && this.outer?.aborted) {
        this.aborted = true
        this.reason = this.outer.reason
      }
      if (this.aborted) this.controller.abort(this.reason)
      else this.outer?.follow(this)
    }
    return this.controller.signal
  }

  abort(reason?: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    this.controller?.abort(reason)
    const inner = this.inner
    this.inner = undefined
    if (inner !== undefined) for (const control of inner) control.abort(reason)
    const listener = this.listener
    this.listener = undefined
    listener?.(reason)
  }

  /** Hears this control's abort once (one listener at a time); `undefined` stops listening. */
  onAbort(listener: ((reason: unknown) => void) | undefined): void {
    this.listener = listener
  }

  /** This control is done: an outer control need not abort it any more. */
  release(): void {
    this.listener = undefined
    if (this.controller !== undefined && this.outer !== undefined) this.outer.unfollow(this)
  }

  private follow(control: CallControl): void {
    if (this.inner === undefined) this.inner = [control]
    else this.inner.push(control)
  }

  private unfollow(control: CallControl): void {
    const index = this.inner?.indexOf(control) ?? -1
    if (index >= 0) this.inner?.splice(index, 1)
  }
}
