import type { CallToolResult, ContentBlock } from '@modelcontextprotocol/sdk/types.js'
import { type JsonValue, ToolError, truncate } from '@vel/core'

const maxErrorLength = 600

/** A content block as JSON for the model, without display-only annotations and `_meta`. */
const blockJson = (block: ContentBlock): JsonValue => {
  const {
    annotations: _annotations,
    _meta,
    ...rest
  } = block as ContentBlock & {
    annotations?: unknown
    _meta?: unknown
  }
  return JSON.parse(JSON.stringify(rest)) as JsonValue
}

/** The text of a result's text blocks, joined by blank lines. */
const textOf = (content: ReadonlyArray<ContentBlock>): string =>
  content
    .filter((block): block is Extract<ContentBlock, { type: 'text' }> => block.type === 'text')
    .map((block) => block.text)
    .join('\n\n')

/**
 * The Vel tool output of an MCP result: its `structuredContent` when present; else the text when
 * every block is text; else the blocks as JSON (images and audio keep their base64 `data`).
 * An `isError` result throws a `ToolError` whose message is the server's text, compact.
 */
export function outputOf(toolName: string, result: CallToolResult): JsonValue {
  const content = result.content ?? []
  if (result.isError === true) {
    const text = textOf(content).trim()
    const detail = text === '' ? JSON.stringify(result.structuredContent ?? content.map(blockJson)) : text
    throw new ToolError(
      'execution',
      toolName,
      `Tool '${toolName}' failed: ${truncate(detail, maxErrorLength)}`,
    )
  }
  if (result.structuredContent !== undefined) return result.structuredContent as JsonValue
  if (content.every((block) => block.type === 'text')) return textOf(content)
  return content.map(blockJson)
}
