import type { VendorDescriptor } from '../types';

/** Manual download: nothing is pushed; the console offers the bundle and a "mark done" button. */
export const manualDescriptor: VendorDescriptor = {
  id: 'manual',
  label: 'Manual download',
  defaultPort: 443,
  managementTls: false,
  manual: true,
  credentialFields: [],
  optionFields: [],
  bindingFields: [],
  parseCredentials: () => ({ value: {}, errors: {} }),
  parseOptions: () => ({ value: {}, errors: {} }),
  parseBinding: () => ({ value: {}, errors: {} }),
  defaultVerifyEndpoints: () => [],
};
