/** What the nginx and apache deployer tests share: the contract against a real sshd and web server, and a deployer per case. */
import type { Deployer, DeployerContext, DeployerFactory } from '../../activities/deployers/types';
import { closing } from './closing';
import { runDeployerContract } from './deployer-contract';
import { startSshd } from './sshd';
import { pinFromTrust, sshServerView, sshTargetContext, type TestWebServer } from './webservers';

/** The shared deployer contract, each run on its own sshd and web server (started by `startWeb`). */
export function runSshServerContract(
  vendor: string,
  create: DeployerFactory,
  startWeb: () => Promise<TestWebServer>,
): void {
  runDeployerContract({
    realServer: true,
    vendor,
    create: (ctx) => create(pinFromTrust(ctx)),
    async setup() {
      const sshd = await startSshd();
      const web = await startWeb().catch(async (error: unknown) => {
        await sshd.stop();
        throw error;
      });
      const context = sshTargetContext(sshd, web);
      return {
        context,
        endpoints: [web.endpoint],
        fake: sshServerView(sshd, web),
        withWrongCredentials: () => ({
          ...context,
          target: { ...context.target, credentials: { username: sshd.username, privateKey: sshd.wrongPrivateKey } },
        }),
        async stop() {
          await web.stop();
          await sshd.stop();
        },
      };
    },
  });
}

/** Runs `work` with a new deployer for `ctx`, and always closes it. */
export function withDeployer<T>(
  create: DeployerFactory,
  ctx: DeployerContext,
  work: (deployer: Deployer) => Promise<T>,
): Promise<T> {
  return closing(create(ctx), work);
}
