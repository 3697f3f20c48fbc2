import { readFileSync } from 'node:fs'
import {
  type Authenticator,
  credsAuthenticator,
  type NodeConnectionOptions,
  nkeyAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from '@nats-io/transport-node'
import { TransportError } from '@vel/core'

/** How to reach and authenticate to NATS; every field is optional and overrides the environment. */
export interface NatsConnectionSettings {
  /** Server URL(s), comma-separated in the environment. Env `VEL_NATS_URL`; default `nats://127.0.0.1:4222`. */
  readonly servers?: string | ReadonlyArray<string>
  /** A token the server's `authorization { token }` accepts. Env `VEL_NATS_TOKEN`. */
  readonly token?: string
  /** User name of `authorization { users }`. Env `VEL_NATS_USER`. */
  readonly user?: string
  /** That user's password. Env `VEL_NATS_PASSWORD`. */
  readonly password?: string
  /** Path of a `.creds` file (JWT and NKey seed, as `nsc` writes it). Env `VEL_NATS_CREDS`. */
  readonly credsFile?: string
  /** An NKey seed (`SU…`), or the path of a file holding one. Env `VEL_NATS_NKEY_SEED`. */
  readonly nkeySeed?: string
  /** PEM file of the CA that signed the server's certificate. Env `VEL_NATS_TLS_CA`. */
  readonly tlsCaFile?: string
  /** PEM client certificate, for servers that verify clients. Env `VEL_NATS_TLS_CERT`. */
  readonly tlsCertFile?: string
  /** PEM key of that certificate. Env `VEL_NATS_TLS_KEY`. */
  readonly tlsKeyFile?: string
  /** Connection name shown by the server (`nats server report connections`). */
  readonly name?: string
}

/** The environment variables `natsConnectOptions` reads. */
export const natsEnvironment = {
  servers: 'VEL_NATS_URL',
  token: 'VEL_NATS_TOKEN',
  user: 'VEL_NATS_USER',
  password: 'VEL_NATS_PASSWORD',
  credsFile: 'VEL_NATS_CREDS',
  nkeySeed: 'VEL_NATS_NKEY_SEED',
  tlsCaFile: 'VEL_NATS_TLS_CA',
  tlsCertFile: 'VEL_NATS_TLS_CERT',
  tlsKeyFile: 'VEL_NATS_TLS_KEY',
} as const satisfies Record<Exclude<keyof NatsConnectionSettings, 'name'>, string>

const invalid = (message: string) => new TransportError('unauthorized', message)

const readFile = (path: string, what: string): Uint8Array => {
  try {
    return readFileSync(path)
  } catch (error) {
    throw invalid(`cannot read the ${what} ${path}: ${(error as Error).message}`)
  }
}

/**
 * Connection options for `connect` from `@nats-io/transport-node`: servers, credentials and TLS
 * from `overrides`, else from `env` (see `natsEnvironment`). Token, user/password, NKey seed and
 * `.creds` file can be combined only as NATS allows; a missing file or a password without a user is
 * a `TransportError` (`unauthorized`) before anything connects. Reconnects forever, as workers should.
 */
export function natsConnectOptions(
  env: Readonly<Record<string, string | undefined>> = process.env,
  overrides: NatsConnectionSettings = {},
): NodeConnectionOptions {
  const pick = (key: keyof typeof natsEnvironment): string | undefined => {
    const value = overrides[key] ?? env[natsEnvironment[key]]
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined
  }
  const servers = overrides.servers ?? pick('servers')?.split(',') ?? ['nats://127.0.0.1:4222']
  const authenticators: Authenticator[] = []
  const token = pick('token')
  if (token !== undefined) authenticators.push(tokenAuthenticator(token))
  const user = pick('user')
  const password = pick('password')
  if (password !== undefined && user === undefined)
    throw invalid(`${natsEnvironment.password} needs ${natsEnvironment.user}`)
  if (user !== undefined) authenticators.push(usernamePasswordAuthenticator(user, password))
  const seed = pick('nkeySeed')
  if (seed !== undefined)
    authenticators.push(
      nkeyAuthenticator(
        seed.startsWith('S') && !seed.includes('/')
          ? new TextEncoder().encode(seed)
          : readFile(seed, 'NKey seed file'),
      ),
    )
  const creds = pick('credsFile')
  if (creds !== undefined) authenticators.push(credsAuthenticator(readFile(creds, 'credentials file')))
  const caFile = pick('tlsCaFile')
  const certFile = pick('tlsCertFile')
  const keyFile = pick('tlsKeyFile')
  if ((certFile === undefined) !== (keyFile === undefined))
    throw invalid(`${natsEnvironment.tlsCertFile} and ${natsEnvironment.tlsKeyFile} go together`)
  const tls =
    caFile === undefined && certFile === undefined
      ? {}
      : {
          tls: {
            ...(caFile === undefined ? {} : { caFile }),
            ...(certFile === undefined ? {} : { certFile }),
            ...(keyFile === undefined ? {} : { keyFile }),
          },
        }
  return {
    servers: typeof servers === 'string' ? servers.split(',') : [...servers],
    maxReconnectAttempts: -1,
    ...(overrides.name === undefined ? {} : { name: overrides.name }),
    ...(authenticators.length === 0 ? {} : { authenticator: authenticators }),
    ...tls,
  }
}
