import type { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_TYPES } from './contract';

export type SearchAttributeKind = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

/** temporal.api.enums.v1.IndexedValueType numbers, as returned by operatorService.listSearchAttributes. */
export const INDEXED_VALUE_TYPE: Readonly<Record<SearchAttributeKind, number>> = {
  Text: 1,
  Keyword: 2,
  Int: 3,
  Double: 4,
  Bool: 5,
  Datetime: 6,
  KeywordList: 7,
};

/**
 * Registers CertFleet's custom search attributes on a namespace, idempotently, and returns once the
 * frontend accepts them in a visibility query. The dev server gets them at launch (--search-attribute);
 * an external Temporal needs this once. On SQL visibility (PostgreSQL) the server maps each one to a
 * pre-allocated column through the namespace's aliases, which its services see only at their next
 * namespace refresh (about 10 s): starting a workflow with them before that fails, so this waits.
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  options: { readyTimeoutMs?: number; pollMs?: number } = {},
): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = Object.entries(SEARCH_ATTRIBUTE_TYPES).filter(([name]) => !known.has(name));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map(([name, kind]) => [name, INDEXED_VALUE_TYPE[kind]])),
  });
  const query = missing.map(([name]) => `${name} = ''`).join(' AND ');
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    try {
      await connection.workflowService.countWorkflowExecutions({ namespace, query });
      return missing.map(([name]) => name);
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(
          `temporal: search attributes ${missing.map(([n]) => n).join(', ')} added to ${namespace} but not usable yet: ${String(error)}`,
        );
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
    }
  }
}
