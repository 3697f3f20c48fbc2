import type { AddressInfo } from 'node:net'
import { serve as serveNode } from '@hono/node-server'
import type { Runtime } from '@vel/actors'
import { createHttpApp, type HttpAppOptions } from './app.ts'

/** Options of `serve`: an app, or a runtime to build the default app for. */
export type ServeOptions = (
  | { readonly app: { fetch: (request: Request) => Response | Promise<Response> } }
  | ({ readonly runtime: Runtime } & Omit<HttpAppOptions, 'runtime'>)
) & {
  /** Port to listen on; 0 picks a free one. Default 3000. */
  readonly port?: number
  /** Interface to bind. Default `127.0.0.1`. */
  readonly hostname?: string
}

/** A listening server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:54321`. */
  readonly url: string
  readonly port: number
  /** Stops accepting connections and closes open ones (SSE streams included). */
  close(): Promise<void>
}

/** Serves the Vel HTTP API on Node with `@hono/node-server`; resolves once it listens. */
export function serve(options: ServeOptions): Promise<RunningServer> {
  const app = 'app' in options ? options.app : createHttpApp(options)
  const hostname = options.hostname ?? '127.0.0.1'
  return new Promise((resolve, reject) => {
    const server = serveNode(
      { fetch: app.fetch, port: options.port ?? 3000, hostname },
      (info: AddressInfo) => {
        resolve({
          url: `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${info.port}`,
          port: info.port,
          close: () =>
            new Promise<void>((done, fail) => {
              if ('closeAllConnections' in server) server.closeAllConnections()
              server.close((error) => (error ? fail(error) : done()))
            }),
        })
      },
    )
    server.once('error', reject)
  })
}
