// Run by import-cost.test.ts in a fresh `node --import tsx`: imports each module named on the
// command line in turn and prints, as JSON, the module URLs each import loaded.
import { register } from 'node:module'
import { MessageChannel } from 'node:worker_threads'

const { port1, port2 } = new MessageChannel()
let loaded = []
let flushed
port1.on('message', (message) => {
  if (message === 'flushed') flushed?.()
  else loaded.push(message)
})
register('./load-trace-hooks.mjs', {
  parentURL: import.meta.url,
  data: { port: port2 },
  transferList: [port2],
})

const flush = () =>
  new Promise((resolve) => {
    flushed = resolve
    port1.postMessage('flush')
  })

const report = {}
for (const specifier of process.argv.slice(2)) {
  await import(specifier)
  await flush()
  report[specifier] = loaded
  loaded = []
}
port1.close()
console.log(JSON.stringify(report))
