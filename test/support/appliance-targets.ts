import type { FakeFortiGate } from '../fakes/fortigate/server';
import type { TargetForm } from './console-actions';

/** A fake appliance that signs in with a username and a password (the BIG-IP and PAN-OS fakes). */
export interface PasswordAppliance {
  host: string;
  port: number;
  managementFingerprint: string;
  username: string;
  password: string;
}

/**
 * The console's target form for a fake appliance, trusted by its pinned management fingerprint and
 * signed in as its user; `password` replaces the device's own (a wrong one, or one set at start).
 */
export function applianceTarget(
  vendor: 'f5-bigip' | 'panos',
  name: string,
  device: PasswordAppliance,
  password = device.password,
): TargetForm {
  return {
    vendor,
    name,
    host: device.host,
    port: device.port,
    fingerprint: device.managementFingerprint,
    credentials: { username: device.username, password },
  };
}

/**
 * The console's target form for the fake FortiGate signed in with an API token, trusted by its pinned
 * management fingerprint, with its SSL-VPN port (or 0 where the fake serves none).
 */
export function fortigateTarget(name: string, fortigate: FakeFortiGate, token: string): TargetForm {
  return {
    vendor: 'fortigate',
    name,
    host: fortigate.host,
    port: fortigate.port,
    fingerprint: fortigate.managementFingerprint(),
    credentials: { token },
    options: { sslVpnPort: String(fortigate.endpoints.sslVpn?.port ?? 0) },
  };
}

/**
 * The raw target form fields (as posted to /targets) for the fake FortiGate in VDOM "root", signed in
 * with `token` and trusted by its current management fingerprint.
 */
export function fortigateFormFields(name: string, fortigate: FakeFortiGate, token: string): Record<string, string> {
  return {
    vendor: 'fortigate',
    name,
    host: fortigate.host,
    port: String(fortigate.port),
    trustMode: 'fingerprint',
    trustFingerprint: fortigate.managementFingerprint(),
    cred_token: token,
    opt_vdom: 'root',
  };
}

/**
 * A SonicWall target's options as its descriptor stores them for an FTP drop given by host and user only:
 * Basic sign-in, FTP port 21, no directory, the FTP host as the URL host, SSL-VPN on 4433.
 */
export const SONICWALL_FTP_OPTIONS = {
  authMethod: 'basic',
  ftpHost: 'ftp.example.test',
  ftpPort: 21,
  ftpUser: 'certfleet',
  ftpDirectory: '',
  ftpUrlHost: 'ftp.example.test',
  sslVpnPort: 4433,
} as const;
