/**
 * Where the fake PAN-OS / Panorama keeps certificates and SSL/TLS service profiles
 * (docs/vendors/panos.md "Panorama"; pan-chainguard `guard.py` Xpath class: firewall
 * `/config/shared/certificate`, Panorama `/config/panorama/certificate`, template
 * `/config/devices/entry[@name='localhost.localdomain']/template/entry[@name='T']/config/shared/certificate`
 * and the template vsys form). Kept apart from the deployer's xpaths.ts so the fake does not share
 * the code under test.
 */
import { find, textOf, type Step, type XNode } from './xml';

export interface FakePanosProfile {
  name: string;
  /** e.g. 'vsys1'; omitted: the profile is in `shared` (of the firewall or the template). */
  vsys?: string;
  /** A Panorama template holding the profile (served by the template's firewalls once pushed). */
  template?: string;
}

export const DEVICE_STEPS: Step[] = [
  { name: 'config' },
  { name: 'devices' },
  { name: 'entry', entryName: 'localhost.localdomain' },
];
export const SYSTEM_STEPS: Step[] = [...DEVICE_STEPS, { name: 'deviceconfig' }, { name: 'system' }];
export const templateSteps = (template: string): Step[] => [
  ...DEVICE_STEPS,
  { name: 'template' },
  { name: 'entry', entryName: template },
];
export const stackSteps = (stack: string): Step[] => [
  ...DEVICE_STEPS,
  { name: 'template-stack' },
  { name: 'entry', entryName: stack },
];

/** Steps below a `config` root: the template's own `config` node is such a root too. */
const within = (root: Step[], rest: Step[]): Step[] => [...root, ...rest.slice(1)];

/** Where a profile's certificates live: the firewall's shared, Panorama's own, or the template's shared. */
export type Place = { kind: 'firewall' } | { kind: 'panorama' } | { kind: 'template'; template: string };

export const placeOf = (panorama: boolean, p: { template?: string }): Place =>
  p.template ? { kind: 'template', template: p.template } : panorama ? { kind: 'panorama' } : { kind: 'firewall' };

const rootOf = (place: Place): Step[] =>
  place.kind === 'template' ? [...templateSteps(place.template), { name: 'config' }] : [{ name: 'config' }];

export function certContainer(place: Place): Step[] {
  if (place.kind === 'panorama') return [{ name: 'config' }, { name: 'panorama' }, { name: 'certificate' }];
  return within(rootOf(place), [{ name: 'config' }, { name: 'shared' }, { name: 'certificate' }]);
}
export const certSteps = (place: Place, name: string): Step[] => [
  ...certContainer(place),
  { name: 'entry', entryName: name },
];

export function profileContainer(place: Place, vsys?: string): Step[] {
  if (place.kind === 'panorama') return [{ name: 'config' }, { name: 'panorama' }, { name: 'ssl-tls-service-profile' }];
  const rest: Step[] = vsys
    ? [...DEVICE_STEPS, { name: 'vsys' }, { name: 'entry', entryName: vsys }, { name: 'ssl-tls-service-profile' }]
    : [{ name: 'config' }, { name: 'shared' }, { name: 'ssl-tls-service-profile' }];
  return within(rootOf(place), rest);
}
export const profileSteps = (place: Place, p: FakePanosProfile): Step[] => [
  ...profileContainer(place, p.vsys),
  { name: 'entry', entryName: p.name },
];

/** A firewall's view of a profile on a template-pushed configuration (the template's `config` is the firewall's root). */
export const firewallProfileSteps = (p: FakePanosProfile): Step[] => profileSteps({ kind: 'firewall' }, p);

export const pathText = (steps: Step[]): string =>
  steps.map((s) => (s.entryName === undefined ? `/${s.name}` : `/${s.name}[@name='${s.entryName}']`)).join('');

/** Every place whose certificates a configuration may hold. */
export function placesOf(config: XNode, panorama: boolean): Place[] {
  const templates = (find(config, [...DEVICE_STEPS, { name: 'template' }])?.children ?? []).map((t): Place => ({
    kind: 'template',
    template: t.attrs['name'] ?? '',
  }));
  return [panorama ? { kind: 'panorama' } : { kind: 'firewall' }, ...templates];
}

/** Profiles of a place (shared and every vsys), with a label as PAN-OS prints the path. */
export function profilesOf(config: XNode, place: Place): { label: string; node: XNode }[] {
  const out: { label: string; node: XNode }[] = [];
  const prefix = place.kind === 'template' ? `template -> ${place.template} -> ` : '';
  for (const p of find(config, profileContainer(place))?.children ?? [])
    out.push({
      label: `${prefix}${place.kind === 'panorama' ? 'panorama' : 'shared'} -> ssl-tls-service-profile -> ${p.attrs['name'] ?? ''}`,
      node: p,
    });
  if (place.kind === 'panorama') return out;
  for (const vsys of find(config, within(rootOf(place), [...DEVICE_STEPS, { name: 'vsys' }]))?.children ?? []) {
    for (const p of vsys.children.find((c) => c.name === 'ssl-tls-service-profile')?.children ?? []) {
      out.push({
        label: `${prefix}vsys -> ${vsys.attrs['name'] ?? ''} -> ssl-tls-service-profile -> ${p.attrs['name'] ?? ''}`,
        node: p,
      });
    }
  }
  return out;
}

export const certificateNamesAt = (config: XNode, place: Place): string[] =>
  (find(config, certContainer(place))?.children ?? []).map((c) => c.attrs['name'] ?? '');

/** The certificate a profile references in a configuration, and that certificate object. */
export function boundObject(config: XNode, place: Place, profile: FakePanosProfile): { name: string; object?: XNode } {
  const name = textOf(find(config, profileSteps(place, profile)), 'certificate');
  return { name, ...(name ? { object: find(config, certSteps(place, name)) } : {}) };
}

/**
 * The set/delete xpaths the fake models: profile entries (and below) in every place, the system node
 * with its ssl-tls-service-profile, and (delete only) certificate entries.
 */
export function editable(steps: Step[], action: 'set' | 'delete'): boolean {
  const text = pathText(steps);
  const name = `\\[@name='[^']*'\\]`;
  const dev = `/config/devices/entry\\[@name='localhost\\.localdomain'\\]`;
  const roots = [`/config`, `${dev}/template/entry${name}/config`];
  const profile = new RegExp(
    `^(${roots.map((r) => `${r}/shared|${r}/devices/entry\\[@name='localhost\\.localdomain'\\]/vsys/entry${name}`).join('|')}|/config/panorama)/ssl-tls-service-profile/entry${name}(/.*)?$`,
  );
  const system = new RegExp(`^${dev}/deviceconfig/system(/ssl-tls-service-profile)?$`);
  const certificate = new RegExp(
    `^(${roots.map((r) => `${r}/shared`).join('|')}|/config/panorama)/certificate/entry${name}$`,
  );
  return profile.test(text) || system.test(text) || (action === 'delete' && certificate.test(text));
}
