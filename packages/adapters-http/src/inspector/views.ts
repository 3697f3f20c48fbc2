import type { RunInfo, RunUsage } from '@vel/actors'
import {
  type HumanRequest,
  type JsonValue,
  type Message,
  type RunRecord,
  type RunStatus,
  terminalStatuses,
  type Usage,
} from '@vel/core'
import { html } from 'hono/html'
import type { HtmlEscapedString } from 'hono/utils/html'
import { RunStatusValue } from '../schemas.ts'
import { contentText, type TimelineRow } from './timeline.ts'

/** What the views return: escaped HTML (interpolated values are escaped by `html`). */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>

/** A run and its child runs, for the pipeline tree. */
export interface RunTree {
  readonly record: RunRecord
  readonly children: ReadonlyArray<RunTree>
  /** More children exist than were listed. */
  readonly truncated?: boolean
}

const time = (at: number): string => new Date(at).toISOString().replace('T', ' ').slice(0, 23)
const clock = (at: number): string => new Date(at).toISOString().slice(11, 23)

/** `850 ms`, `12.3 s`, `4 min 05 s`. */
export const duration = (ms: number): string => {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const seconds = Math.round(ms / 1000)
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`
}

const tokens = (usage: Usage): string =>
  `${usage.inputTokens} in · ${usage.outputTokens} out` +
  (usage.reasoningTokens > 0 ? ` · ${usage.reasoningTokens} reasoning` : '') +
  (usage.cachedInputTokens > 0 ? ` · ${usage.cachedInputTokens} cached` : '')

const usd = (value: number): string => `$${value < 0.01 ? value.toFixed(6) : value.toFixed(4)}`

const badge = (status: RunStatus): Html => html`<span class="status status-${status}">${status}</span>`

/** The run list's URL: the mount path itself (`/` at the root). */
export const listHref = (base: string): string => (base === '' ? '/' : base)

const runLink = (base: string, runId: string): Html =>
  html`<a href="${base}/runs/${encodeURIComponent(runId)}"><code>${runId}</code></a>`

/** The page around every view: styles and the script from the inspector's own assets. */
export const layout = (
  base: string,
  title: string,
  body: Html,
  signedIn: boolean,
): Html => html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Vel inspector</title>
<link rel="stylesheet" href="${base}/assets/inspector.css">
<script src="${base}/assets/inspector.js" defer></script>
</head>
<body>
<header class="top"><a class="brand" href="${listHref(base)}">Vel inspector</a>${
  signedIn
    ? html`<form method="post" action="${base}/sign-out"><button class="link" type="submit">Sign out</button></form>`
    : ''
}</header>
${body}
</body>
</html>`

/** Filters of the run list, as given in the query string. */
export interface ListFilter {
  readonly status?: RunStatus
  readonly agent?: string
  readonly session?: string
}

const statuses: ReadonlyArray<RunStatus> = RunStatusValue.literals

const filterQuery = (filter: ListFilter, cursor?: string): string => {
  const query = new URLSearchParams()
  if (filter.status !== undefined) query.set('status', filter.status)
  if (filter.agent !== undefined) query.set('agent', filter.agent)
  if (filter.session !== undefined) query.set('session', filter.session)
  if (cursor !== undefined) query.set('cursor', cursor)
  return query.toString()
}

/** The run list: a filter form and one row per run the caller may see, newest first. */
export const listView = (
  base: string,
  filter: ListFilter,
  runs: ReadonlyArray<RunRecord>,
  nextCursor: string | undefined,
): Html => html`<main>
<h1>Runs</h1>
<form class="filters" method="get" action="${listHref(base)}">
  <label>Status <select name="status"><option value="">any</option>${statuses.map(
    (status) =>
      html`<option value="${status}"${filter.status === status ? ' selected' : ''}>${status}</option>`,
  )}</select></label>
  <label>Agent <input name="agent" value="${filter.agent ?? ''}" placeholder="any"></label>
  <label>Session <input name="session" value="${filter.session ?? ''}" placeholder="any"></label>
  <button type="submit">Filter</button>
</form>
${
  runs.length === 0
    ? html`<p class="empty">No runs${filter.status || filter.agent || filter.session ? ' match these filters' : ''}.</p>`
    : html`<table class="runs">
<thead><tr><th>Run</th><th>Agent</th><th>Session</th><th>Status</th><th>Parent</th><th>Created</th><th>Updated</th></tr></thead>
<tbody>${runs.map(
        (run) => html`<tr data-run="${run.runId}">
<td>${runLink(base, run.runId)}</td>
<td><a href="${listHref(base)}?${filterQuery({ agent: run.agentId })}">${run.agentId}</a></td>
<td>${run.sessionId === null ? '' : html`<a href="${listHref(base)}?${filterQuery({ session: run.sessionId })}">${run.sessionId}</a>`}</td>
<td>${badge(run.status)}${run.status === 'waiting' && run.pending.length > 0 ? html` <span class="pending-count">${run.pending.length} pending</span>` : ''}</td>
<td>${run.parentRunId === null ? '' : runLink(base, run.parentRunId)}</td>
<td>${time(run.createdAt)}</td><td>${time(run.updatedAt)}</td>
</tr>`,
      )}</tbody></table>`
}
${nextCursor === undefined ? '' : html`<p><a class="next" href="${listHref(base)}?${filterQuery(filter, nextCursor)}">Older runs →</a></p>`}
</main>`

const json = (value: JsonValue | undefined): string => JSON.stringify(value ?? null, null, 2)

const messageView = (message: Message): Html => {
  switch (message.role) {
    case 'system':
      return html`<div class="message system"><div class="role">system</div><pre>${message.content}</pre></div>`
    case 'user':
      return html`<div class="message user"><div class="role">user</div><pre>${contentText(message.content)}</pre></div>`
    case 'assistant':
      return html`<div class="message assistant"><div class="role">assistant</div>${message.content.map(
        (part) =>
          part.type === 'text'
            ? html`<pre>${part.text}</pre>`
            : part.type === 'reasoning'
              ? html`<details class="reasoning"><summary>reasoning</summary><pre>${part.text}</pre></details>`
              : html`<div class="tool-call">calls <code>${part.name}</code> <code class="id">${part.id}</code><pre>${json(part.input)}</pre></div>`,
      )}</div>`
    case 'tool':
      return html`<div class="message tool"><div class="role">tool</div>${message.content.map(
        (part) =>
          html`<div class="tool-result${'error' in part ? ' error' : ''}"><code>${part.toolName}</code> <code class="id">${part.toolCallId}</code><pre>${'error' in part ? part.error : json(part.output)}</pre></div>`,
      )}</div>`
  }
}

const pendingView = (base: string, runId: string, request: HumanRequest): Html => {
  const action = `${base}/runs/${encodeURIComponent(runId)}`
  return request.kind === 'approval'
    ? html`<form class="request approval" method="post" action="${action}/decisions" data-request="${request.requestId}">
<p><strong>Approve</strong> <code>${request.toolName}</code> <code class="id">${request.requestId}</code>${
        request.expiresAt === undefined ? '' : html` · denied automatically at ${time(request.expiresAt)}`
      }</p>
<pre>${json(request.input)}</pre>
<input type="hidden" name="toolCallId" value="${request.requestId}">
<label>Reason <input name="reason" placeholder="optional"></label>
<button type="submit" name="decision" value="approve" class="approve">Approve</button>
<button type="submit" name="decision" value="deny" class="deny">Deny</button>
</form>`
    : html`<form class="request question" method="post" action="${action}/answers" data-request="${request.requestId}">
<p><strong>Question</strong> <code class="id">${request.requestId}</code></p>
<blockquote>${request.question ?? ''}</blockquote>
<input type="hidden" name="requestId" value="${request.requestId}">
<label>Answer <input name="answer" required></label>
<button type="submit">Answer</button>
</form>`
}

const treeView = (base: string, tree: RunTree, current: string): Html =>
  html`<li>${tree.record.runId === current ? html`<code>${tree.record.runId}</code> (this run)` : runLink(base, tree.record.runId)} <span class="agent">${tree.record.agentId}</span> ${badge(tree.record.status)}${
    tree.children.length === 0 && !tree.truncated
      ? ''
      : html`<ul>${tree.children.map((child) => treeView(base, child, current))}${tree.truncated ? html`<li class="more">…</li>` : ''}</ul>`
  }</li>`

const timelineView = (rows: ReadonlyArray<TimelineRow>): Html => {
  const withCost = rows.some((row) => row.costUsd !== undefined)
  return html`<table class="timeline">
<thead><tr><th>#</th><th>Event</th><th>Time</th><th>Duration</th><th>Tokens</th>${withCost ? html`<th>Cost</th>` : ''}<th>Detail</th></tr></thead>
<tbody>${rows.map(
    (row) => html`<tr data-seq="${row.seq}" data-type="${row.type}">
<td>${row.seq}</td><td><code>${row.type}</code></td><td title="${time(row.at)}">${clock(row.at)}</td>
<td>${row.durationMs === undefined ? '' : duration(row.durationMs)}</td>
<td>${row.usage === undefined ? '' : tokens(row.usage)}</td>${withCost ? html`<td>${row.costUsd === undefined ? '' : usd(row.costUsd)}</td>` : ''}
<td>${row.summary}</td></tr>`,
  )}</tbody></table>`
}

/**
 * Everything about one run; the live script swaps this fragment in after each journal entry and
 * moves the live panel (`live`, or a slot for it) back in place, so streamed text survives.
 */
export const runFragment = (
  base: string,
  info: RunInfo,
  status: RunStatus,
  rows: ReadonlyArray<TimelineRow>,
  tree: RunTree,
  usage: RunUsage,
  live: Html = html`<div id="live-slot"></div>`,
): Html => {
  const { record, state } = info
  const runId = record.runId
  const cost = usage.costUsd
  const total = usage.tree
  const prior = state.messages.slice(0, state.priorCount)
  const own = state.messages.slice(state.priorCount)
  return html`<section class="summary">
<h1>Run <code>${runId}</code> ${badge(status)}</h1>
<dl>
<dt>Agent</dt><dd><a href="${listHref(base)}?agent=${encodeURIComponent(record.agentId)}">${record.agentId}</a></dd>
${record.sessionId === null ? '' : html`<dt>Session</dt><dd><a href="${listHref(base)}?session=${encodeURIComponent(record.sessionId)}">${record.sessionId}</a></dd>`}
${record.parentRunId === null ? '' : html`<dt>Parent</dt><dd>${runLink(base, record.parentRunId)}</dd>`}
<dt>Steps</dt><dd>${state.step}</dd>
<dt>Tokens</dt><dd class="usage">${tokens(state.usage)}</dd>
${cost === undefined ? '' : html`<dt>Cost</dt><dd class="cost">${usd(cost)}${state.policy.maxCostUsd === undefined ? '' : html` of ${usd(state.policy.maxCostUsd)} budget`}</dd>`}
${
  total.runs <= 1
    ? ''
    : html`<dt>Pipeline</dt><dd class="tree-usage">${total.runs} runs · ${tokens(total.usage)}${
        total.runs > total.unpricedRuns ? html` · ${usd(total.costUsd)}` : ''
      }${total.unpricedRuns > 0 ? html` (${total.unpricedRuns} without a price)` : ''}</dd>`
}
<dt>Started</dt><dd>${time(record.createdAt)}</dd>
${status === 'completed' ? html`<dt>Answer</dt><dd class="answer"><pre>${typeof state.answer === 'string' ? state.answer : json(state.answer)}</pre></dd>` : ''}
${state.error === null ? '' : html`<dt>Error</dt><dd class="error">${state.error.reason}: ${state.error.message}</dd>`}
</dl>
${
  terminalStatuses.has(status)
    ? ''
    : html`<form method="post" action="${base}/runs/${encodeURIComponent(runId)}/cancel" class="cancel"><input name="reason" placeholder="reason (optional)"><button type="submit" class="deny">Cancel run</button></form>`
}
</section>
${state.pending.length === 0 ? '' : html`<section class="pending"><h2>Waiting for you</h2>${state.pending.map((request) => pendingView(base, runId, request))}</section>`}
${tree.children.length === 0 && tree.record.runId === runId ? '' : html`<section class="tree"><h2>Pipeline</h2><ul>${treeView(base, tree, runId)}</ul></section>`}
<section class="transcript"><h2>Transcript</h2>
${prior.length === 0 ? '' : html`<details class="prior"><summary>${prior.length} earlier message${prior.length === 1 ? '' : 's'} (instructions, session history)</summary>${prior.map(messageView)}</details>`}
${own.map(messageView)}
${live}
</section>
<section><h2>Journal</h2>${timelineView(rows)}</section>`
}

/** The panel the live script fills with the deltas of the model call in flight. */
export const livePanel: Html = html`<div id="live" hidden><div class="role">streaming now <span class="dot"></span></div><pre id="live-text"></pre></div>`

/** The run page: the fragment (with the live panel) and where the script follows the run. */
export const runView = (base: string, runId: string, seq: number, live: boolean, fragment: Html): Html => {
  const path = `${base}/runs/${encodeURIComponent(runId)}`
  return html`<main>
<p><a href="${listHref(base)}">← Runs</a></p>
<div id="run" data-fragment="${path}?fragment=1"${live ? html` data-live="${path}/live?after=${seq}"` : ''}>${fragment}</div>
</main>`
}

/** The sign-in form: a bearer token of the API, kept in an HttpOnly cookie for this path. */
export const signInView = (base: string, next: string, failed: boolean): Html => html`<main class="sign-in">
<h1>Sign in</h1>
<p>Use a bearer token of the Vel API.</p>
${failed ? html`<p class="error">That token was not accepted.</p>` : ''}
<form method="post" action="${base}/sign-in">
<input type="hidden" name="next" value="${next}">
<label>Token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button>
</form>
</main>`

/** An error page (404, 403, 500). */
export const errorView = (base: string, status: number, message: string): Html =>
  html`<main><h1>${status}</h1><p>${message}</p><p><a href="${listHref(base)}">← Runs</a></p></main>`
