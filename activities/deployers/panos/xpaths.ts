/**
 * Where PAN-OS keeps certificates and SSL/TLS service profiles, per kind of target
 * (docs/vendors/panos.md "Panorama"; pan-chainguard `guard.py` Xpath class; PAN-OS XML API docs).
 * Pure: names are validated by the descriptor before they get here.
 */
import type { NameRules } from '../naming';
import type { PanosOptions } from './descriptor';

export const DEVICE = "/config/devices/entry[@name='localhost.localdomain']";
/** The node naming the profile the management web interface uses (docs/vendors/panos.md "Management profile"). */
export const MANAGEMENT_PROFILE = `${DEVICE}/deviceconfig/system/ssl-tls-service-profile`;
export const TEMPLATES = `${DEVICE}/template`;
export const TEMPLATE_STACKS = `${DEVICE}/template-stack`;

export interface PanosScope {
  /** The certificate container (a `<certificate>` node with `<entry>`s). */
  certificates: string;
  /** The SSL/TLS service profile container of the binding. */
  profiles: string;
  /** Every profile container whose references keep a certificate from being deleted. */
  referencingProfiles: string[];
  /** Import parameters that put the file into this scope (`target-tpl`). */
  importTarget: Record<string, string>;
  /** Where the change is described in messages. */
  label: string;
  /** Panorama (31-character names) rather than a firewall (63). */
  onPanorama: boolean;
  /** Committed on Panorama and then pushed with commit-all. */
  push?: { style: 'template' | 'template-stack'; name: string };
}

const entry = (container: string, name: string): string => `${container}/entry[@name='${name}']`;

export function scopeOf(options: PanosOptions): PanosScope {
  const vsysProfiles = (base: string, vsys: string): string =>
    `${base}/devices/entry[@name='localhost.localdomain']/vsys/entry[@name='${vsys}']/ssl-tls-service-profile`;
  switch (options.kind) {
    case 'firewall': {
      // Certificates are imported into shared (no vsys parameter); a vsys profile may reference them.
      const shared = '/config/shared/ssl-tls-service-profile';
      const profiles = options.vsys ? vsysProfiles('/config', options.vsys) : shared;
      return {
        certificates: '/config/shared/certificate',
        profiles,
        referencingProfiles: [...new Set([shared, profiles])],
        importTarget: {},
        label: options.vsys ? `vsys ${options.vsys}` : 'shared',
        onPanorama: false,
      };
    }
    case 'panorama': {
      const profiles = '/config/panorama/ssl-tls-service-profile';
      return {
        certificates: '/config/panorama/certificate',
        profiles,
        referencingProfiles: [profiles],
        importTarget: {},
        label: 'Panorama',
        onPanorama: true,
      };
    }
    case 'template':
    case 'template-stack': {
      const template = options.template ?? '';
      const base = `${entry(TEMPLATES, template)}/config`;
      const shared = `${base}/shared/ssl-tls-service-profile`;
      const profiles = options.vsys ? vsysProfiles(base, options.vsys) : shared;
      // Into the template's shared certificates only: pan-chainguard notes that target-tpl-vsys does not work (PAN-257229).
      const push =
        options.kind === 'template'
          ? { style: 'template' as const, name: template }
          : { style: 'template-stack' as const, name: options.templateStack ?? '' };
      return {
        certificates: `${base}/shared/certificate`,
        profiles,
        referencingProfiles: [...new Set([shared, profiles])],
        importTarget: { 'target-tpl': template },
        label: `template ${template}${options.vsys ? ` ${options.vsys}` : ''}`,
        onPanorama: true,
        push,
      };
    }
  }
}

export const certificateXpath = (scope: PanosScope, name: string): string => entry(scope.certificates, name);
export const profileXpath = (scope: PanosScope, name: string): string => entry(scope.profiles, name);

/** acme.sh #4309, PR #6630 (docs/vendors/panos.md): no leading `*` or `_`; 63 characters on a firewall, 31 on Panorama. */
export const panosNameRules = (onPanorama: boolean): NameRules => ({
  maxLength: onPanorama ? 31 : 63,
  allowed: /[A-Za-z0-9_-]/,
});

/** pan-chainguard `guard.py` reads model "Panorama"; M-series hardware models start with "M-" (ASSUMPTION P6). */
export const isPanoramaModel = (model: string | undefined): boolean => /^panorama|^m-\d/i.test(model ?? '');

export const escapeText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
