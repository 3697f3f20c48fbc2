import type { Tool } from './tool.ts'

// Process-wide, as Python Vel's `register_tool`. Agents given tool names resolve them here.
const registry = new Map<string, Tool>()

const isTool = (value: unknown): value is Tool =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Tool).name === 'string' &&
  typeof (value as Tool).handler === 'function' &&
  typeof (value as Tool).validateInput === 'function' &&
  typeof (value as Tool).spec === 'object'

/**
 * Registers a tool by its name for the whole process (parity with Python Vel's `register_tool`),
 * replacing one registered under the same name. Prefer passing tools to agents. Anything but a
 * tool made by `defineTool` is a `TypeError`.
 */
export const registerTool = (tool: Tool): void => {
  if (!isTool(tool))
    throw new TypeError(
      'registerTool expects a tool made by defineTool({ name, description, input, handler })',
    )
  registry.set(tool.name, tool)
}

/** The tool registered under `name`, if any. */
export const getTool = (name: string): Tool | undefined => registry.get(name)

/** Every registered tool, in the order first registered. */
export const listRegisteredTools = (): Tool[] => [...registry.values()]
