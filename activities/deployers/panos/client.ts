/**
 * PAN-OS XML API client: one method per API call, each naming its source (tags of
 * docs/vendors/panos.md: [panos-doc] = docs.paloaltonetworks.com PAN-OS XML API pages,
 * [acme.sh] = deploy/panos.sh, [puppet-panos] = recorded replies, [pan-os-python] = PaloAltoNetworks/pan-os-python).
 * Requests are POST (form-encoded; imports: parameters in the query string and only the file in a
 * multipart body, as pan-python `import_file` and pan-os-ansible `panos_import` send them) with the
 * key in the X-PAN-KEY header, so neither the key nor the password ends up in a URL. Replies are parsed with xml2js into a small tree. No business logic:
 * index.ts decides what a reply means.
 */
import { parseStringPromise } from 'xml2js';
import { FormData, type DeviceHttp } from '../device-http';

export interface PanNode {
  name: string;
  attrs: Record<string, string>;
  text: string;
  children: PanNode[];
}

export interface PanReply {
  httpStatus: number;
  /** The `status` attribute ('success', 'error', …); '' when the body was no PAN-OS reply. */
  status: string;
  code?: string;
  /** Texts of every `msg` (its `line`s when it has them), trimmed. */
  messages: string[];
  /** The `<result>` element. */
  result?: PanNode;
  /** Start of a body that was not a PAN-OS reply (an HTML error page, a proxy). */
  raw?: string;
}

/** One firewall's part of a Panorama push (commit-all) job ([pan-os-python] `_parse_job_results`). */
export interface PanJobDevice {
  serial: string;
  name: string;
  /** PEND, OK or FAIL. */
  result: string;
  messages: string[];
}

export interface PanJob {
  id: string;
  /** Commit, CommitAll, … */
  type: string;
  description: string;
  /** ACT, PEND or FIN. */
  status: string;
  /** PEND, OK or FAIL. */
  result: string;
  progress?: number;
  details: string[];
  warnings: string[];
  /** Per-firewall results of a commit-all job; empty for a commit. */
  devices: PanJobDevice[];
}

/** One config or commit lock (`show config-locks` / `show commit-locks`; docs/vendors/panos.md "Locks"). */
export interface PanLock {
  admin: string;
  created: string;
  comment: string;
}

export interface PanImport {
  category: 'certificate' | 'private-key' | 'keypair';
  certificateName: string;
  format: 'pem' | 'pkcs12';
  passphrase?: string;
  /** Where the file goes, e.g. `target-tpl` for a Panorama template. */
  target?: Record<string, string>;
  fileName: string;
  content: string | Buffer;
}

const deepText = (n: PanNode): string => [n.text.trim(), ...n.children.map(deepText)].filter(Boolean).join(' ');
const linesOf = (n: PanNode | undefined): string[] =>
  n
    ? n.children
        .filter((c) => c.name === 'line')
        .map(deepText)
        .filter(Boolean)
    : [];
/** Every `entry` element below a node (the lock lists' wrapper elements are not relied on). */
const entriesBelow = (n: PanNode | undefined): PanNode[] =>
  n ? n.children.flatMap((c) => (c.name === 'entry' ? [c] : entriesBelow(c))) : [];

function jobOf(job: PanNode): PanJob {
  const progress = Number(textAt(job, 'progress'));
  const devices = childrenOf(childOf(job, 'devices'), 'entry').map((d): PanJobDevice => {
    const details = childOf(d, 'details');
    const msg = childOf(details, 'msg');
    const messages = [...linesOf(childOf(msg, 'errors')), ...linesOf(childOf(msg, 'warnings')), ...linesOf(details)];
    return {
      serial: textAt(d, 'serial-no') || (d.attrs['name'] ?? ''),
      name: textAt(d, 'devicename'),
      result: textAt(d, 'result'),
      messages,
    };
  });
  return {
    id: textAt(job, 'id'),
    type: textAt(job, 'type'),
    description: textAt(job, 'description'),
    status: textAt(job, 'status'),
    result: textAt(job, 'result'),
    ...(textAt(job, 'progress') !== '' && Number.isFinite(progress) ? { progress } : {}),
    details: linesOf(childOf(job, 'details')),
    warnings: linesOf(childOf(job, 'warnings')),
    devices,
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function toNode(name: string, raw: unknown): PanNode {
  if (!isObject(raw)) return { name, attrs: {}, text: typeof raw === 'string' ? raw : '', children: [] };
  const attrs: Record<string, string> = {};
  if (isObject(raw['$'])) for (const [k, v] of Object.entries(raw['$'])) attrs[k] = String(v);
  const kids = Array.isArray(raw['$$']) ? raw['$$'] : [];
  return {
    name,
    attrs,
    text: typeof raw['_'] === 'string' ? raw['_'] : '',
    children: kids.map((kid) => toNode(isObject(kid) && typeof kid['#name'] === 'string' ? kid['#name'] : '', kid)),
  };
}

export const childOf = (n: PanNode | undefined, name: string): PanNode | undefined =>
  n?.children.find((c) => c.name === name);
export const childrenOf = (n: PanNode | undefined, name: string): PanNode[] =>
  n?.children.filter((c) => c.name === name) ?? [];
/** Trimmed text at a path of child names (`textAt(job, 'status')`). */
export const textAt = (n: PanNode | undefined, ...path: string[]): string => {
  let current = n;
  for (const name of path) current = childOf(current, name);
  return current?.text.trim() ?? '';
};

function messagesOf(n: PanNode): string[] {
  if (n.name === 'msg') {
    const lines: string[] = [];
    const walk = (m: PanNode): void => {
      if (m.text.trim()) lines.push(m.text.trim());
      m.children.forEach(walk);
    };
    walk(n);
    return lines;
  }
  return n.children.flatMap(messagesOf);
}

/** Parses a reply body (also the odd `status = 'error'` form of keygen's 403 reply, which is valid XML). */
export async function parseReply(httpStatus: number, body: string): Promise<PanReply> {
  let root: PanNode | undefined;
  try {
    const parsed: unknown = await parseStringPromise(body, {
      explicitChildren: true,
      preserveChildrenOrder: true,
      explicitCharkey: true,
    });
    const [name, raw] = isObject(parsed) ? (Object.entries(parsed)[0] ?? []) : [];
    if (name !== undefined) root = toNode(name, raw);
  } catch {
    root = undefined;
  }
  if (!root || root.name !== 'response')
    return { httpStatus, status: '', messages: [], raw: body.replace(/\s+/g, ' ').trim().slice(0, 200) };
  const result = childOf(root, 'result');
  return {
    httpStatus,
    status: root.attrs['status'] ?? '',
    ...(root.attrs['code'] ? { code: root.attrs['code'] } : {}),
    messages: messagesOf(root),
    ...(result ? { result } : {}),
  };
}

export class PanosClient {
  constructor(private readonly http: DeviceHttp) {}

  private async send(
    key: string | undefined,
    body: { form?: Record<string, string>; multipart?: FormData; query?: Record<string, string> },
  ): Promise<PanReply> {
    const headers: Record<string, string> = { accept: 'application/xml' };
    if (key) headers['X-PAN-KEY'] = key;
    const response = await this.http.request('POST', '/api/', { headers, ...body, timeoutMs: 60_000 });
    return parseReply(response.status, response.text);
  }

  /** [panos-doc] "Get Your API Key" (docs/vendors/panos.md): type=keygen with user and password in a form body. */
  async keygen(user: string, password: string): Promise<{ reply: PanReply; key?: string }> {
    const reply = await this.send(undefined, { form: { type: 'keygen', user, password } });
    const key = textAt(reply.result, 'key');
    return { reply, ...(key ? { key } : {}) };
  }

  /** type=version ([acme.sh] deploy/panos.sh `keytest` validates a cached key this way). */
  async version(key: string): Promise<{ reply: PanReply; swVersion?: string; model?: string; multiVsys?: string }> {
    const reply = await this.send(key, { form: { type: 'version' } });
    const swVersion = textAt(reply.result, 'sw-version');
    const model = textAt(reply.result, 'model');
    const multiVsys = textAt(reply.result, 'multi-vsys');
    return {
      reply,
      ...(swVersion ? { swVersion } : {}),
      ...(model ? { model } : {}),
      ...(multiVsys ? { multiVsys } : {}),
    };
  }

  /**
   * [panos-doc] "Import Files"; pan-python `import_file` and pan-os-ansible `panos_import` (docs/vendors/panos.md):
   * `type=import` and every parameter in the query string (PAN-OS before 9.0 requires `type` there,
   * acme.sh PR #2799), only the file in the multipart body. The passphrase is in the query too: the
   * wire transcript removes it (a secret parameter name) and it is no more than acme.sh's dummy value.
   */
  async importFile(key: string, file: PanImport): Promise<PanReply> {
    const query: Record<string, string> = {
      type: 'import',
      category: file.category,
      'certificate-name': file.certificateName,
      format: file.format,
      ...(file.target ?? {}),
    };
    if (file.passphrase !== undefined) query['passphrase'] = file.passphrase;
    const form = new FormData();
    form.append(
      'file',
      new Blob([typeof file.content === 'string' ? file.content : new Uint8Array(file.content)]),
      file.fileName,
    );
    return this.send(key, { query, multipart: form });
  }

  /** type=config&action=get: the CANDIDATE configuration at an xpath (PowerPAN Invoke-PanXApi help). */
  getConfig(key: string, xpath: string): Promise<PanReply> {
    return this.send(key, { form: { type: 'config', action: 'get', xpath } });
  }

  /** type=config&action=show: the RUNNING (active) configuration at an xpath (PowerPAN Invoke-PanXApi help). */
  showConfig(key: string, xpath: string): Promise<PanReply> {
    return this.send(key, { form: { type: 'config', action: 'show', xpath } });
  }

  /** type=config&action=set ([panos-le] via panxapi.py -S): merges `element` into the node at xpath. */
  setConfig(key: string, xpath: string, element: string): Promise<PanReply> {
    return this.send(key, { form: { type: 'config', action: 'set', xpath, element } });
  }

  /** type=config&action=delete ([panos-doc] Configuration API; pan.xapi `delete`). */
  deleteConfig(key: string, xpath: string): Promise<PanReply> {
    return this.send(key, { form: { type: 'config', action: 'delete', xpath } });
  }

  /** [panos-doc] "Commit" (docs/vendors/panos.md): partial commit of one admin's changes; job id, or none when nothing changed. */
  async commitPartial(key: string, admin: string): Promise<{ reply: PanReply; cmd: string; jobId?: string }> {
    const escaped = admin.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const cmd = `<commit><partial><admin><member>${escaped}</member></admin></partial></commit>`;
    const reply = await this.send(key, { form: { type: 'commit', action: 'partial', cmd } });
    const jobId = textAt(reply.result, 'job');
    return { reply, cmd, ...(jobId ? { jobId } : {}) };
  }

  /**
   * Panorama push: `type=commit&action=all` with `<commit-all><template|template-stack><name>…` and the
   * admin scope (PAN-OS 10.2+) ([pan-os-python] `PanoramaCommitAll`; [acme.sh] `deployer push`). The
   * description lets a retry find the job it enqueued (docs/vendors/panos.md "Panorama").
   */
  async commitAll(
    key: string,
    style: 'template' | 'template-stack',
    name: string,
    admin: string,
    description: string,
  ): Promise<{ reply: PanReply; jobId?: string }> {
    const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const cmd = `<commit-all><${style}><name>${esc(name)}</name><description>${esc(description)}</description><admin><member>${esc(admin)}</member></admin></${style}></commit-all>`;
    const reply = await this.send(key, { form: { type: 'commit', action: 'all', cmd } });
    const jobId = textAt(reply.result, 'job');
    return { reply, ...(jobId ? { jobId } : {}) };
  }

  /** [panos-doc] "Asynchronous requests", [puppet-panos], [pan-os-python] (docs/vendors/panos.md): type=op show jobs id N. */
  async showJob(key: string, jobId: string): Promise<{ reply: PanReply; job?: PanJob }> {
    const reply = await this.send(key, { form: { type: 'op', cmd: `<show><jobs><id>${jobId}</id></jobs></show>` } });
    const job = childOf(reply.result, 'job');
    return { reply, ...(job ? { job: jobOf(job) } : {}) };
  }

  /** `show jobs all` (pan-python `xapi.py` reads its `result/job` lines): every job the device remembers. */
  async showJobs(key: string): Promise<{ reply: PanReply; jobs: PanJob[] }> {
    const reply = await this.send(key, { form: { type: 'op', cmd: '<show><jobs><all></all></jobs></show>' } });
    return { reply, jobs: childrenOf(reply.result, 'job').map(jobOf) };
  }

  /** `<show><config-locks/></show>` or `<show><commit-locks/></show>` ([pan-os-python] `check_config_locks`, `check_commit_locks`). */
  async showLocks(key: string, which: 'config' | 'commit'): Promise<{ reply: PanReply; locks: PanLock[] }> {
    const reply = await this.send(key, { form: { type: 'op', cmd: `<show><${which}-locks></${which}-locks></show>` } });
    const locks = entriesBelow(reply.result).map((e): PanLock => ({
      admin: e.attrs['name'] ?? '',
      created: textAt(e, 'created'),
      comment: textAt(e, 'comment'),
    }));
    return { reply, locks };
  }
}
