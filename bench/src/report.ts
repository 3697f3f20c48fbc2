/** The markdown report (bench/results/latest.md): tables, Vel / LangGraph ratios, targets. */
import { type ApprovalsReport, approvalsSection, approvalsTargets } from './approvals-bench.ts'
import { type NatsReport, natsSection, natsTargets } from './nats-bench.ts'
import type { CrashResult } from './runner.ts'
import { median, type Spread } from './stats.ts'

export interface Report {
  mode: 'quick' | 'full'
  settings: Record<string, number>
  versions: Record<string, string>
  machine: Record<string, string | number | undefined>
  w1: Record<
    string,
    {
      checkedRuns: number
      processes: number
      perK: Record<string, Spread>
      /** Postgres: round trips per step (all), journal appends per step, round trips per append. */
      roundTrips?: Record<string, { perStep: number; appendsPerStep: number; perAppend: number }>
    }
  >
  w2: Record<
    string,
    {
      sessions: number
      checkedRuns: number
      sessionsVerified: number
      runsPerSecond: Spread
      latencyP50Ms: Spread
      latencyP90Ms: Spread
      heapPlusExternalMBPer1k: Spread
      rssMBPer1k: Spread
      dbMBPer1k: Spread
      /** Postgres: server round trips per run. */
      roundTripsPerRun?: Spread
    }
  >
  w3b: CrashResult[]
  /** The NATS workloads (`nats-bench.ts`), when they ran. */
  nats?: NatsReport
  /** The approvals workload (`approvals-bench.ts`), when it ran. */
  approvals?: ApprovalsReport
}

const number = (value: number, digits?: number): string => {
  if (!Number.isFinite(value)) return 'n/a'
  const places = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2)
  return value.toLocaleString('en-US', { minimumFractionDigits: places, maximumFractionDigits: places })
}
const cell = (value: Spread | undefined, digits?: number): string =>
  value === undefined
    ? ''
    : `${number(value.median, digits)} [${number(value.min, digits)}, ${number(value.max, digits)}]`
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined ? '' : `${number(a / b, 3)}`
const met = (ok: boolean) => (ok ? 'met' : '**missed**')

/**
 * Every configuration against the floor (`bare/memory`) and against each other, from one figure
 * per configuration: the cell is row / column.
 */
function ratioTable(
  title: string,
  configurations: Record<string, unknown>,
  figure: (name: string) => number | undefined,
): string[] {
  const names = Object.keys(configurations).filter((name) => figure(name) !== undefined)
  return [
    `| ${title} | ${names.join(' | ')} |`,
    `|---|${names.map(() => '---').join('|')}|`,
    ...names.map(
      (row) => `| ${row} | ${names.map((column) => ratio(figure(row), figure(column))).join(' | ')} |`,
    ),
  ]
}

export function renderMarkdown(report: Report): string {
  const lines: string[] = []
  const push = (...more: string[]) => lines.push(...more)
  const m = report.machine
  push(
    `# Benchmark results (${report.mode} mode)`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, Node ${m.node}; load average ${number(Number(m.loadAverageAtStart))} at start, ${number(Number(m.loadAverageAtEnd))} at end; ${number(Number(m.wallSeconds), 0)} s in all.`,
    `Versions: ${Object.entries(report.versions)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}.`,
    `Figures are the median of per-process figures [min, max] over ${report.settings.processes} fresh process(es) per configuration, all configurations interleaved. Every answer was checked. \`bare\` is the floor: the same script as a hand-written loop with nothing durable.`,
    '',
  )
  if (Object.keys(report.w1).length > 0) {
    push(
      `## W1: tool loop (µs per step; ${report.settings.runs} runs per K per process after a warm-up of ≥ ${report.settings.warmupSteps} steps and ≥ ${report.settings.warmupMs} ms)`,
      '',
      '| runtime / store | K=5 | K=20 | K=100 | K=100 / K=20 | runs checked |',
      '|---|---|---|---|---|---|',
    )
    for (const [name, figures] of Object.entries(report.w1))
      push(
        `| ${name} | ${cell(figures.perK['5'])} | ${cell(figures.perK['20'])} | ${cell(figures.perK['100'])} | ${ratio(figures.perK['100']?.median, figures.perK['20']?.median)} | ${figures.checkedRuns} |`,
      )
    push(
      '',
      ...ratioTable(
        'W1 µs/step at K=20, row / column',
        report.w1,
        (name) => report.w1[name]?.perK['20']?.median,
      ),
    )
    push('')
  }
  if (Object.keys(report.w2).length > 0) {
    const sessions = Object.values(report.w2)[0]?.sessions ?? 0
    push(
      `## W2: many agents (${sessions.toLocaleString('en-US')} sessions of K=2, 100 at a time unless the row says all at once, all kept)`,
      '',
      '| runtime / store | runs/s | latency p50 ms | latency p90 ms | heap+external MB per 1k | RSS MB per 1k | DB MB per 1k | sessions verified |',
      '|---|---|---|---|---|---|---|---|',
    )
    for (const [name, figures] of Object.entries(report.w2))
      push(
        `| ${name} | ${cell(figures.runsPerSecond, 0)} | ${cell(figures.latencyP50Ms)} | ${cell(figures.latencyP90Ms)} | ${cell(figures.heapPlusExternalMBPer1k)} | ${cell(figures.rssMBPer1k)} | ${name.endsWith('sqlite') || name.endsWith('postgres') ? cell(figures.dbMBPer1k) : ''} | ${figures.sessionsVerified} |`,
      )
    const w2p = report.w2['vel/postgres']
    if (w2p)
      push(
        '',
        `vel/postgres: ${w2p.sessions.toLocaleString('en-US')} sessions (every append commits), ${number(w2p.roundTripsPerRun?.median ?? Number.NaN, 1)} round trips per run; its DB figure is \`pg_database_size\`.`,
      )
    push(
      '',
      ...ratioTable('W2 runs/s, row / column', report.w2, (name) => report.w2[name]?.runsPerSecond.median),
    )
    push('')
  }
  if (report.w3b.length > 0) {
    push(
      '## W3: durable',
      '',
      '(a) SQLite minus memory, µs per step (from W1 medians)',
      '',
      '| runtime | K=5 | K=20 | K=100 |',
      '|---|---|---|---|',
    )
    for (const runtime of ['vel', 'langgraph'])
      push(
        `| ${runtime} | ${['5', '20', '100']
          .map((k) =>
            number(
              (report.w1[`${runtime}/sqlite`]?.perK[k]?.median ?? Number.NaN) -
                (report.w1[`${runtime}/memory`]?.perK[k]?.median ?? Number.NaN),
            ),
          )
          .join(' | ')} |`,
      )
    push(
      '',
      '(b) Crash (SIGKILL) and resume in a fresh process, K=20 on SQLite. B times are ms from process start (median [min, max]); "Node start-up" is process start to the entry module (with tsx loaded, for `tsx` rows), "modules" the dynamic import of the runtime, "open" the store or checkpointer. `compiled`: plain `node` on the packages\' `dist/` (as installed); `tsx`: the TypeScript sources compiled on the fly. Children run without `NODE_EXTRA_CA_CERTS` (Node parses that file before any script; nothing here uses TLS).',
      '',
      '| runtime | crash at | answers (expected) | every add(i,i) ran | duplicate tool runs | B: start → first step | Node start-up | modules | open |',
      '|---|---|---|---|---|---|---|---|---|',
    )
    for (const [runtime, build] of [
      ['vel', 'compiled'],
      ['vel', 'tsx'],
      ['langgraph', 'tsx'],
    ] as const)
      for (const at of ['model', 'tool'] as const) {
        const rows = report.w3b.filter(
          (result) => result.runtime === runtime && (result.build ?? 'tsx') === build && result.at === at,
        )
        if (rows.length === 0) continue
        const spreadOf = (pick: (result: CrashResult) => number): Spread => ({
          median: median(rows.map(pick)),
          min: Math.min(...rows.map(pick)),
          max: Math.max(...rows.map(pick)),
        })
        push(
          `| ${runtime} (${build}) | ${at === 'model' ? 'model call of step 11' : 'inside tool 10, after its side effect'} | ${[...new Set(rows.map((row) => row.answer))].join(', ')} (${rows[0]?.expectedAnswer}) | ${rows.every((row) => row.allRan) ? 'yes' : 'NO'} | ${rows.map((row) => row.duplicates).join(', ')} | ${cell(
            spreadOf((row) => row.firstStepMs),
            0,
          )} | ${cell(
            spreadOf((row) => row.entryMs),
            0,
          )} | ${cell(
            spreadOf((row) => row.moduleLoadMs),
            0,
          )} | ${cell(
            spreadOf((row) => row.openMs),
            0,
          )} |`,
        )
      }
    push(
      '',
      'With the exit inside tool 10, Vel (tool marked `unsafe`) does not run call_10 again: it journals `tool.interrupted`, the model reads an error result for call_10 and continues, so its sum lacks 20 (`sum=400`) and add(10,10) ran exactly once. LangGraph re-runs the interrupted tool node.',
      '',
    )
  }
  if (report.nats !== undefined) push(...natsSection(report.nats, cell))
  if (report.approvals !== undefined) push(...approvalsSection(report.approvals, number))
  // The targets of issue 16 (docs/performance.md).
  push('## Targets (Vel)', '', '| target | figure | |', '|---|---|---|')
  const w1m = report.w1['vel/memory']?.perK
  const w1s = report.w1['vel/sqlite']?.perK
  if (w1m && w1s) {
    push(
      `| W1 ≤ 20 µs/step, memory (K=20) | ${number(w1m['20']?.median ?? Number.NaN)} | ${met((w1m['20']?.median ?? Infinity) <= 20)} |`,
    )
    const asyncTool = report.w1['vel/memory (async tool)']?.perK['20']?.median
    if (asyncTool !== undefined)
      push(`| W1 ≤ 20 µs/step, memory, async tool (K=20) | ${number(asyncTool)} | ${met(asyncTool <= 20)} |`)
    push(
      `| W1 ≤ 45 µs/step, SQLite (K=20) | ${number(w1s['20']?.median ?? Number.NaN)} | ${met((w1s['20']?.median ?? Infinity) <= 45)} |`,
    )
    for (const [store, perK] of [
      ['memory', w1m],
      ['SQLite', w1s],
    ] as const) {
      const growth = (perK['100']?.median ?? Infinity) / (perK['20']?.median ?? 1)
      push(`| W1 growth K=20 → K=100 ≤ 1.2× (${store}) | ${number(growth, 2)}× | ${met(growth <= 1.2)} |`)
    }
  }
  const w1p = report.w1['vel/postgres']
  const trips = w1p?.roundTrips?.['20']
  if (w1p && trips) {
    const perStep = w1p.perK['20']?.median ?? Number.NaN
    // A journal step is one append (its entries and any snapshot); a W1 step makes about one (the
    // model's call of a side-effect-free tool with the tool's result, ADR 0125), and its whole
    // time is charged to them here.
    const perAppend = perStep / trips.appendsPerStep
    push(
      `| Postgres: one round trip per journal step (the append with its lease fence, head check and any snapshot) | ${number(trips.perAppend)} per append; a W1 step (K=20) makes ${number(trips.appendsPerStep)} appends, ${number(trips.perStep)} round trips in all | ${met(trips.perAppend <= 1)} |`,
      `| Postgres ≤ 600 µs per journal step (W1 µs/step at K=20 ÷ appends per step) | ${number(perAppend)} (W1: ${number(perStep)} µs per step) | ${met(perAppend <= 600)} |`,
    )
  }
  const w2m = report.w2['vel/memory']
  const w2s = report.w2['vel/sqlite']
  if (w2m && w2s) {
    push(
      `| W2 ≥ 10,000 runs/s, memory | ${number(w2m.runsPerSecond.median, 0)} | ${met(w2m.runsPerSecond.median >= 10_000)} |`,
      `| W2 ≥ 4,000 runs/s, SQLite | ${number(w2s.runsPerSecond.median, 0)} | ${met(w2s.runsPerSecond.median >= 4_000)} |`,
      `| W2 ≤ 2 MB heap retained per 1k sessions, memory | ${number(w2m.heapPlusExternalMBPer1k.median)} | ${met(w2m.heapPlusExternalMBPer1k.median <= 2)} |`,
      `| W2 ≤ 0.2 MB heap retained per 1k sessions, SQLite | ${number(w2s.heapPlusExternalMBPer1k.median)} | ${met(w2s.heapPlusExternalMBPer1k.median <= 0.2)} |`,
      `| W2 SQLite file ≤ 2 MB per 1k sessions | ${number(w2s.dbMBPer1k.median)} | ${met(w2s.dbMBPer1k.median <= 2)} |`,
    )
  }
  const velCrash = report.w3b.filter((result) => result.runtime === 'vel')
  const compiled = velCrash.filter((result) => result.build === 'compiled')
  if (compiled.length > 0) {
    const of = (pick: (result: CrashResult) => number) => number(median(compiled.map(pick)), 0)
    const resume = median(compiled.map((result) => result.firstStepMs))
    push(
      `| W3 resume, compiled build: process start → first step ≤ 100 ms (stretch 60) | ${number(resume, 0)} ms (Node ${of((row) => row.entryMs)}, modules ${of((row) => row.moduleLoadMs)}, open ${of((row) => row.openMs)}) | ${met(resume <= 100)}${resume <= 60 ? ' (stretch met)' : ''} |`,
    )
  }
  if (velCrash.length > 0) {
    const duplicates = velCrash.reduce((sum, result) => sum + result.duplicates, 0)
    push(`| W3 zero duplicated unsafe side effects | ${duplicates} | ${met(duplicates === 0)} |`)
  }
  if (report.nats !== undefined) push(...natsTargets(report.nats, number))
  if (report.approvals !== undefined) push(...approvalsTargets(report.approvals, number))
  push('')
  return `${lines.join('\n')}\n`
}
