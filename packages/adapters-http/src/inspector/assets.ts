/**
 * The inspector's stylesheet and script, served from its own routes (nothing from a CDN, so it
 * works offline and under a `default-src 'self'` policy). The script only enhances the
 * server-rendered pages: without it every page and form still works, it just does not update live.
 */

export const inspectorCss = `
:root { color-scheme: light; --fg: #111827; --muted: #6b7280; --line: #e5e7eb; --bg: #f9fafb; --accent: #2563eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #fff; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
header.top { display: flex; justify-content: space-between; align-items: center; padding: .6rem 1.5rem; background: #111827; }
header.top a.brand { color: #fff; font-weight: 600; text-decoration: none; }
header.top form { margin: 0; }
button.link { background: none; border: 0; color: #d1d5db; cursor: pointer; font: inherit; }
h1 { font-size: 1.35rem; margin: .6rem 0 1rem; } h2 { font-size: 1.05rem; margin: 1.6rem 0 .6rem; }
a { color: var(--accent); } code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, monospace; }
code.id { color: var(--muted); }
pre { margin: .25rem 0; white-space: pre-wrap; word-break: break-word; font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
tbody tr:hover { background: var(--bg); }
.filters { display: flex; gap: .8rem; align-items: end; flex-wrap: wrap; margin-bottom: 1rem; }
.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: .2rem; }
input, select { font: inherit; padding: .3rem .45rem; border: 1px solid #d1d5db; border-radius: .35rem; }
button { font: inherit; padding: .32rem .8rem; border: 1px solid #d1d5db; border-radius: .35rem; background: #fff; cursor: pointer; }
button.approve { background: #16a34a; border-color: #16a34a; color: #fff; }
button.deny { background: #fff; border-color: #dc2626; color: #dc2626; }
.status { display: inline-block; padding: .05rem .5rem; border-radius: 1rem; font-size: 12px; font-weight: 600; background: #e5e7eb; }
.status-running { background: #dbeafe; color: #1d4ed8; } .status-waiting { background: #fef3c7; color: #92400e; }
.status-completed { background: #dcfce7; color: #166534; } .status-failed, .status-corrupted { background: #fee2e2; color: #991b1b; }
.status-cancelled { background: #f3f4f6; color: #4b5563; }
.pending-count { color: #92400e; font-size: 12px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0 0 .8rem; }
dt { color: var(--muted); } dd { margin: 0; }
.cancel { display: flex; gap: .5rem; }
.request { border: 1px solid #fcd34d; background: #fffbeb; border-radius: .5rem; padding: .6rem .9rem; margin: .5rem 0; }
.request p { margin: 0 0 .3rem; } .request label { margin-right: .5rem; }
.message { border-left: 3px solid var(--line); padding: .2rem .8rem; margin: .4rem 0; }
.message .role { font-size: 11px; text-transform: uppercase; color: var(--muted); letter-spacing: .04em; }
.message.user { border-color: #93c5fd; } .message.assistant { border-color: #86efac; } .message.tool { border-color: #c4b5fd; }
.tool-result.error pre, .error { color: #b91c1c; }
details.prior { color: var(--muted); margin-bottom: .5rem; }
#live { border-left: 3px dashed #86efac; padding: .2rem .8rem; margin: .4rem 0; background: #f0fdf4; }
#live .role { font-size: 11px; text-transform: uppercase; color: var(--muted); letter-spacing: .04em; }
.dot { display: inline-block; width: .55rem; height: .55rem; border-radius: 50%; background: #2563eb; animation: pulse 1s infinite alternate; }
@keyframes pulse { from { opacity: .25; } to { opacity: 1; } }
.tree ul { list-style: none; padding-left: 1.2rem; margin: .2rem 0; border-left: 1px solid var(--line); }
.tree > ul { border: 0; padding-left: 0; } .tree .agent { color: var(--muted); }
.timeline td:nth-child(4), .timeline td:nth-child(5) { white-space: nowrap; }
.sign-in { max-width: 24rem; } .sign-in form { display: flex; flex-direction: column; gap: .6rem; }
.empty { color: var(--muted); }
`

/**
 * Follows the run shown on a run page: `delta` events fill the live panel, each `entry` (a journal
 * entry) re-renders the run fragment from the server, `end` closes the stream.
 */
export const inspectorScript = `(() => {
  const run = document.getElementById('run')
  if (!run || !run.dataset.live) return
  const live = document.getElementById('live')
  const liveText = document.getElementById('live-text')
  let refreshing = false
  let again = false
  const refresh = async () => {
    if (refreshing) { again = true; return }
    refreshing = true
    try {
      do {
        again = false
        const response = await fetch(run.dataset.fragment, { credentials: 'same-origin' })
        if (!response.ok) continue
        // The live panel is not part of the fragment: keep it (and its text) where the slot is.
        const html = await response.text()
        live.remove()
        run.innerHTML = html
        const slot = document.getElementById('live-slot')
        if (slot) slot.replaceWith(live)
        else run.append(live)
      } while (again)
    } finally {
      refreshing = false
    }
  }
  const source = new EventSource(run.dataset.live)
  source.addEventListener('delta', (event) => {
    live.hidden = false
    liveText.textContent += JSON.parse(event.data).text
  })
  source.addEventListener('entry', (event) => {
    const { type } = JSON.parse(event.data)
    if (type === 'model.responded' || type === 'model.failed') {
      liveText.textContent = ''
      live.hidden = true
    }
    void refresh()
  })
  source.addEventListener('end', () => {
    source.close()
    live.hidden = true
    document.body.dataset.ended = 'true'
    void refresh()
  })
})()
`
