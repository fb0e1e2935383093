import { delegationRecord, delegationZoneLine } from '../../activities/domain/dns-delegation';
import type { CertificateRecord } from '../../activities/db/repositories/certificates';
import { audit } from '../audit';
import type { WebDeps } from '../deps';
import { HttpError } from '../http-error';
import { loadCertificate } from './certificates';
import type { Actor } from './input';

/** The CNAME a delegated certificate needs, as the page shows it to give the customer (undefined: not delegated). */
export function delegationView(cert: Pick<CertificateRecord, 'commonName' | 'delegationZone'>) {
  if (!cert.delegationZone) return undefined;
  const record = delegationRecord(cert.commonName, cert.delegationZone);
  return { ...record, zone: cert.delegationZone, line: delegationZoneLine(record) };
}

/** "Check the CNAME" runs as a workflow: the worker reads DNS and asks the provider (never the web). */
export async function checkCertificateDelegation(deps: WebDeps, actor: Actor, id: unknown) {
  const cert = await loadCertificate(deps.db, id);
  if (!cert.delegationZone) throw new HttpError(409, 'This certificate does not require a CNAME delegation.');
  const started = await deps.commands.startDnsDelegationCheck(cert.id);
  if (started.started)
    await audit(deps.db, actor, {
      action: 'certificate.delegation-check',
      entityType: 'certificate',
      entityId: cert.id,
      after: { runId: started.runId },
    });
  return cert;
}
