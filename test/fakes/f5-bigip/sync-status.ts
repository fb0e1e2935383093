/**
 * The fake BIG-IP's HA device-group sync state and its `GET /mgmt/tm/cm/sync-status` reply.
 *
 * Sources: the reply's shape (`kind: tm:cm:sync-status:sync-statusstats`, one entry whose
 * `nestedStats.entries` hold `color`, `mode`, `status`, `summary` and a `…/details` entry of numbered
 * `details` lines such as "<device>: connected" and "<group> (In Sync): All devices in the device group
 * are in sync") is the recorded BIG-IP 14.1.4.6 reply in e-XpertSolutions/f5-rest-client
 * `f5/health_check_test.go`; "<device>: disconnected" lines, color "red" for a group that is not in sync
 * and "Recommended action: …" detail lines: F5Networks/f5-cloud-libs `test/lib/bigIpClusterTests.js`;
 * the statuses and their meaning ("Changes Pending", "Not All Devices Synced" right after a sync starts
 * until every device finishes, "Disconnected"): f5-ansible `bigip_configsync_action.py` `_wait_for_sync`.
 *
 * ASSUMPTIONS (docs/vendors/f5-bigip.md B7): every configuration change leaves the group "Changes
 * Pending" (the fake's device group has autoSync disabled); a config-sync shows "Not All Devices Synced"
 * for `pollsToSync` reads, then "In Sync"; colors other than green/red, the summaries of "Changes
 * Pending", "Not All Devices Synced" and "Disconnected", and the wording after "Recommended action:".
 */

/** syncs: a config-sync completes; changes-pending: the group stays "Changes Pending"; disconnected: the peer is unreachable. */
export type SyncBehaviour = 'syncs' | 'changes-pending' | 'disconnected';

type Status = 'In Sync' | 'Changes Pending' | 'Not All Devices Synced' | 'Disconnected';

const SELF = 'bigip1.certfleet.test';
const PEER = 'bigip2.certfleet.test';

export class FakeSyncState {
  private status: Status = 'In Sync';
  private readsUntilSynced = 0;
  private behaviour: SyncBehaviour = 'syncs';

  constructor(
    private readonly groups: () => string[],
    private readonly pollsToSync: number,
  ) {}

  setBehaviour(behaviour: SyncBehaviour): void {
    this.behaviour = behaviour;
    if (behaviour === 'syncs' && this.status === 'Disconnected') this.status = 'Changes Pending';
  }

  /** A configuration change on this device. */
  changed(): void {
    if (this.groups().length > 0 && this.status !== 'Disconnected') this.status = 'Changes Pending';
  }

  /** `config-sync to-group` was run. */
  syncStarted(): void {
    if (this.behaviour !== 'syncs') return;
    this.status = this.pollsToSync > 0 ? 'Not All Devices Synced' : 'In Sync';
    this.readsUntilSynced = this.pollsToSync;
  }

  current(): Status {
    if (this.behaviour === 'disconnected') return 'Disconnected';
    if (this.behaviour === 'changes-pending' && this.status !== 'In Sync') return 'Changes Pending';
    return this.status;
  }

  /** One read of the sync status (a read advances a sync in progress). */
  read(version: string): Record<string, unknown> {
    const status = this.current();
    if (this.status === 'Not All Devices Synced' && this.behaviour === 'syncs') {
      this.readsUntilSynced -= 1;
      if (this.readsUntilSynced <= 0) this.status = 'In Sync';
    }
    const color = status === 'In Sync' ? 'green' : status === 'Disconnected' ? 'red' : 'yellow';
    const groups = this.groups();
    const summary: Record<Status, string> = {
      'In Sync': 'All devices in the device group are in sync',
      'Changes Pending': `There is a possible change conflict between ${SELF} and ${PEER}.`,
      'Not All Devices Synced': `${PEER} did not receive last sync successfully.`,
      Disconnected: 'The local device is disconnected from all other devices in the group.',
    };
    const lines = [
      `${SELF}: connected`,
      `${PEER}: ${status === 'Disconnected' ? 'disconnected' : 'connected'}`,
      ...groups.map((g) => `${g} (${status}): ${summary[status]}`),
      ...(status === 'Changes Pending'
        ? groups.map((g) => `Recommended action: Synchronize ${SELF} to group ${g}`)
        : []),
    ];
    const details = Object.fromEntries(
      lines.map((line, i) => [
        `https://localhost/mgmt/tm/cm/syncStatus/0/details/${i}`,
        { nestedStats: { entries: { details: { description: line } } } },
      ]),
    );
    return {
      kind: 'tm:cm:sync-status:sync-statusstats',
      selfLink: `https://localhost/mgmt/tm/cm/sync-status?ver=${version}`,
      entries: {
        'https://localhost/mgmt/tm/cm/sync-status/0': {
          nestedStats: {
            entries: {
              color: { description: color },
              'https://localhost/mgmt/tm/cm/syncStatus/0/details': { nestedStats: { entries: details } },
              mode: { description: 'high-availability' },
              status: { description: status },
              summary: { description: summary[status] },
            },
          },
        },
      },
    };
  }
}
