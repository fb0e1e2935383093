import type { DeploymentRecord } from './db/repositories/deployments';
import type { TargetRecord } from './db/repositories/targets';
import type { VendorDescriptor, VerifyEndpoint } from './deployers/types';

/** Where a deployment's certificate must be served: the endpoints it names, else the vendor's defaults. */
export function verifyEndpointsOf(
  vendors: Record<string, VendorDescriptor>,
  target: TargetRecord,
  deployment: DeploymentRecord,
): VerifyEndpoint[] {
  if (deployment.verifyEndpoints.length > 0) return deployment.verifyEndpoints;
  const vendor = vendors[target.vendor];
  return vendor
    ? vendor.defaultVerifyEndpoints(
        { host: target.host, port: target.port, options: target.options },
        deployment.binding,
      )
    : [];
}

/** Why the deployment has nothing to verify by TLS (its binding has no TLS endpoint and it names none), or undefined. */
export function withoutTlsEndpoint(
  vendors: Record<string, VendorDescriptor>,
  target: TargetRecord,
  deployment: DeploymentRecord,
): string | undefined {
  if (deployment.verifyEndpoints.length > 0) return undefined;
  return vendors[target.vendor]?.withoutTlsEndpoint?.(deployment.binding);
}

/** An endpoint as one word, for keys and pages: host:port, plus /sni when it differs from the host. */
export const endpointLabel = (e: VerifyEndpoint): string =>
  `${e.host}:${e.port}${e.servername && e.servername !== e.host ? `/${e.servername}` : ''}`;
