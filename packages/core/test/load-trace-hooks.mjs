// Module hooks for import-cost.test.ts: report the URL of every module loaded to the main thread.
let port

export function initialize(data) {
  port = data.port
  // A flush request is answered after every earlier report, since a port delivers in order.
  port.on('message', (message) => {
    if (message === 'flush') port.postMessage('flushed')
  })
  port.unref()
}

export async function load(url, context, nextLoad) {
  port.postMessage(url)
  return nextLoad(url, context)
}
