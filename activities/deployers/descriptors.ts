import { apacheDescriptor } from './apache/descriptor';
import { bigipDescriptor } from './f5-bigip/descriptor';
import { fortigateDescriptor } from './fortigate/descriptor';
import { iisDescriptor } from './iis/descriptor';
import { manualDescriptor } from './manual/descriptor';
import { nginxDescriptor } from './nginx/descriptor';
import { panosDescriptor } from './panos/descriptor';
import { sonicwallDescriptor } from './sonicwall/descriptor';
import type { VendorDescriptor } from './types';

/** Web-safe: vendor descriptors only, no device code. */
export const vendorDescriptors: Record<string, VendorDescriptor> = {
  fortigate: fortigateDescriptor,
  'f5-bigip': bigipDescriptor,
  panos: panosDescriptor,
  sonicwall: sonicwallDescriptor,
  iis: iisDescriptor,
  nginx: nginxDescriptor,
  apache: apacheDescriptor,
  manual: manualDescriptor,
};
