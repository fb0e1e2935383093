/** The tenant, subscription and service principals the Azure DNS tests give the fake (made up; GUID-shaped as Azure's). */
export const AZURE_TEST = {
  tenantId: '11111111-2222-3333-4444-555555555555',
  subscriptionId: '99999999-8888-7777-6666-555555555555',
  clientId: 'aaaaaaaa-0000-0000-0000-000000000001',
  clientSecret: 'az~SECRET~value-0123456789abcdefghij',
  readerClientId: 'aaaaaaaa-0000-0000-0000-000000000002',
  readerSecret: 'az~READER~SECRET-abcdefghij0123456789',
  resourceGroup: 'dns-rg',
};
