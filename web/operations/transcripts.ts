import { isId } from '../../activities/db/repositories/certificates';
import { getRun } from '../../activities/db/repositories/deployment-runs';
import { listRunExchanges } from '../../activities/db/repositories/deployment-transcripts';
import { audit } from '../audit';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import type { Download } from './downloads';
import { loadDeployment } from './deployments';
import type { Actor } from './input';

/**
 * The wire transcript of a deploy run, for a bug report (issue 12 item 5): the device traffic of each
 * step as the activities recorded it, already redacted (activities/domain/wire-redaction.ts).
 * Technicians and admins only (it shows internal addresses and object names), audited.
 */
export async function downloadRunTranscript(
  deps: WebDeps,
  actor: Actor,
  deploymentId: unknown,
  runId: unknown,
): Promise<Download> {
  const deployment = await loadDeployment(deps.db, deploymentId);
  const run = typeof runId === 'string' && isId(runId) ? await getRun(deps.db, runId) : undefined;
  if (!run || run.deploymentId !== deployment.id) throw new HttpError(404, 'No such run of this deployment.');
  const exchanges = await listRunExchanges(deps.db, run.id);
  if (exchanges.length === 0)
    throw new HttpError(404, 'This run has no wire transcript (only failed and rolled-back runs keep one).');
  await audit(deps.db, actor, {
    action: 'deployment.download-transcript',
    entityType: 'deployment',
    entityId: deployment.id,
    after: { runId: run.id },
  });
  const header = [
    `CertFleet wire transcript: ${deployment.commonName} -> ${deployment.targetName} (${deployment.vendor})`,
    `Deployment ${deployment.id}, run ${run.id}, started ${run.startedAt.toISOString()}, outcome ${run.outcome}${run.error ? `: ${run.error}` : ''}`,
    'Secrets, keys, passwords, cookies, tokens and PKCS#12 bodies were removed when this was recorded: "(removed)".',
    'Each step keeps its last 200 exchanges; bodies are cut at 16 KiB.',
  ];
  const body = exchanges.map((e) => `===== ${e.step} · ${e.at.toISOString()} =====\n${e.exchange}`);
  return {
    fileName: `certfleet-transcript-deployment-${deployment.id}-run-${run.id}.txt`,
    contentType: 'text/plain; charset=utf-8',
    body: `${[header.join('\n'), ...body].join('\n\n')}\n`,
    secret: false,
  };
}
