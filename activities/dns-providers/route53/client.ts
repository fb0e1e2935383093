import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client as Route53Sdk,
  type Change,
} from '@aws-sdk/client-route-53';

/**
 * Thin wrapper over the official SDK: one method per Route 53 API call
 * (https://docs.aws.amazon.com/Route53/latest/APIReference/), no business logic.
 */
export interface Route53Zone {
  /** Without the `/hostedzone/` prefix. */
  id: string;
  /** Lower case, without the trailing dot. */
  name: string;
  privateZone: boolean;
}

export interface Route53TxtSet {
  ttl: number;
  /** The values as Route 53 stores them: each a quoted character string, e.g. `"abc"`. */
  values: string[];
}

export interface Route53ClientOptions {
  accessKeyId: string;
  secretAccessKey: string;
  endpoint?: string;
  /** SDK attempts per call (throttling and 5xx are retried with backoff); default 3. */
  maxAttempts?: number;
}

const withoutDot = (name: string): string => name.replace(/\.$/, '').toLowerCase();
const zoneId = (id: string): string => id.replace(/^\/hostedzone\//, '');

export class Route53Client {
  private readonly sdk: Route53Sdk;

  constructor(options: Route53ClientOptions) {
    this.sdk = new Route53Sdk({
      // Route 53 is a global service signed in us-east-1 (https://docs.aws.amazon.com/general/latest/gr/r53.html).
      region: 'us-east-1',
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      maxAttempts: options.maxAttempts ?? 3,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    });
  }

  /** GET /2013-04-01/hostedzonesbyname?dnsname= : the zones named exactly `name` (public and private). API_ListHostedZonesByName */
  async zonesNamed(name: string): Promise<Route53Zone[]> {
    const out = await this.sdk.send(new ListHostedZonesByNameCommand({ DNSName: `${name}.`, MaxItems: 10 }));
    return (out.HostedZones ?? [])
      .filter((z) => withoutDot(z.Name ?? '') === name)
      .map((z) => ({ id: zoneId(z.Id ?? ''), name, privateZone: z.Config?.PrivateZone === true }));
  }

  /** GET /2013-04-01/hostedzonesbyname?maxitems=1: proves the key is accepted and may list zones. API_ListHostedZonesByName */
  async listFirstZone(): Promise<number> {
    const out = await this.sdk.send(new ListHostedZonesByNameCommand({ MaxItems: 1 }));
    return out.HostedZones?.length ?? 0;
  }

  /** GET /2013-04-01/hostedzone/{Id}. API_GetHostedZone */
  async hostedZone(id: string): Promise<Route53Zone> {
    const out = await this.sdk.send(new GetHostedZoneCommand({ Id: id }));
    return {
      id: zoneId(out.HostedZone?.Id ?? id),
      name: withoutDot(out.HostedZone?.Name ?? ''),
      privateZone: out.HostedZone?.Config?.PrivateZone === true,
    };
  }

  /**
   * GET /2013-04-01/hostedzone/{Id}/rrset?name=&type=TXT&maxitems=1: the list starts at (name, type), so
   * the first set is ours only if its name and type match. API_ListResourceRecordSets
   */
  async txtSet(zone: string, name: string): Promise<Route53TxtSet | undefined> {
    const out = await this.sdk.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zone,
        StartRecordName: `${name}.`,
        StartRecordType: 'TXT',
        MaxItems: 1,
      }),
    );
    const set = out.ResourceRecordSets?.[0];
    if (!set || set.Type !== 'TXT' || withoutDot(set.Name ?? '') !== name || set.SetIdentifier) return undefined;
    return { ttl: set.TTL ?? 0, values: (set.ResourceRecords ?? []).map((r) => r.Value ?? '') };
  }

  /** POST /2013-04-01/hostedzone/{Id}/rrset: one transactional change batch; returns the change id. API_ChangeResourceRecordSets */
  async changeBatch(zone: string, changes: Change[], comment: string): Promise<string> {
    const out = await this.sdk.send(
      new ChangeResourceRecordSetsCommand({ HostedZoneId: zone, ChangeBatch: { Comment: comment, Changes: changes } }),
    );
    return (out.ChangeInfo?.Id ?? '').replace(/^\/change\//, '');
  }

  /** GET /2013-04-01/change/{Id}: PENDING until every Route 53 server has the change, then INSYNC. API_GetChange */
  async changeStatus(id: string): Promise<string> {
    const out = await this.sdk.send(new GetChangeCommand({ Id: id }));
    return out.ChangeInfo?.Status ?? 'PENDING';
  }

  destroy(): void {
    this.sdk.destroy();
  }
}

/** A TXT change for a name and its values (each a quoted string). */
export function txtChange(action: 'CREATE' | 'DELETE' | 'UPSERT', name: string, ttl: number, values: string[]): Change {
  return {
    Action: action,
    ResourceRecordSet: { Name: `${name}.`, Type: 'TXT', TTL: ttl, ResourceRecords: values.map((Value) => ({ Value })) },
  };
}
