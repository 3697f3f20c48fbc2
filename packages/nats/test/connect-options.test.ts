import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { natsConnectOptions } from '../src/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'vel-nats-options-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('natsConnectOptions', () => {
  it('defaults to the local server, reconnecting forever, with no credentials', () => {
    expect(natsConnectOptions({})).toEqual({ servers: ['nats://127.0.0.1:4222'], maxReconnectAttempts: -1 })
  })

  it('reads servers, credentials and TLS from the environment; overrides win', () => {
    const options = natsConnectOptions(
      {
        VEL_NATS_URL: 'nats://a:4222,nats://b:4222',
        VEL_NATS_USER: 'worker',
        VEL_NATS_PASSWORD: 'secret',
        VEL_NATS_TLS_CA: '/etc/nats/ca.pem',
        VEL_NATS_TLS_CERT: '/etc/nats/cert.pem',
        VEL_NATS_TLS_KEY: '/etc/nats/key.pem',
      },
      { name: 'vel-worker', servers: 'nats://c:4222' },
    )
    expect(options.servers).toEqual(['nats://c:4222'])
    expect(options.name).toBe('vel-worker')
    expect(options.tls).toEqual({
      caFile: '/etc/nats/ca.pem',
      certFile: '/etc/nats/cert.pem',
      keyFile: '/etc/nats/key.pem',
    })
    const authenticators = options.authenticator as Array<(nonce?: string) => unknown>
    expect(authenticators).toHaveLength(1)
    expect(authenticators[0]?.()).toEqual({ user: 'worker', pass: 'secret' })
  })

  it('takes a token, an NKey seed inline or from a file, and a creds file', () => {
    const token = natsConnectOptions({ VEL_NATS_TOKEN: 't0ken' }).authenticator as Array<() => unknown>
    expect(token[0]?.()).toEqual({ auth_token: 't0ken' })
    // A user seed generated for this test with @nats-io/nkeys (createUser), trusted by no server.
    const seed = 'SUAAM4UVTFGEI52RA6Y3Z54SK2IRC47KV3YVPECDBMNYNS3EG2NQK5N35Q'
    const seedFile = join(dir, 'user.nk')
    writeFileSync(seedFile, seed)
    for (const value of [seed, seedFile]) {
      const nkey = natsConnectOptions({ VEL_NATS_NKEY_SEED: value }).authenticator as Array<
        (nonce: string) => { nkey: string; sig: string }
      >
      expect(nkey[0]?.('nonce').nkey).toBe('UDMMI3MZDM6X364GQQL5O4OTL6XXR54T22NG56OBABDPVMBQ24PJNWYP')
    }
    expect(() => natsConnectOptions({ VEL_NATS_CREDS: join(dir, 'missing.creds') })).toThrow(
      /cannot read the credentials file/,
    )
  })

  it('refuses settings NATS would reject, before connecting', () => {
    expect(() => natsConnectOptions({ VEL_NATS_PASSWORD: 'x' })).toThrow(
      /VEL_NATS_PASSWORD needs VEL_NATS_USER/,
    )
    expect(() => natsConnectOptions({ VEL_NATS_TLS_CERT: '/c.pem' })).toThrow(/go together/)
  })
})
