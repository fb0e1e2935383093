/**
 * PAN-OS XML API client: one method per API call, each naming its source (tags of
 * docs/vendors/panos.md: [panos-doc] = docs.paloaltonetworks.com PAN-OS XML API pages,
 * [acme.sh] = deploy/panos.sh, [puppet-panos] = recorded replies). Requests are POST
 * (form-encoded, multipart for imports) with the key in the X-PAN-KEY header, so neither the key nor
 * the password ends up in a URL. Replies are parsed with xml2js into a small tree. No business logic:
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

export interface PanJob {
  id: string;
  /** ACT, PEND or FIN. */
  status: string;
  /** PEND, OK or FAIL. */
  result: string;
  progress?: number;
  details: string[];
  warnings: string[];
}

export interface PanImport {
  category: 'certificate' | 'private-key' | 'keypair';
  certificateName: string;
  format: 'pem' | 'pkcs12';
  passphrase?: string;
  fileName: string;
  content: string | Buffer;
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

export const childOf = (n: PanNode | undefined, name: string): PanNode | undefined => n?.children.find((c) => c.name === name);
export const childrenOf = (n: PanNode | undefined, name: string): PanNode[] => n?.children.filter((c) => c.name === name) ?? [];
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
    const parsed: unknown = await parseStringPromise(body, { explicitChildren: true, preserveChildrenOrder: true, explicitCharkey: true });
    const [name, raw] = isObject(parsed) ? (Object.entries(parsed)[0] ?? []) : [];
    if (name !== undefined) root = toNode(name, raw);
  } catch {
    root = undefined;
  }
  if (!root || root.name !== 'response') return { httpStatus, status: '', messages: [], raw: body.replace(/\s+/g, ' ').trim().slice(0, 200) };
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

  private async send(key: string | undefined, body: { form?: Record<string, string>; multipart?: FormData }): Promise<PanReply> {
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
    return { reply, ...(swVersion ? { swVersion } : {}), ...(model ? { model } : {}), ...(multiVsys ? { multiVsys } : {}) };
  }

  /** [panos-doc] "Import Files", [acme.sh] `deployer cert|key` (docs/vendors/panos.md): multipart POST type=import. */
  async importFile(key: string, file: PanImport): Promise<PanReply> {
    const form = new FormData();
    form.append('type', 'import');
    form.append('category', file.category);
    form.append('certificate-name', file.certificateName);
    form.append('format', file.format);
    if (file.passphrase !== undefined) form.append('passphrase', file.passphrase);
    form.append('file', new Blob([typeof file.content === 'string' ? file.content : new Uint8Array(file.content)]), file.fileName);
    return this.send(key, { multipart: form });
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

  /** [panos-doc] "Asynchronous requests", [puppet-panos] (docs/vendors/panos.md): type=op show jobs id N. */
  async showJob(key: string, jobId: string): Promise<{ reply: PanReply; job?: PanJob }> {
    const reply = await this.send(key, { form: { type: 'op', cmd: `<show><jobs><id>${jobId}</id></jobs></show>` } });
    const job = childOf(reply.result, 'job');
    if (!job) return { reply };
    const progress = Number(textAt(job, 'progress'));
    const deepText = (n: PanNode): string => [n.text.trim(), ...n.children.map(deepText)].filter(Boolean).join(' ');
    const lines = (name: string): string[] => childrenOf(childOf(job, name), 'line').map(deepText).filter(Boolean);
    return {
      reply,
      job: {
        id: textAt(job, 'id'),
        status: textAt(job, 'status'),
        result: textAt(job, 'result'),
        ...(textAt(job, 'progress') !== '' && Number.isFinite(progress) ? { progress } : {}),
        details: lines('details'),
        warnings: lines('warnings'),
      },
    };
  }
}
