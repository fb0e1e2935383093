import { createAcmeActivities } from './acme';
import { createCertificateActivities } from './certificates';
import type { ActivityDeps } from './deps';
import { createDnsActivities } from './dns';
import { toApplicationFailure } from './errors';
import { createNotifyActivities } from './notify';

type AnyActivity = (input: never) => Promise<unknown>;

/** Every classified error leaves an activity as an ApplicationFailure with the right retryability. */
function classifyFailures<T extends Record<string, AnyActivity>>(activities: T): T {
  const wrapped: Record<string, AnyActivity> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (input: never) => {
      try {
        return await fn(input);
      } catch (error) {
        throw toApplicationFailure(error);
      }
    };
  }
  return wrapped as T;
}

export function createActivities(deps: ActivityDeps) {
  return classifyFailures({
    ...createCertificateActivities(deps),
    ...createAcmeActivities(deps),
    ...createDnsActivities(deps),
    ...createNotifyActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;
