import type { Tool } from './tool.ts'

/**
 * Tools that can change while an agent lives (an MCP server's, a plugin registry's). An agent given
 * a source asks it for the current tools before each model call; a tool call is planned and run
 * against the list that model call was given, so a change never affects a call already made.
 */
export interface ToolSource {
  /** Names the source in errors and logs (e.g. the MCP server's name). */
  readonly name: string
  /** The tools available now. Must not throw; a source that cannot list keeps its last list. */
  tools(): ReadonlyArray<Tool> | Promise<ReadonlyArray<Tool>>
}

/** Whether `value` is a `ToolSource` rather than a single tool. */
export const isToolSource = (value: unknown): value is ToolSource =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { tools?: unknown }).tools === 'function' &&
  !('handler' in value)
