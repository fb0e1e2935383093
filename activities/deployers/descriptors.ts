import { bigipDescriptor } from './f5-bigip/descriptor';
import { fortigateDescriptor } from './fortigate/descriptor';
import { manualDescriptor } from './manual/descriptor';
import { panosDescriptor } from './panos/descriptor';
import { sonicwallDescriptor } from './sonicwall/descriptor';
import type { VendorDescriptor } from './types';

/** Web-safe: vendor descriptors only, no device code. */
export const vendorDescriptors: Record<string, VendorDescriptor> = {
  fortigate: fortigateDescriptor,
  'f5-bigip': bigipDescriptor,
  panos: panosDescriptor,
  sonicwall: sonicwallDescriptor,
  manual: manualDescriptor,
};
