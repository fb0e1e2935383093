/**
 * A tiny XML tree for the fake PAN-OS configuration: parse fragments (xml2js), serialise, and walk
 * the xpath subset the XML API uses for configuration (`/config/shared/certificate/entry[@name='x']`).
 * Kept apart from the deployer's own parsing so the fake does not share the code under test.
 */
import { parseStringPromise } from 'xml2js';

export interface XNode {
  name: string;
  attrs: Record<string, string>;
  children: XNode[];
  text: string;
}

export const node = (name: string, attrs: Record<string, string> = {}, children: XNode[] = [], text = ''): XNode => ({
  name,
  attrs,
  children,
  text,
});
export const leaf = (name: string, text: string): XNode => node(name, {}, [], text);
export const entry = (name: string, children: XNode[] = []): XNode => node('entry', { name }, children);

/** Escapes character data (quotes stay as they are, as PAN-OS prints them). */
export const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttr = (s: string): string => escapeXml(s).replace(/"/g, '&quot;');

export function serialize(n: XNode): string {
  const attrs = Object.entries(n.attrs)
    .map(([k, v]) => ` ${k}="${escapeAttr(v)}"`)
    .join('');
  if (n.children.length > 0) return `<${n.name}${attrs}>${n.children.map(serialize).join('')}</${n.name}>`;
  if (n.text !== '') return `<${n.name}${attrs}>${escapeXml(n.text)}</${n.name}>`;
  return `<${n.name}${attrs}/>`;
}

export const clone = (n: XNode): XNode => ({
  name: n.name,
  attrs: { ...n.attrs },
  children: n.children.map(clone),
  text: n.text,
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fromXml2js(name: string, raw: unknown): XNode {
  if (!isObject(raw)) return node(name, {}, [], typeof raw === 'string' ? raw : '');
  const attrs: Record<string, string> = {};
  if (isObject(raw['$'])) for (const [k, v] of Object.entries(raw['$'])) attrs[k] = String(v);
  const kids = Array.isArray(raw['$$']) ? raw['$$'] : [];
  const children = kids.map((kid) =>
    fromXml2js(isObject(kid) && typeof kid['#name'] === 'string' ? kid['#name'] : '?', kid),
  );
  return node(name, attrs, children, typeof raw['_'] === 'string' ? raw['_'] : '');
}

/** Parses a document; returns its root element. Throws on malformed XML. */
export async function parseXml(xml: string): Promise<XNode> {
  const parsed: unknown = await parseStringPromise(xml, {
    explicitChildren: true,
    preserveChildrenOrder: true,
    explicitCharkey: true,
  });
  if (!isObject(parsed)) throw new Error('empty document');
  const [rootName, raw] = Object.entries(parsed)[0] ?? [];
  if (rootName === undefined) throw new Error('empty document');
  return fromXml2js(rootName, raw);
}

/** Parses an `element=` fragment (one or more sibling elements). */
export async function parseFragment(xml: string): Promise<XNode[]> {
  return (await parseXml(`<fragment>${xml}</fragment>`)).children;
}

export const child = (n: XNode | undefined, name: string): XNode | undefined =>
  n?.children.find((c) => c.name === name);
export const textOf = (n: XNode | undefined, name: string): string => child(n, name)?.text.trim() ?? '';

// ---------------------------------------------------------------------------------------------
// xpath subset: absolute paths of `tag` and `tag[@name='value']` steps.

export interface Step {
  name: string;
  entryName?: string;
}

export function parseXpath(xpath: string): Step[] | undefined {
  const steps: Step[] = [];
  const re = /\/([A-Za-z0-9_.-]+)(?:\[@name=(?:'([^']*)'|"([^"]*)")\])?/y;
  let at = 0;
  while (at < xpath.length) {
    re.lastIndex = at;
    const m = re.exec(xpath);
    if (!m || m[1] === undefined) return undefined;
    const entryName = m[2] ?? m[3];
    steps.push(entryName === undefined ? { name: m[1] } : { name: m[1], entryName });
    at = re.lastIndex;
  }
  return steps.length > 0 ? steps : undefined;
}

const matches = (n: XNode, step: Step): boolean =>
  n.name === step.name && (step.entryName === undefined || n.attrs['name'] === step.entryName);

/** The node at the path (root = first step), or undefined. */
export function find(root: XNode, steps: Step[]): XNode | undefined {
  const [first, ...rest] = steps;
  if (!first || !matches(root, first)) return undefined;
  let current: XNode | undefined = root;
  for (const step of rest) {
    current = current?.children.find((c) => matches(c, step));
    if (!current) return undefined;
  }
  return current;
}

/** The node at the path, created (with its ancestors) when missing. */
export function ensure(root: XNode, steps: Step[]): XNode {
  let current = root;
  for (const step of steps.slice(1)) {
    let next = current.children.find((c) => matches(c, step));
    if (!next) {
      next = node(step.name, step.entryName === undefined ? {} : { name: step.entryName });
      current.children.push(next);
    }
    current = next;
  }
  return current;
}

/** Removes the node at the path; false when it was not there. */
export function remove(root: XNode, steps: Step[]): boolean {
  const parent = find(root, steps.slice(0, -1));
  const last = steps[steps.length - 1];
  if (!parent || !last) return false;
  const index = parent.children.findIndex((c) => matches(c, last));
  if (index < 0) return false;
  parent.children.splice(index, 1);
  return true;
}

/** `action=set` semantics: adds or merges the fragment into the node (leaves are replaced). */
export function merge(target: XNode, fragment: XNode[]): void {
  for (const incoming of fragment) {
    const existing = target.children.find(
      (c) => c.name === incoming.name && c.attrs['name'] === incoming.attrs['name'],
    );
    if (!existing) {
      target.children.push(clone(incoming));
    } else if (incoming.children.length === 0) {
      existing.text = incoming.text;
      existing.children = [];
    } else {
      existing.text = '';
      merge(existing, incoming.children);
    }
  }
}
