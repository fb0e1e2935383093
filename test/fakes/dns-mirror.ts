/**
 * Mirrors the TXT values a cloud DNS fake holds to pebble-challtestsrv's management API, so a real
 * resolver (and Pebble) sees what our code wrote through the provider's API. challtestsrv appends
 * values per host and can only clear them all (`POST /set-txt`, `POST /clear-txt`): clear, then add
 * every value the name has now.
 *
 * Source: pebble-challtestsrv's management API as documented in letsencrypt/pebble
 * cmd/pebble-challtestsrv/README.md (v2.10.3): `POST /set-txt {"host", "value"}` adds a value,
 * `POST /clear-txt {"host"}` removes all of a host's values; hosts are fully qualified with a trailing dot.
 */
export type TxtMirror = (fqdnLowerCase: string, values: readonly string[]) => Promise<void>;

export function challtestsrvMirror(managementUrl: string | undefined): TxtMirror {
  const base = managementUrl?.replace(/\/+$/, '');
  return async (name, values) => {
    if (!base) return;
    const host = name.endsWith('.') ? name : `${name}.`;
    const post = async (endpoint: 'set-txt' | 'clear-txt', body: Record<string, string>): Promise<void> => {
      const res = await fetch(`${base}/${endpoint}`, { method: 'POST', body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`pebble-challtestsrv ${endpoint} answered ${res.status}`);
    };
    await post('clear-txt', { host });
    for (const value of values) await post('set-txt', { host, value });
  };
}
