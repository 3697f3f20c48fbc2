import { describe, expect, it } from 'vitest'
import { toGeminiSchema } from '../src/gemini-schema.ts'

describe('toGeminiSchema', () => {
  it('drops unsupported keywords, inlines $refs and maps nullable, const and oneOf', () => {
    expect(
      toGeminiSchema(
        {
          $schema: 'https://json-schema.org/draft/2020-12/schema',
          type: 'object',
          additionalProperties: false,
          properties: {
            when: { type: 'string', format: 'date-time', default: 'now' },
            unit: { const: 'celsius' },
            note: { type: ['string', 'null'], maxLength: 40 },
            place: { $ref: '#/$defs/place' },
            either: { oneOf: [{ type: 'integer' }, { type: 'string', format: 'uri' }] },
            maybe: { anyOf: [{ type: 'number' }, { type: 'null' }] },
          },
          required: ['when', 'ghost'],
          $defs: {
            place: { type: 'object', properties: { city: { type: 'string', enum: ['Paris', 'Tokyo'] } } },
          },
        },
        'test',
      ),
    ).toEqual({
      type: 'OBJECT',
      properties: {
        when: { type: 'STRING', format: 'date-time' },
        unit: { type: 'STRING', format: 'enum', enum: ['celsius'] },
        note: { type: 'STRING', nullable: true, maxLength: '40' },
        place: {
          type: 'OBJECT',
          properties: { city: { type: 'STRING', format: 'enum', enum: ['Paris', 'Tokyo'] } },
          propertyOrdering: ['city'],
        },
        either: { anyOf: [{ type: 'INTEGER' }, { type: 'STRING' }] },
        maybe: { type: 'NUMBER', nullable: true },
      },
      required: ['when'],
      propertyOrdering: ['when', 'unit', 'note', 'place', 'either', 'maybe'],
    })
  })

  it('merges allOf', () => {
    expect(
      toGeminiSchema(
        {
          allOf: [
            { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] },
            { properties: { b: { type: 'boolean' } } },
          ],
        },
        'test',
      ),
    ).toEqual({
      type: 'OBJECT',
      properties: { a: { type: 'STRING' }, b: { type: 'BOOLEAN' } },
      required: ['a'],
      propertyOrdering: ['a', 'b'],
    })
  })

  it.each([
    [{ type: 'object', properties: { n: { enum: [1, 2] } } }, /not a string/],
    [{ type: 'object', properties: { x: { type: ['string', 'number'] } } }, /type unions/],
    [{ type: 'object', properties: { x: { type: 'object' } } }, /without properties/],
    [{ type: 'object', properties: { x: { $ref: '#/$defs/missing' } } }, /cannot resolve/],
  ])('refuses what Gemini cannot take: %j', (schema, message) => {
    expect(() => toGeminiSchema(schema, 'tool')).toThrowError(
      expect.objectContaining({ reason: 'bad-request', message: expect.stringMatching(message) }),
    )
  })
})
