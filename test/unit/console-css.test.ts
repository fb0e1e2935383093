/** The console's style sheet: long names and fingerprints wrap, words in reports are never split. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const css = readFileSync(path.join(__dirname, '..', '..', 'web', 'public', 'app.css'), 'utf8');

/** The declarations of each rule, by selector (flat rules and those inside @media). */
function rules(): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of css.replace(/\/\*[\s\S]*?\*\//g, '').matchAll(/([^{}]+)\{([^{}]*)\}/g)) {
    for (const selector of (match[1] ?? '').split(','))
      found.set(selector.replace(/@media[^{]*$/, '').trim(), match[2] ?? '');
  }
  return found;
}

describe('app.css', () => {
  it('never splits words (word-break: break-all) except inside an opaque token', () => {
    const splitting = [...rules()]
      .filter(([, body]) => /word-break:\s*break-all/.test(body))
      .map(([selector]) => selector);
    assert.deepEqual(splitting, ['code.token']);
  });

  it('wraps long host names, fingerprints and names where they do not fit', () => {
    for (const selector of ['.wrap', 'h1.name'])
      assert.match(rules().get(selector) ?? '', /overflow-wrap:\s*anywhere/, selector);
  });
});
