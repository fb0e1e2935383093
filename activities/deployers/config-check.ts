import { FailureType } from '../../temporal/contract';
import { classified } from '../errors';
import type { Deployer, DeployerContext, ParseResult, VendorDescriptor } from './types';

/** A typed parse of one part of a vendor's configuration: the value when there are no errors. */
export interface Parsed<T> {
  value?: T;
  errors: Record<string, string>;
}

/** A vendor's typed parsers (its descriptor module exports them; the descriptor wraps them with `untypedParsers`). */
export interface VendorParsers<C, O, B> {
  parseCredentials: (input: Record<string, unknown>) => Parsed<C>;
  parseOptions: (input: Record<string, unknown>) => Parsed<O>;
  parseBinding: (input: Record<string, unknown>) => Parsed<B>;
}

/**
 * A parse that always gives a value: fields in error hold their defaults. The console re-reads the
 * endpoint fields of such a value (activities/domain/secret-endpoints.ts) while other fields are in
 * error; a deployer still only uses it when `errors` is empty (checkDeployerConfig).
 */
export interface ParsedWithDefaults<T> extends Parsed<T> {
  value: T;
}

/** The web-facing (untyped) form of a typed parse, for `VendorDescriptor`. */
export const asParseResult = <T extends object>(parsed: Parsed<T>): ParseResult => ({
  value: { ...(parsed.value ?? {}) },
  errors: parsed.errors,
});

/** A vendor's typed parsers, their types inferred from the three functions. */
export const vendorParsers = <C, O, B>(
  parseCredentials: VendorParsers<C, O, B>['parseCredentials'],
  parseOptions: VendorParsers<C, O, B>['parseOptions'],
  parseBinding: VendorParsers<C, O, B>['parseBinding'],
): VendorParsers<C, O, B> => ({ parseCredentials, parseOptions, parseBinding });

/** A vendor's typed parsers in the untyped form its descriptor gives the console (`...untypedParsers(parsers)`). */
export const untypedParsers = <C extends object, O extends object, B extends object>(
  parsers: VendorParsers<C, O, B>,
): Pick<VendorDescriptor, 'parseCredentials' | 'parseOptions' | 'parseBinding'> => ({
  parseCredentials: (input) => asParseResult(parsers.parseCredentials(input)),
  parseOptions: (input) => asParseResult(parsers.parseOptions(input)),
  parseBinding: (input) => asParseResult(parsers.parseBinding(input)),
});

/** A deployer's stored configuration, parsed once, typed. */
export interface DeployerConfig<C, O, B> {
  /** The credentials and options; throws a non-retryable VALIDATION error naming every bad field. Enough for "Test connection". */
  target(): { credentials: C; options: O };
  /** Credentials, options and binding; throws VALIDATION naming every bad field (the binding's too). */
  all(): { credentials: C; options: O; binding: B };
  targetValid: boolean;
  bindingValid: boolean;
  /** The binding when it parsed (preflight reads it when there is one). */
  binding?: B;
  /** The binding's field errors (preflight reports them as a check). */
  bindingErrors: Record<string, string>;
  /**
   * Compatibility with the untyped checks: throws as `all()` (or `target()` when needsBinding is false).
   * Prefer `all()`/`target()`, which return the typed values.
   */
  ready(needsBinding?: boolean): void;
}

/**
 * Parses a deployer's configuration once from the descriptor's typed parsers. The same messages as
 * the console's form validation, prefixed with the part they belong to (`options.vdom: …`).
 */
export function checkDeployerConfig<C, O, B>(
  component: string,
  parsers: VendorParsers<C, O, B>,
  ctx: DeployerContext,
): DeployerConfig<C, O, B> {
  const credentials = parsers.parseCredentials(ctx.target.credentials);
  const options = parsers.parseOptions(ctx.target.options);
  const binding = parsers.parseBinding(ctx.binding);
  const problems = (entries: [string, Parsed<unknown>][]): string[] =>
    entries.flatMap(([group, result]) => Object.entries(result.errors).map(([k, v]) => `${group}.${k}: ${v}`));
  const targetProblems = problems([
    ['credentials', credentials],
    ['options', options],
  ]);
  const allProblems = [...targetProblems, ...problems([['binding', binding]])];
  const fail = (list: string[]): never => {
    throw classified(FailureType.validation, `${component}: invalid target configuration: ${list.join('; ')}`);
  };
  const target = (): { credentials: C; options: O } => {
    if (targetProblems.length > 0 || credentials.value === undefined || options.value === undefined)
      return fail(targetProblems.length ? targetProblems : ['unreadable']);
    return { credentials: credentials.value, options: options.value };
  };
  const all = (): { credentials: C; options: O; binding: B } => {
    if (allProblems.length > 0 || binding.value === undefined)
      return fail(allProblems.length ? allProblems : ['binding: unreadable']);
    return { ...target(), binding: binding.value };
  };
  const bindingValid = Object.keys(binding.errors).length === 0 && binding.value !== undefined;
  return {
    target,
    all,
    targetValid: targetProblems.length === 0,
    bindingValid,
    ...(bindingValid && binding.value !== undefined ? { binding: binding.value } : {}),
    bindingErrors: binding.errors,
    ready(needsBinding = true): void {
      if (needsBinding) all();
      else target();
    },
  };
}

/** The steps of a Deployer that change or check a device (all but close). */
export type DeployerStep = Exclude<keyof Deployer, 'close'>;

/**
 * The deployer of a target whose credentials or options do not parse: every step throws the
 * VALIDATION error naming every bad field, the binding's too for the steps that need one
 * (`bindingSteps`, as the vendor's own deployer checks them); close has nothing to end.
 */
export function refusingDeployer(
  config: Pick<DeployerConfig<unknown, unknown, unknown>, 'target' | 'all'>,
  bindingSteps: readonly DeployerStep[] = ['stage', 'activate'],
): Deployer {
  const refuse = (step: DeployerStep) => async (): Promise<never> => {
    if (bindingSteps.includes(step)) config.all();
    config.target();
    throw new Error('refusingDeployer: the target configuration is valid; build the real deployer');
  };
  return {
    preflight: refuse('preflight'),
    stage: refuse('stage'),
    activate: refuse('activate'),
    activationStatus: refuse('activationStatus'),
    rollback: refuse('rollback'),
    removeSuperseded: refuse('removeSuperseded'),
    close: async () => undefined,
  };
}
