/**
 * Which deploys can change what a device's management API presents (VendorDescriptor.bindsManagementGui):
 * only a binding of the management GUI (FortiGate's Admin GUI, PAN-OS's management profile, SonicWall's
 * web management). After any other deploy the target's trust is not followed, so no handshake with the
 * management API is made (activities/deploy.ts followManagementTrust).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { vendorDescriptors } from '../../activities/deployers/descriptors';

const binds = (vendor: string, binding: Record<string, unknown>): boolean =>
  vendorDescriptors[vendor]?.bindsManagementGui?.(binding) === true;

describe('bindsManagementGui', () => {
  it('FortiGate: only with Admin GUI ticked', () => {
    const base = { sslVpn: 'on', authPortal: '', ipsecPhase1: '', vips: '', vipEndpoints: '' };
    assert.equal(binds('fortigate', { ...base, adminGui: 'on' }), true);
    assert.equal(binds('fortigate', { ...base, adminGui: '' }), false);
    // As stored once parsed (booleans and lists).
    const stored = { sslVpn: false, authPortal: false, ipsecPhase1: [], vips: [], vipEndpoints: [] };
    assert.equal(binds('fortigate', { ...stored, adminGui: true }), true);
    assert.equal(binds('fortigate', { ...stored, adminGui: false }), false);
  });

  it('PAN-OS: only with the management profile (adminGui) ticked', () => {
    assert.equal(binds('panos', { profiles: 'ssl-prof', adminGui: 'on' }), true);
    assert.equal(binds('panos', { profiles: 'ssl-prof', adminGui: '' }), false);
  });

  it('SonicWall: only with web management ticked', () => {
    assert.equal(binds('sonicwall', { webManagement: 'on', sslVpn: '' }), true);
    assert.equal(binds('sonicwall', { webManagement: '', sslVpn: 'on' }), false);
    assert.equal(binds('sonicwall', { webManagement: true, sslVpn: false }), true);
  });

  it('F5 BIG-IP, IIS, nginx, Apache and manual targets never bind a management GUI', () => {
    for (const vendor of ['f5-bigip', 'iis', 'nginx', 'apache', 'manual']) {
      assert.ok(vendorDescriptors[vendor], vendor);
      assert.equal(binds(vendor, { profiles: 'clientssl-web', adminGui: 'on', webManagement: 'on' }), false, vendor);
    }
  });
});
