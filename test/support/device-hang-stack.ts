/**
 * The stack for the device hang test and `bench/hang.ts --device`: the usual stack with the hang
 * stack's short breaker and timeouts (test/support/hang-stack.ts), two fake BIG-IPs registered as
 * targets, "Healthy LB" reached directly and "Hung LB" behind a hang proxy (test/support/hang-proxy.ts)
 * that accepts connections and, while hanging, never answers. Certificates are issued at the stack's
 * Pebble; each deploy goes to the next free client-ssl profile of its device.
 */
import { Client, Connection } from '@temporalio/client';
import { certificateWorkflowId, deploymentWorkflowId, type DeploymentOutcome } from '../../temporal/contract';
import { startFakeBigip, type FakeBigip } from '../fakes/f5-bigip/server';
import { bigipConnection } from './bigip-target';
import type { ConsoleClient } from './console-client';
import { openBulkApi } from './console-actions';
import { HANG_ENV } from './hang-stack';
import { startHangProxy, type HangProxy } from './hang-proxy';
import { startStack, type Stack } from './stack';

export type DeviceName = 'healthy' | 'hung';
export interface LinkedDeployment {
  certificateId: string;
  deploymentId: string;
}

export interface DeviceHangStack {
  stack: Stack;
  proxy: HangProxy;
  admin: ConsoleClient;
  devices: Record<DeviceName, { lb: FakeBigip; targetId: string }>;
  /** Issues `n` certificates at the healthy Pebble and waits until each is issued; returns their ids. */
  issue(prefix: string, n: number): Promise<string[]>;
  /** Links each certificate to the device's next free profile and deploys it at once. */
  deploy(certificateIds: string[], device: DeviceName): Promise<LinkedDeployment[]>;
  outcome(deployment: LinkedDeployment): Promise<DeploymentOutcome>;
  stop(): Promise<void>;
}

export const DEVICE_HANG_ENV: Record<string, string> = {
  ...HANG_ENV,
  DEPLOY_DEVICE_RETRY_INITIAL_MS: '100',
  DEPLOY_DEVICE_RETRY_ATTEMPTS: '2',
};

const profileName = (device: DeviceName, i: number): string => `clientssl-${device}-${i}`;

/** Profiles per device: as many deploys as each will receive. */
export async function startDeviceHangStack(profiles: Record<DeviceName, number>): Promise<DeviceHangStack> {
  const stack = await startStack({ env: DEVICE_HANG_ENV });
  const started: { close(): Promise<void> }[] = [];
  let connection: Connection | undefined;
  try {
    await stack.startWorker();
    const lbOf = async (device: DeviceName) => {
      const lb = await startFakeBigip({
        profiles: Array.from({ length: profiles[device] }, (_, i) => profileName(device, i)),
      });
      started.push(lb);
      return lb;
    };
    const healthyLb = await lbOf('healthy');
    const hungLb = await lbOf('hung');
    const proxy = await startHangProxy({ host: hungLb.host, port: hungLb.port }, 'forward');
    started.push(proxy);
    connection = await Connection.connect({ address: stack.temporal.address });
    const client = new Client({ connection });
    const { admin, directoryId, providerId, api } = await openBulkApi(stack, 'device-hang', 'Device hang CF');
    const addTarget = async (name: string, lb: FakeBigip, port: number): Promise<string> =>
      String(
        (
          await api<{ id: string }>('POST', '/api/v1/targets', {
            vendor: 'f5-bigip',
            name,
            ...bigipConnection(lb),
            port,
          })
        ).json.id,
      );
    const devices: DeviceHangStack['devices'] = {
      healthy: { lb: healthyLb, targetId: await addTarget('Healthy LB', healthyLb, healthyLb.port) },
      hung: { lb: hungLb, targetId: await addTarget('Hung LB', hungLb, proxy.port) },
    };
    const used: Record<DeviceName, number> = { healthy: 0, hung: 0 };
    const open = connection;
    return {
      stack,
      proxy,
      admin,
      devices,
      async issue(prefix, n) {
        const ids: string[] = [];
        for (let i = 0; i < n; i++) {
          const { json } = await api<{ id: string }>('POST', '/api/v1/certificates', {
            commonName: `${prefix}-${i}.example.test`,
            dnsProviderId: providerId,
            acmeDirectoryId: directoryId,
          });
          ids.push(String(json.id));
        }
        for (const id of ids) await client.workflow.getHandle(certificateWorkflowId(id)).result();
        return ids;
      },
      async deploy(certificateIds, device) {
        const { lb, targetId } = devices[device];
        const linked: LinkedDeployment[] = [];
        for (const certificateId of certificateIds) {
          if (used[device] >= profiles[device]) throw new Error(`no free profile left on the ${device} device`);
          const profile = profileName(device, used[device]++);
          const endpoint = lb.endpointFor(profile);
          const { json } = await api<{ id: string }>('POST', `/api/v1/certificates/${certificateId}/deployments`, {
            targetId,
            binding: { profiles: [profile] },
            verifyEndpoints: [`${endpoint.host}:${endpoint.port}`],
            deployNow: true,
          });
          linked.push({ certificateId, deploymentId: String(json.id) });
        }
        return linked;
      },
      outcome: (d) =>
        client.workflow
          .getHandle(deploymentWorkflowId(d.certificateId, d.deploymentId))
          .result() as Promise<DeploymentOutcome>,
      async stop() {
        await open.close();
        await Promise.all(started.map((s) => s.close()));
        await stack.stop();
      },
    };
  } catch (error) {
    await connection?.close();
    await Promise.all(started.map((s) => s.close()));
    await stack.stop();
    throw error;
  }
}
