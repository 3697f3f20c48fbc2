import { StoreError, type StoreErrorReason } from '@vel/core'
import { describe, expect, it } from 'vitest'
import { toStoreError } from '../src/index.ts'

const driverError = (code: string, message = 'driver says no') => Object.assign(new Error(message), { code })

describe('toStoreError', () => {
  const cases: Array<[string, unknown, StoreErrorReason, boolean]> = [
    ['a SQLite primary key violation', driverError('SQLITE_CONSTRAINT_PRIMARYKEY'), 'conflict', false],
    ['a SQLite unique violation', driverError('SQLITE_CONSTRAINT_UNIQUE'), 'conflict', false],
    ['a pg unique violation', driverError('23505'), 'conflict', false],
    ['a pg serialization failure', driverError('40001'), 'conflict', true],
    ['a busy SQLite file', driverError('SQLITE_BUSY'), 'unavailable', true],
    ['a damaged SQLite file', driverError('SQLITE_NOTADB'), 'corrupted', false],
    ['a refused connection', driverError('ECONNREFUSED'), 'unavailable', true],
    ['a pg admin shutdown', driverError('57P01'), 'unavailable', true],
    [
      'a pg client that lost its connection',
      new Error('Client has encountered a connection error and is not queryable'),
      'unavailable',
      true,
    ],
    ['a pg connection ended', new Error('Connection terminated unexpectedly'), 'unavailable', true],
    ['a missing pg table', driverError('42P01'), 'unavailable', false],
    ['a missing SQLite table', driverError('SQLITE_ERROR', 'no such table: journal'), 'unavailable', false],
    ['a pg data exception', driverError('22P02'), 'invalid-argument', false],
    ['a closed SQLite connection', new TypeError('The database connection is not open'), 'closed', false],
    ['an ended pg pool', new Error('Cannot use a pool after calling end on the pool'), 'closed', false],
    ['anything else', 'a string', 'unavailable', false],
  ]
  for (const [name, error, reason, retryable] of cases)
    it(`maps ${name} to ${reason}${retryable ? ' (retryable)' : ''}`, () => {
      const mapped = toStoreError(error, 'append')
      expect(mapped).toBeInstanceOf(StoreError)
      expect(mapped.reason).toBe(reason)
      expect(mapped.retryable).toBe(retryable)
      expect(mapped.message).toMatch(/^append: /)
      expect(mapped.cause).toBe(error)
    })

  it('passes a StoreError through unchanged', () => {
    const error = new StoreError('fenced', 'stale lease')
    expect(toStoreError(error, 'append')).toBe(error)
  })
})
