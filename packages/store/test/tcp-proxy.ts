import { createConnection, createServer, type Server, type Socket } from 'node:net'

/** A TCP forwarder to a real server that a test can cut (the server becomes unreachable) and restore. */
export interface TcpProxy {
  readonly port: number
  /** Drops every open connection and stops listening: connects are refused until `restore()`. */
  cut(): Promise<void>
  /** Listens again on the same port. */
  restore(): Promise<void>
  close(): Promise<void>
}

/** Starts a proxy on a free local port that forwards to `host:port`. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
  }
  const serve = (): Server =>
    createServer((client) => {
      const upstream = createConnection({ host, port })
      track(client)
      track(upstream)
      client.pipe(upstream)
      upstream.pipe(client)
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    })
  const listen = (server: Server, on: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject)
      server.listen(on, '127.0.0.1', () => {
        server.off('error', reject)
        const address = server.address()
        resolve(typeof address === 'object' && address !== null ? address.port : on)
      })
    })
  let server: Server | undefined = serve()
  const proxyPort = await listen(server, 0)
  const stop = async () => {
    const current = server
    server = undefined
    for (const socket of sockets) socket.destroy()
    if (current !== undefined) await new Promise<void>((resolve) => current.close(() => resolve()))
  }
  return {
    port: proxyPort,
    cut: stop,
    async restore() {
      if (server !== undefined) return
      server = serve()
      await listen(server, proxyPort)
    },
    close: stop,
  }
}
