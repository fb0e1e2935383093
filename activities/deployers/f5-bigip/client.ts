/**
 * Thin iControl REST client: one method per call, each naming its source in
 * docs/vendors/f5-bigip.md (and the public source quoted there). No business logic: it sends,
 * decodes, and throws BigipHttpError for any reply ≥ 400 (transport failures arrive already
 * classified from device-http). Error texts never carry the password or a token value.
 */
import type { DeviceHttp, DeviceResponse } from '../device-http';

/** A reply ≥ 400. `call` names the request without secrets (never the token in a token URL). */
export class BigipHttpError extends Error {
  override readonly name = 'BigipHttpError';
  constructor(
    readonly status: number,
    readonly call: string,
    readonly deviceMessage: string,
  ) {
    super(`${call} answered HTTP ${status}: ${deviceMessage}`);
  }
}

export interface BigipLogin {
  token: string;
  timeoutSeconds: number;
}

export interface BigipVersion {
  product: string;
  version: string;
  build: string;
  edition: string;
}

export interface BigipUploadReply {
  remainingByteCount: number;
  totalByteCount: number;
  localFilePath: string;
}

/** ssl-cert / ssl-key object (the fields CertFleet reads). */
export interface BigipFileObject {
  fullPath: string;
  /** ssl-cert only: "SHA256/AA:BB:…". */
  fingerprint?: string;
  checksum?: string;
}

export interface BigipCertKeyChainEntry {
  name: string;
  cert: string;
  key: string;
  chain?: string;
}

export interface BigipClientSslProfile {
  fullPath: string;
  certKeyChain: BigipCertKeyChainEntry[];
}

/** One `partitionAccess` entry of a user: `all-partitions` or a partition name, and a role id (`admin`, `certificate-manager`, …). */
export interface BigipPartitionRole {
  partition: string;
  role: string;
}

/** `GET /mgmt/tm/cm/sync-status`, decoded (docs/vendors/f5-bigip.md, "Config-sync"). */
export interface BigipSyncStatus {
  /** "In Sync", "Changes Pending", "Not All Devices Synced", "Awaiting Initial Sync", "Disconnected", "Standalone", … */
  status: string;
  color: string;
  mode: string;
  summary: string;
  /** The detail lines in index order, e.g. "bigip2.example: connected", "dg-1 (In Sync): All devices in the device group are in sync". */
  details: string[];
}

export interface BigipTransactionState {
  transId: string;
  state: string;
  failureReason?: string;
}

const DOWNLOADS = '/var/config/rest/downloads';

/** `/Common/x.crt` → `~Common~x.crt` (f5-ansible transform_name; docs/vendors/f5-bigip.md). */
export const uriName = (fullPath: string): string => encodeURIComponent(fullPath.replace(/\//g, '~'));

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const none = (v: unknown): string | undefined => {
  const s = str(v);
  return s === undefined || s === '' || s === 'none' ? undefined : s;
};

const nestedEntries = (v: unknown): Record<string, unknown> =>
  isRecord(v) && isRecord(v['nestedStats']) && isRecord(v['nestedStats']['entries']) ? v['nestedStats']['entries'] : {};
const description = (v: unknown): string =>
  isRecord(v) && typeof v['description'] === 'string' ? v['description'] : '';

function messageOf(response: DeviceResponse): string {
  if (isRecord(response.json) && typeof response.json['message'] === 'string') return response.json['message'];
  return (
    response.text
      .replace(/<[^>]*>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 300) || '(no body)'
  );
}

function fileObject(json: unknown): BigipFileObject {
  const o = isRecord(json) ? json : {};
  const fingerprint = str(o['fingerprint']);
  const checksum = str(o['checksum']);
  return {
    fullPath: str(o['fullPath']) ?? '',
    ...(fingerprint ? { fingerprint } : {}),
    ...(checksum ? { checksum } : {}),
  };
}

function profile(json: unknown): BigipClientSslProfile {
  const o = isRecord(json) ? json : {};
  const entries = Array.isArray(o['certKeyChain']) ? o['certKeyChain'] : [];
  const certKeyChain: BigipCertKeyChainEntry[] = entries.filter(isRecord).map((e) => {
    const chain = none(e['chain']);
    return {
      name: str(e['name']) ?? '',
      cert: none(e['cert']) ?? '',
      key: none(e['key']) ?? '',
      ...(chain ? { chain } : {}),
    };
  });
  // Legacy profiles (before cert-key-chain) only have top-level cert/key/chain (docs/vendors/f5-bigip.md).
  if (certKeyChain.length === 0 && none(o['cert'])) {
    const chain = none(o['chain']);
    certKeyChain.push({
      name: 'default',
      cert: none(o['cert']) ?? '',
      key: none(o['key']) ?? '',
      ...(chain ? { chain } : {}),
    });
  }
  return { fullPath: str(o['fullPath']) ?? '', certKeyChain };
}

export class BigipClient {
  private token: string | undefined;

  constructor(private readonly http: DeviceHttp) {}

  /** Subsequent calls send `X-F5-Auth-Token` (docs/vendors/f5-bigip.md). */
  useToken(token: string | undefined): void {
    this.token = token;
  }

  private async call(
    label: string,
    method: string,
    path: string,
    request: Parameters<DeviceHttp['request']>[2] = {},
    transId?: string,
  ): Promise<DeviceResponse> {
    const headers: Record<string, string> = { ...request.headers };
    if (this.token) headers['X-F5-Auth-Token'] = this.token;
    if (transId) headers['X-F5-REST-Coordination-Id'] = transId;
    const response = await this.http.request(method, path, { ...request, headers });
    if (response.status >= 400) throw new BigipHttpError(response.status, label, messageOf(response));
    return response;
  }

  /** POST /mgmt/shared/authn/login {username, password, loginProviderName:"tmos"} → token.token ([f5-ans] icontrol.py; [f5-tok]). */
  async login(username: string, password: string): Promise<BigipLogin> {
    const response = await this.http.request('POST', '/mgmt/shared/authn/login', {
      json: { username, password, loginProviderName: 'tmos' },
    });
    if (response.status >= 400)
      throw new BigipHttpError(response.status, 'POST /mgmt/shared/authn/login', messageOf(response));
    const token = isRecord(response.json) && isRecord(response.json['token']) ? response.json['token'] : {};
    const value = str(token['token']);
    if (!value) throw new BigipHttpError(502, 'POST /mgmt/shared/authn/login', 'the reply holds no token');
    return { token: value, timeoutSeconds: typeof token['timeout'] === 'number' ? token['timeout'] : 1200 };
  }

  /** PATCH /mgmt/shared/authz/tokens/<token> {timeout} (≤ 36000 s) ([f5-tok]). */
  async extendToken(token: string, timeoutSeconds: number): Promise<void> {
    await this.call(
      'PATCH /mgmt/shared/authz/tokens/<token>',
      'PATCH',
      `/mgmt/shared/authz/tokens/${encodeURIComponent(token)}`,
      { json: { timeout: timeoutSeconds } },
    );
  }

  /** DELETE /mgmt/shared/authz/tokens/<token> ([f5-tok]). */
  async deleteToken(token: string): Promise<void> {
    await this.call(
      'DELETE /mgmt/shared/authz/tokens/<token>',
      'DELETE',
      `/mgmt/shared/authz/tokens/${encodeURIComponent(token)}`,
    );
  }

  /** GET /mgmt/tm/sys/version: versionstats, entries.<link>.nestedStats.entries.{Product,Version,Build,Edition}.description. */
  async version(): Promise<BigipVersion> {
    const response = await this.call('GET /mgmt/tm/sys/version', 'GET', '/mgmt/tm/sys/version');
    const entries =
      isRecord(response.json) && isRecord(response.json['entries']) ? Object.values(response.json['entries']) : [];
    const first = entries[0];
    const nested =
      isRecord(first) && isRecord(first['nestedStats']) && isRecord(first['nestedStats']['entries'])
        ? first['nestedStats']['entries']
        : {};
    const read = (key: string): string => {
      const v = nested[key];
      return isRecord(v) ? (str(v['description']) ?? '') : '';
    };
    return {
      product: read('Product') || 'BIG-IP',
      version: read('Version'),
      build: read('Build'),
      edition: read('Edition'),
    };
  }

  /** POST /mgmt/shared/file-transfer/uploads/<file>, octet-stream, Content-Range start-end/total ([f5-ans] upload_file). */
  async uploadChunk(fileName: string, chunk: Buffer, start: number, total: number): Promise<BigipUploadReply> {
    const end = start + chunk.length - 1;
    const response = await this.call(
      `POST /mgmt/shared/file-transfer/uploads/${fileName} (${start}-${end}/${total})`,
      'POST',
      `/mgmt/shared/file-transfer/uploads/${encodeURIComponent(fileName)}`,
      {
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end}/${total}` },
        bytes: chunk,
      },
    );
    const o = isRecord(response.json) ? response.json : {};
    return {
      remainingByteCount: typeof o['remainingByteCount'] === 'number' ? o['remainingByteCount'] : total - end - 1,
      totalByteCount: typeof o['totalByteCount'] === 'number' ? o['totalByteCount'] : total,
      localFilePath: str(o['localFilePath']) ?? `${DOWNLOADS}/${fileName}`,
    };
  }

  /** POST /mgmt/tm/sys/crypto/cert {command:"install", name, "from-local-file"} (dehydrated-bigip issue #11). */
  async installCert(fullPath: string, localFilePath: string): Promise<void> {
    await this.call('POST /mgmt/tm/sys/crypto/cert (install)', 'POST', '/mgmt/tm/sys/crypto/cert', {
      json: { command: 'install', name: fullPath, 'from-local-file': localFilePath },
    });
  }

  /** POST /mgmt/tm/sys/crypto/key {command:"install", name, "from-local-file", securityType:"normal"}. */
  async installKey(fullPath: string, localFilePath: string): Promise<void> {
    await this.call('POST /mgmt/tm/sys/crypto/key (install)', 'POST', '/mgmt/tm/sys/crypto/key', {
      json: { command: 'install', name: fullPath, 'from-local-file': localFilePath, securityType: 'normal' },
    });
  }

  /** POST /mgmt/tm/sys/crypto/pkcs12 {command:"install", name, fromLocalFile, passphrase} → <name>.crt + <name>.key (terraform-provider-bigip). */
  async installPkcs12(fullPathBase: string, localFilePath: string, passphrase: string): Promise<void> {
    await this.call('POST /mgmt/tm/sys/crypto/pkcs12 (install)', 'POST', '/mgmt/tm/sys/crypto/pkcs12', {
      json: { command: 'install', name: fullPathBase, fromLocalFile: localFilePath, passphrase },
    });
  }

  /** GET /mgmt/tm/sys/file/ssl-cert/~P~name; undefined on 404 ([f5-ans] bigip_ssl_key_cert.py exists()). */
  async getCert(fullPath: string): Promise<BigipFileObject | undefined> {
    return this.getFileObject('ssl-cert', fullPath);
  }

  /** GET /mgmt/tm/sys/file/ssl-key/~P~name; undefined on 404. */
  async getKey(fullPath: string): Promise<BigipFileObject | undefined> {
    return this.getFileObject('ssl-key', fullPath);
  }

  /** PATCH /mgmt/tm/sys/file/ssl-key/~P~name {sourcePath:"file://…"} ([f5-ans] bigip_ssl_key_cert.py update_on_device). */
  async updateKeySource(fullPath: string, localFilePath: string, transId?: string): Promise<void> {
    await this.call(
      'PATCH /mgmt/tm/sys/file/ssl-key',
      'PATCH',
      `/mgmt/tm/sys/file/ssl-key/${uriName(fullPath)}`,
      { json: { sourcePath: `file://${localFilePath}` } },
      transId,
    );
  }

  /** DELETE /mgmt/tm/sys/file/ssl-cert/~P~name; false when it was already gone (404). */
  async deleteCert(fullPath: string): Promise<boolean> {
    return this.deleteFileObject('ssl-cert', fullPath);
  }

  /** DELETE /mgmt/tm/sys/file/ssl-key/~P~name; false when it was already gone (404). */
  async deleteKey(fullPath: string): Promise<boolean> {
    return this.deleteFileObject('ssl-key', fullPath);
  }

  /** [f5-ans] bigip_ssl_key_cert.py remove_uploaded_file_from_device: POST /mgmt/tm/util/unix-rm {command:"run", utilCmdArgs:<path>}. */
  async removeUploadedFile(localFilePath: string): Promise<void> {
    await this.call('POST /mgmt/tm/util/unix-rm', 'POST', '/mgmt/tm/util/unix-rm', {
      json: { command: 'run', utilCmdArgs: localFilePath },
    });
  }

  /** GET /mgmt/tm/ltm/profile/client-ssl (all partitions) ([f5-ans] bigip_profile_client_ssl.py). */
  async listClientSslProfiles(): Promise<BigipClientSslProfile[]> {
    const response = await this.call('GET /mgmt/tm/ltm/profile/client-ssl', 'GET', '/mgmt/tm/ltm/profile/client-ssl');
    const items = isRecord(response.json) && Array.isArray(response.json['items']) ? response.json['items'] : [];
    return items.map(profile);
  }

  /** GET /mgmt/tm/ltm/profile/client-ssl/~P~name; undefined on 404. */
  async getClientSslProfile(fullPath: string): Promise<BigipClientSslProfile | undefined> {
    try {
      const response = await this.call(
        `GET /mgmt/tm/ltm/profile/client-ssl/${uriName(fullPath)}`,
        'GET',
        `/mgmt/tm/ltm/profile/client-ssl/${uriName(fullPath)}`,
      );
      return profile(response.json);
    } catch (error) {
      if (error instanceof BigipHttpError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** PATCH /mgmt/tm/ltm/profile/client-ssl/~P~name with certKeyChain (or legacy cert/key/chain); queued when transId is set (docs/vendors/f5-bigip.md). */
  async patchClientSslProfile(
    fullPath: string,
    patch: { certKeyChain: BigipCertKeyChainEntry[] } | { cert?: string; key?: string; chain?: string },
    transId?: string,
  ): Promise<void> {
    await this.call(
      `PATCH /mgmt/tm/ltm/profile/client-ssl/${uriName(fullPath)}`,
      'PATCH',
      `/mgmt/tm/ltm/profile/client-ssl/${uriName(fullPath)}`,
      { json: patch },
      transId,
    );
  }

  /** POST /mgmt/tm/transaction {} → transId ([f5-ans] TransactionContextManager). */
  async createTransaction(): Promise<string> {
    const response = await this.call('POST /mgmt/tm/transaction', 'POST', '/mgmt/tm/transaction', { json: {} });
    const id = isRecord(response.json) ? response.json['transId'] : undefined;
    if (typeof id !== 'number' && typeof id !== 'string')
      throw new BigipHttpError(502, 'POST /mgmt/tm/transaction', 'the reply holds no transId');
    return String(id);
  }

  /** PATCH /mgmt/tm/transaction/<id> {"state":"VALIDATING","validateOnly":false} (commit, without the coordination header). */
  async commitTransaction(transId: string): Promise<BigipTransactionState> {
    const response = await this.call(
      `PATCH /mgmt/tm/transaction/${transId}`,
      'PATCH',
      `/mgmt/tm/transaction/${encodeURIComponent(transId)}`,
      { json: { state: 'VALIDATING', validateOnly: false } },
    );
    const o = isRecord(response.json) ? response.json : {};
    const failureReason = str(o['failureReason']);
    return { transId, state: str(o['state']) ?? '', ...(failureReason ? { failureReason } : {}) };
  }

  /** DELETE /mgmt/tm/transaction/<id>: discards an uncommitted transaction (F5 iControl REST user guide, transactions). */
  async deleteTransaction(transId: string): Promise<void> {
    await this.call(
      `DELETE /mgmt/tm/transaction/${transId}`,
      'DELETE',
      `/mgmt/tm/transaction/${encodeURIComponent(transId)}`,
    );
  }

  /** POST /mgmt/tm/sys/config {"command":"save"} (preferred over util/bash, which appliance mode disables). */
  async saveConfig(): Promise<void> {
    await this.call('POST /mgmt/tm/sys/config (save)', 'POST', '/mgmt/tm/sys/config', { json: { command: 'save' } });
  }

  /** f5-ansible bigip_configsync_action.py execute_on_device: POST /mgmt/tm/cm {command:"run", utilCmdArgs:"config-sync to-group <g>"}. */
  async configSyncToGroup(group: string): Promise<void> {
    await this.call('POST /mgmt/tm/cm (config-sync)', 'POST', '/mgmt/tm/cm', {
      json: { command: 'run', utilCmdArgs: `config-sync to-group ${group}` },
    });
  }

  /** f5-ansible bigip_configsync_action.py _device_group_exists: GET /mgmt/tm/cm/device-group/<g>; false on 404. */
  async deviceGroupExists(group: string): Promise<boolean> {
    try {
      await this.call(`GET /mgmt/tm/cm/device-group/${group}`, 'GET', `/mgmt/tm/cm/device-group/${uriName(group)}`);
      return true;
    } catch (error) {
      if (error instanceof BigipHttpError && error.status === 404) return false;
      throw error;
    }
  }

  /**
   * GET /mgmt/tm/auth/user/<name> → `partitionAccess` [{name, role}] (shape: f5-ansible `library/bigip_user.py`
   * BigIpRest docstring; terraform-provider-bigip auth user unit test); undefined on 404 (no local user of that name).
   */
  async userPartitionAccess(username: string): Promise<BigipPartitionRole[] | undefined> {
    try {
      const response = await this.call(
        `GET /mgmt/tm/auth/user/${username}`,
        'GET',
        `/mgmt/tm/auth/user/${encodeURIComponent(username)}`,
      );
      const entries =
        isRecord(response.json) && Array.isArray(response.json['partitionAccess'])
          ? response.json['partitionAccess']
          : [];
      return entries.filter(isRecord).map((e) => ({ partition: str(e['name']) ?? '', role: str(e['role']) ?? '' }));
    } catch (error) {
      if (error instanceof BigipHttpError && error.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * GET /mgmt/tm/cm/sync-status: `entries.<link>.nestedStats.entries.{status,color,mode,summary}.description` and the
   * `…/details` entries (f5-ansible bigip_configsync_action.py `_get_status_from_resource`, `_get_details_from_resource`;
   * recorded replies in e-XpertSolutions/f5-rest-client `f5/health_check_test.go`, F5Networks/f5-cloud-libs `test/lib/bigIpClusterTests.js`).
   */
  async syncStatus(): Promise<BigipSyncStatus> {
    const response = await this.call('GET /mgmt/tm/cm/sync-status', 'GET', '/mgmt/tm/cm/sync-status');
    const top =
      isRecord(response.json) && isRecord(response.json['entries']) ? Object.values(response.json['entries']) : [];
    const fields = nestedEntries(top[0]);
    const detailsKey = Object.keys(fields).find((k) => /\/details$/.test(k));
    const detailEntries = Object.entries(nestedEntries(detailsKey ? fields[detailsKey] : undefined));
    const index = (k: string): number => Number(/(\d+)$/.exec(k)?.[1] ?? 0);
    const details = detailEntries
      .sort(([a], [b]) => index(a) - index(b))
      .map(([, v]) => description(nestedEntries(v)['details']).trim())
      .filter((d) => d !== '');
    return {
      status: description(fields['status']),
      color: description(fields['color']),
      mode: description(fields['mode']),
      summary: description(fields['summary']).trim(),
      details,
    };
  }

  private async getFileObject(kind: 'ssl-cert' | 'ssl-key', fullPath: string): Promise<BigipFileObject | undefined> {
    try {
      const response = await this.call(
        `GET /mgmt/tm/sys/file/${kind}/${uriName(fullPath)}`,
        'GET',
        `/mgmt/tm/sys/file/${kind}/${uriName(fullPath)}`,
      );
      return fileObject(response.json);
    } catch (error) {
      if (error instanceof BigipHttpError && error.status === 404) return undefined;
      throw error;
    }
  }

  private async deleteFileObject(kind: 'ssl-cert' | 'ssl-key', fullPath: string): Promise<boolean> {
    try {
      await this.call(
        `DELETE /mgmt/tm/sys/file/${kind}/${uriName(fullPath)}`,
        'DELETE',
        `/mgmt/tm/sys/file/${kind}/${uriName(fullPath)}`,
      );
      return true;
    } catch (error) {
      if (error instanceof BigipHttpError && error.status === 404) return false;
      throw error;
    }
  }
}
