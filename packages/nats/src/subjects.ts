/** Default subject prefix: subjects look like `vel.agent.<agentId>.run`. */
export const defaultPrefix = 'vel'

const prefixPattern = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/
/** Agent ids, run ids and worker ids are single subject tokens. */
const tokenPattern = /^[A-Za-z0-9_-]{1,128}$/

/** Whether `value` can stand as one subject token (no dots, wildcards or spaces). */
export const isSubjectToken = (value: string): boolean => tokenPattern.test(value)

/**
 * The NATS subjects of one deployment (see DESIGN.md, "Bus and NATS subjects"). Every name is
 * derived from the prefix, so several deployments can share a server under different prefixes.
 */
export interface Subjects {
  readonly prefix: string
  /** Request/reply trigger of an agent, served by a worker queue group. */
  agentRun(agentId: string): string
  /** Wildcard the workers subscribe to for triggers. */
  readonly agentRunAll: string
  /** Trigger subject captured by the JetStream work-queue stream (durable triggers). */
  durableTrigger(agentId: string): string
  /** Wildcard the trigger stream captures. */
  readonly durableTriggerAll: string
  /** Stream parts of a run. */
  runEvents(runId: string): string
  /** Approval and question requests of a run. */
  runHuman(runId: string): string
  /** Wildcard for the requests of every run. */
  readonly runHumanAll: string
  /** Answers to a run's requests. */
  humanReply(runId: string): string
  /** Wildcard workers subscribe to for answers. */
  readonly humanReplyAll: string
  /** Replay requests for a run's journaled parts (served by any worker). */
  runReplay(runId: string): string
  /** Wildcard workers subscribe to for replays. */
  readonly runReplayAll: string
  /** Cancel requests for a run. */
  runCancel(runId: string): string
  /** Wildcard workers subscribe to for cancels. */
  readonly runCancelAll: string
  /** Direct subject of one worker, used to forward a control message to the run's lease owner. */
  workerControl(ownerId: string): string
  /** The agent id of a trigger subject (either kind), or undefined. */
  agentOf(subject: string): string | undefined
  /** The run id of a `run.<runId>.*` subject, or undefined. */
  runOf(subject: string): string | undefined
  /** Name of the JetStream trigger stream: the prefix upper-cased, `_TRIGGERS` appended. */
  readonly triggerStream: string
  /** Name of the durable consumer the workers share on the trigger stream. */
  readonly triggerConsumer: string
}

/** Builds the subjects of a prefix; throws a TypeError for a prefix that is not a subject. */
export function createSubjects(prefix: string = defaultPrefix): Subjects {
  if (!prefixPattern.test(prefix)) throw new TypeError(`'${prefix}' is not a valid NATS subject prefix`)
  const depth = prefix.split('.').length
  const token = (subject: string, index: number): string | undefined => {
    const tokens = subject.split('.')
    return tokens[depth + index]
  }
  const upper = prefix.toUpperCase().replace(/[^A-Z0-9]/g, '_')
  return {
    prefix,
    agentRun: (agentId) => `${prefix}.agent.${agentId}.run`,
    agentRunAll: `${prefix}.agent.*.run`,
    durableTrigger: (agentId) => `${prefix}.trigger.agent.${agentId}.run`,
    durableTriggerAll: `${prefix}.trigger.agent.*.run`,
    runEvents: (runId) => `${prefix}.run.${runId}.events`,
    runHuman: (runId) => `${prefix}.run.${runId}.human`,
    runHumanAll: `${prefix}.run.*.human`,
    humanReply: (runId) => `${prefix}.run.${runId}.human.reply`,
    humanReplyAll: `${prefix}.run.*.human.reply`,
    runReplay: (runId) => `${prefix}.run.${runId}.replay`,
    runReplayAll: `${prefix}.run.*.replay`,
    runCancel: (runId) => `${prefix}.run.${runId}.cancel`,
    runCancelAll: `${prefix}.run.*.cancel`,
    workerControl: (ownerId) => `${prefix}.worker.${ownerId}.control`,
    agentOf: (subject) => {
      const first = token(subject, 0)
      if (first === 'agent') return token(subject, 1)
      if (first === 'trigger') return token(subject, 2)
      return undefined
    },
    runOf: (subject) => (token(subject, 0) === 'run' ? token(subject, 1) : undefined),
    triggerStream: `${upper}_TRIGGERS`,
    triggerConsumer: `${upper}_WORKERS`,
  }
}

/** Message headers Vel sets (values are decimal strings where numeric). */
export const velHeaders = {
  /** A part's durable position as text (`seq-index`, or `seq~index~epoch~…` for live deltas). */
  position: 'Vel-Position',
  /** On a routed control message: the run event it carries is for the worker that owns the run. */
  routed: 'Vel-Routed',
  /** The run a message is about. */
  runId: 'Vel-Run-Id',
  /** On a durable (JetStream) trigger: where the worker publishes the trigger reply. */
  replyTo: 'Vel-Reply-To',
  /** On a forwarded control message: what it was originally sent to. */
  forwardedFrom: 'Vel-Forwarded-From',
} as const
