import { describe, expect, it } from 'vitest'
import { toolNames } from '../src/index.ts'

const valid = /^[a-zA-Z0-9_-]{1,64}$/

describe('toolNames', () => {
  it('keeps valid names and prefixes them when asked', () => {
    expect([...toolNames(['create_issue', 'list-repos'], undefined).values()]).toEqual([
      'create_issue',
      'list-repos',
    ])
    expect([...toolNames(['create_issue'], 'github').values()]).toEqual(['github_create_issue'])
  })

  it('replaces characters providers reject', () => {
    expect(toolNames(['files.read/all', 'über'], 'my server').get('files.read/all')).toBe(
      'my_server_files_read_all',
    )
    expect(toolNames(['über'], undefined).get('über')).toBe('_ber')
  })

  it('shortens long names with a hash of the original, deterministically', () => {
    const long = `${'a'.repeat(70)}`
    const other = `${'a'.repeat(69)}b`
    const names = toolNames([long, other], 'server')
    expect(names.get(long)).toMatch(valid)
    expect(names.get(long)).toHaveLength(64)
    expect(names.get(long)).not.toBe(names.get(other))
    expect(toolNames([other, long], 'server').get(long)).toBe(names.get(long))
  })

  it('names a tool the server left unnamed', () => {
    expect(toolNames([''], undefined).get('')).toMatch(/^_[0-9a-f]{8}$/)
    expect(toolNames([''], 'srv').get('')).toMatch(/^srv__[0-9a-f]{8}$/)
  })

  it('keeps names unique when two tools sanitize alike', () => {
    const names = toolNames(['read.file', 'read_file', 'read/file'], undefined)
    expect(names.get('read_file')).toBe('read_file')
    expect(new Set(names.values()).size).toBe(3)
    for (const name of names.values()) expect(name).toMatch(valid)
  })
})
