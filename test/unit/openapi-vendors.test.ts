/**
 * The API reference's vendor tables (VendorCredentials, VendorOptions, VendorBinding in
 * web/openapi.yaml) list exactly the fields of each vendor descriptor, with their kinds and the
 * required ones in bold: a field added to a descriptor without its line in the reference fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { vendorDescriptors } from '../../activities/deployers/descriptors';
import type { VendorField } from '../../activities/deployers/types';

const OPENAPI_PATH = path.join(__dirname, '../../web/openapi.yaml');
const doc = parse(readFileSync(OPENAPI_PATH, 'utf8')) as {
  components: { schemas: Record<string, { description?: string }> };
};

interface Row {
  keys: Map<string, { required: boolean; kind: string }>;
}

/** The table rows of a schema's description: vendor → its keys, each with bold (required) and the kind in brackets. */
function rowsOf(schema: string): Map<string, Row> {
  const description = doc.components.schemas[schema]?.description ?? '';
  const rows = new Map<string, Row>();
  for (const line of description.split('\n')) {
    const cells = /^\| `([a-z0-9-]+)` \| (.*) \|$/.exec(line.trim());
    if (!cells?.[1] || cells[2] === undefined) continue;
    const keys = new Map<string, { required: boolean; kind: string }>();
    for (const key of cells[2].matchAll(/(\*\*)?`([A-Za-z0-9]+)`(?:\*\*)? \(([a-z]+)/g)) {
      if (key[2] && key[3]) keys.set(key[2], { required: key[1] === '**', kind: key[3] });
    }
    rows.set(cells[1], { keys });
  }
  return rows;
}

const expected = (fields: VendorField[]): [string, { required: boolean; kind: string }][] =>
  fields.map((f) => [f.name, { required: f.required, kind: f.kind === 'list' ? 'list' : f.kind }]);

describe('the API reference lists every vendor field', () => {
  const parts: [schema: string, fieldsOf: (id: string) => VendorField[]][] = [
    ['VendorCredentials', (id) => vendorDescriptors[id]?.credentialFields ?? []],
    ['VendorOptions', (id) => vendorDescriptors[id]?.optionFields ?? []],
    ['VendorBinding', (id) => vendorDescriptors[id]?.bindingFields ?? []],
  ];
  for (const [schema, fieldsOf] of parts) {
    it(`${schema}: one row per vendor, the descriptor's keys, kinds and required ones`, () => {
      const rows = rowsOf(schema);
      assert.deepEqual(
        [...rows.keys()].sort(),
        Object.keys(vendorDescriptors).sort(),
        `${schema}: a row for every vendor`,
      );
      for (const id of Object.keys(vendorDescriptors)) {
        const documented = [
          ...(rows.get(id)?.keys ?? new Map<string, { required: boolean; kind: string }>()).entries(),
        ].sort(([a], [b]) => a.localeCompare(b));
        const fields = expected(fieldsOf(id)).sort(([a], [b]) => a.localeCompare(b));
        assert.deepEqual(documented, fields, `${schema} row of ${id}`);
      }
    });
  }
});
