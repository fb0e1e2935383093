import { FailureType } from '../../temporal/contract';
import { classified } from '../errors';
import type { DeployerContext, ParseResult } from './types';

interface Parsers {
  parseCredentials(input: Record<string, unknown>): ParseResult;
  parseOptions(input: Record<string, unknown>): ParseResult;
  parseBinding(input: Record<string, unknown>): ParseResult;
}

/**
 * A deployer's stored configuration, parsed once. `ready()` throws a non-retryable VALIDATION error
 * naming every bad field; `ready(false)` ignores the binding (a connection test before any link).
 */
export function checkDeployerConfig(component: string, parsers: Parsers, ctx: DeployerContext) {
  const credentials = parsers.parseCredentials(ctx.target.credentials);
  const options = parsers.parseOptions(ctx.target.options);
  const binding = parsers.parseBinding(ctx.binding);
  const problems = (entries: [string, ParseResult][]): string[] =>
    entries.flatMap(([group, result]) => Object.entries(result.errors).map(([k, v]) => `${group}.${k}: ${v}`));
  const targetProblems = problems([['credentials', credentials], ['options', options]]);
  const allProblems = [...targetProblems, ...problems([['binding', binding]])];
  return {
    credentials: credentials.value,
    options: options.value,
    binding: binding.value,
    targetValid: targetProblems.length === 0,
    bindingValid: Object.keys(binding.errors).length === 0,
    ready(needsBinding = true): void {
      const list = needsBinding ? allProblems : targetProblems;
      if (list.length > 0) throw classified(FailureType.validation, `${component}: invalid target configuration: ${list.join('; ')}`);
    },
  };
}
