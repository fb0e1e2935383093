/** The database-name options `npm run backup` and `npm run restore` take, for databases under test names. */
export const databaseNameArgs = (names: readonly string[]): string[] => [
  '--certfleet-db',
  names[0] ?? '',
  '--temporal-db',
  names[1] ?? '',
  '--visibility-db',
  names[2] ?? '',
];
