import * as acme from 'acme-client';
import { FailureType } from '../temporal/contract';
import { trustDirectoryCa, withAcmeProblems } from './acme/problems';
import { getAcmeDirectory, recordDirectoryMeta } from './db/repositories/acme-directories';
import type { ActivityDeps } from './deps';
import { directoryMetaOf } from './domain/acme-options';
import { classified, ClassifiedError } from './errors';

export interface DirectoryMetaRead {
  profiles: string[];
  eabRequired: boolean;
  detail: string;
}

export function createAcmeDirectoryActivities(deps: ActivityDeps) {
  return {
    /**
     * Reads the directory document (RFC 8555 §7.1.1) and stores what its `meta` says: the profiles it
     * offers (`meta.profiles`) and whether new accounts need External Account Binding
     * (`meta.externalAccountRequired`). The console lists and checks profiles from this record, since the
     * web never talks to a CA. A failure is recorded too, so the page can say why the list is old.
     */
    async readAcmeDirectoryMeta(input: { directoryId: string }): Promise<DirectoryMetaRead> {
      const directory = await getAcmeDirectory(deps.db, input.directoryId);
      if (!directory) throw classified(FailureType.notFound, `acme: directory ${input.directoryId} no longer exists`);
      trustDirectoryCa(directory.url, directory.caBundlePem);
      try {
        const response = await withAcmeProblems(`read the directory ${directory.url}`, () =>
          acme.axios.get<unknown>(directory.url, { responseType: 'json' }),
        );
        if (response.status !== 200 || typeof response.data !== 'object' || response.data === null)
          throw classified(
            FailureType.acmeRejected,
            `acme: ${directory.url} answered HTTP ${response.status} without a directory document`,
          );
        const meta = directoryMetaOf(response.data);
        await recordDirectoryMeta(deps.db, directory.id, meta);
        const names = Object.keys(meta.profiles);
        return {
          profiles: names,
          eabRequired: meta.eabRequired,
          detail: `${directory.name} offers ${names.length ? `the profiles ${names.join(', ')}` : 'no profiles'}${meta.eabRequired ? ' and requires External Account Binding' : ''}.`,
        };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        await recordDirectoryMeta(deps.db, directory.id, { error: message });
        throw error instanceof ClassifiedError ? error : classified(FailureType.acmeUnavailable, `acme: ${message}`);
      }
    },
  };
}
