/**
 * The API reference's DNS provider input schema, generated from the provider descriptors when the
 * document is served: a new provider shows up in the reference with no edit of web/openapi.yaml.
 * The document holds one placeholder line (`DnsProviderInput: {}`); JSON is valid YAML flow style.
 */
import { dnsProviderDescriptors } from '../../activities/dns-providers/descriptors';
import { type DnsProviderDescriptor, type ProviderField } from '../../activities/dns-providers/types';

const PLACEHOLDER = /^( +)DnsProviderInput: \{\}.*$/m;

const fieldDoc = (f: ProviderField): string =>
  `${f.required ? `**\`${f.name}\`**` : `\`${f.name}\``} (${f.secret ? 'secret' : 'text'})`;

function fieldSchema(fields: { kind: string; field: ProviderField }[]): Record<string, unknown> {
  const first = fields[0]?.field;
  const kinds = fields.map((f) => `\`${f.kind}\``).join(', ');
  return {
    type: 'string',
    ...(first?.secret ? { writeOnly: true } : {}),
    description: `${first?.label ?? ''} (${kinds}).${first?.help ? ` ${first.help}` : ''}`,
  };
}

/** Every field name of every kind, merged (two kinds may share a name such as `token`). */
function propertiesOf(descriptors: DnsProviderDescriptor[], secret: boolean): Record<string, unknown> {
  const byName = new Map<string, { kind: string; field: ProviderField }[]>();
  for (const d of descriptors)
    for (const field of d.fields.filter((f) => (f.secret === true) === secret))
      byName.set(field.name, [...(byName.get(field.name) ?? []), { kind: d.id, field }]);
  return Object.fromEntries([...byName.entries()].map(([name, fields]) => [name, fieldSchema(fields)]));
}

export function dnsProviderInputSchema(
  descriptors: DnsProviderDescriptor[] = Object.values(dnsProviderDescriptors),
): Record<string, unknown> {
  const table = descriptors.map((d) => `| \`${d.id}\` | ${d.label} | ${d.fields.map(fieldDoc).join(', ')} |`);
  return {
    type: 'object',
    description: [
      "A provider's fields are those of its kind's descriptor; send them at the top level or grouped",
      'under `config` (plain fields) and `secrets` (secret fields). Secrets are write-only: each is sealed',
      'on its own; when creating, the required ones must be given; on PATCH an empty or left-out secret',
      'keeps the stored one, unless an endpoint field (an API address) changes: then every secret is',
      'required again (400), and only admins may change an endpoint field (403). Required fields in bold.',
      '',
      '| kind | provider | fields |',
      '|---|---|---|',
      ...table,
    ].join('\n'),
    properties: {
      name: { type: 'string', pattern: '^[\\p{L}\\p{N}][\\p{L}\\p{N} ._-]{0,63}$' },
      kind: {
        type: 'string',
        enum: descriptors.map((d) => d.id),
        default: 'cloudflare',
        description: 'Only read when creating.',
      },
      customerId: {
        oneOf: [{ $ref: '#/components/schemas/IdInput' }, { type: 'string', const: '' }],
        description:
          'The customer whose certificates may use it; "" (or left out when creating) for a provider shared by every customer. Left out on PATCH: unchanged.',
      },
      config: { type: 'object', properties: propertiesOf(descriptors, false), additionalProperties: false },
      secrets: {
        type: 'object',
        writeOnly: true,
        properties: propertiesOf(descriptors, true),
        additionalProperties: false,
      },
    },
  };
}

/** The served document: the placeholder replaced by the generated schema. */
export function withDnsProviderSchema(openapi: string): string {
  if (!PLACEHOLDER.test(openapi)) throw new Error('openapi.yaml: the DnsProviderInput placeholder is missing');
  return openapi.replace(
    PLACEHOLDER,
    (_line, indent: string) => `${indent}DnsProviderInput: ${JSON.stringify(dnsProviderInputSchema())}`,
  );
}
