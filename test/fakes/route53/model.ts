/**
 * The fake Route 53's zones and record sets, and the change-batch rules of API_ChangeResourceRecordSets
 * (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html):
 * a batch is validated change by change against a working copy and applied all or nothing; DELETE
 * must give the set's exact TTL and values; CREATE of an existing set and DELETE of a missing one
 * fail. The error texts are those Route 53 answers, as quoted in field reports (hashicorp/terraform#342:
 * "Tried to delete resource record set [name='…', type='A'] but it was not found";
 * kubernetes-sigs/external-dns#732: "… but the values provided do not match the current values").
 */
export interface RecordSet {
  name: string; // lower case, with the trailing dot
  type: string;
  ttl: number;
  values: string[];
}

export interface Zone {
  id: string;
  name: string; // lower case, with the trailing dot
  privateZone: boolean;
  sets: Map<string, RecordSet>;
}

export interface ChangeInput {
  action: string;
  set: RecordSet;
}

const key = (name: string, type: string): string => `${name}|${type}`;

/** Route 53 sorts names with their labels reversed (com.example.www), then by type (API_ListResourceRecordSets). */
export const sortKey = (name: string): string => name.replace(/\.$/, '').split('.').reverse().join('.');
export const compareSets = (a: { name: string; type: string }, b: { name: string; type: string }): number =>
  sortKey(a.name) < sortKey(b.name)
    ? -1
    : sortKey(a.name) > sortKey(b.name)
      ? 1
      : a.type < b.type
        ? -1
        : a.type > b.type
          ? 1
          : 0;

/** Route 53 returns `*` as `\052` and names in lower case with a trailing dot (Developer Guide, "DNS domain name format"). */
export const canonicalName = (name: string): string => {
  const lower = name.toLowerCase().replace(/\\052/g, '*');
  return lower.endsWith('.') ? lower : `${lower}.`;
};

const sameValues = (a: string[], b: string[]): boolean =>
  a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);

/** Returns the problems (empty: applied). */
export function applyBatch(zone: Zone, changes: ChangeInput[]): string[] {
  const work = new Map(zone.sets);
  const problems: string[] = [];
  for (const { action, set } of changes) {
    const label = `[name='${set.name}', type='${set.type}']`;
    const existing = work.get(key(set.name, set.type));
    if (set.name !== zone.name && !set.name.endsWith(`.${zone.name}`)) {
      problems.push(`RRSet with DNS name ${set.name} is not permitted in zone ${zone.name}`);
      continue;
    }
    // ASSUMPTION (wording): TXT character strings must be quoted; Route 53 refuses a bare value.
    const bare = set.type === 'TXT' ? set.values.find((v) => !/^".*"$/.test(v)) : undefined;
    if (bare !== undefined && action !== 'DELETE') {
      problems.push(
        `Invalid Resource Record: 'FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks) encountered with '${bare}''`,
      );
      continue;
    }
    if (action === 'CREATE') {
      if (existing) problems.push(`Tried to create resource record set ${label} but it already exists`);
      else work.set(key(set.name, set.type), set);
    } else if (action === 'DELETE') {
      if (!existing) problems.push(`Tried to delete resource record set ${label} but it was not found`);
      else if (existing.ttl !== set.ttl || !sameValues(existing.values, set.values))
        problems.push(
          `Tried to delete resource record set ${label} but the values provided do not match the current values`,
        );
      else work.delete(key(set.name, set.type));
    } else if (action === 'UPSERT') {
      work.set(key(set.name, set.type), set);
    } else {
      problems.push(`Unknown action ${action}`);
    }
  }
  if (problems.length === 0) zone.sets = work;
  return problems;
}

export function seedZone(id: string, name: string, privateZone: boolean): Zone {
  const apex = canonicalName(name);
  const sets = new Map<string, RecordSet>();
  // Every hosted zone is created with its NS and SOA sets (Developer Guide, "NS and SOA records that Amazon Route 53 creates").
  sets.set(key(apex, 'NS'), {
    name: apex,
    type: 'NS',
    ttl: 172800,
    values: ['ns-1.awsdns-00.com.', 'ns-2.awsdns-00.net.'],
  });
  sets.set(key(apex, 'SOA'), {
    name: apex,
    type: 'SOA',
    ttl: 900,
    values: ['ns-1.awsdns-00.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400'],
  });
  return { id, name: apex, privateZone, sets };
}
