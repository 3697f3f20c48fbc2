import { Hono } from 'hono'
import { accessibleRun, decidedBy, type HttpEnv, type RouteDeps, readBody } from '../deps.ts'
import * as Schemas from '../schemas.ts'
import { statusOf } from './runs.ts'

/** Human decisions on a run: approve or deny a tool call, answer a question, cancel. */
export function actionRoutes(deps: RouteDeps): Hono<HttpEnv> {
  const { runtime } = deps
  const app = new Hono<HttpEnv>()
  const accepted = async (runId: string) => ({ runId, status: statusOf((await runtime.get(runId)).state) })

  app.post('/runs/:runId/approvals/:toolCallId', async (c) => {
    const { runId } = await accessibleRun(deps, c, c.req.param('runId'))
    const body = await readBody(deps, c, Schemas.ApprovalBody)
    const options = {
      ...decidedBy(c.get('principal')),
      ...(body.reason === undefined ? {} : { reason: body.reason }),
    }
    const toolCallId = c.req.param('toolCallId')
    if (body.approved) await runtime.approve(runId, toolCallId, options)
    else await runtime.deny(runId, toolCallId, options)
    return c.json(await accepted(runId))
  })

  app.post('/runs/:runId/answers/:requestId', async (c) => {
    const { runId } = await accessibleRun(deps, c, c.req.param('runId'))
    const body = await readBody(deps, c, Schemas.AnswerBody)
    await runtime.respond(
      runId,
      c.req.param('requestId'),
      body.answer as never,
      decidedBy(c.get('principal')),
    )
    return c.json(await accepted(runId))
  })

  app.post('/runs/:runId/cancel', async (c) => {
    const { runId } = await accessibleRun(deps, c, c.req.param('runId'))
    const body = await readBody(deps, c, Schemas.CancelBody, { optional: true })
    await runtime.cancel(runId, body.reason)
    return c.json(await accepted(runId))
  })

  return app
}
