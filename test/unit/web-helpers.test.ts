/** Pure helpers of the console: CSV export cells, list query parsing, the pager, input checks. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { likePattern } from '../../activities/db/like';
import { csvField, csvLine } from '../../web/csv';
import { certificateFiltersOf } from '../../web/list-filters';
import { idParam, oneOf, pageParam, pager, searchText } from '../../web/list-query';
import { flag, idOf, printable, refText, text } from '../../web/operations/input';

describe('csv', () => {
  it('quotes separators, quotes and line breaks, and defuses formulas', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    for (const formula of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx']) assert.ok(csvField(formula).replace(/^"/, '').startsWith("'"), formula);
    assert.equal(csvField(null), '');
    assert.equal(csvField(new Date('2026-01-02T03:04:05Z')), '2026-01-02T03:04:05.000Z');
    assert.equal(csvField({ a: 1 }), '"{""a"":1}"');
    assert.equal(csvLine(['a', 1, undefined]), 'a,1,\r\n');
  });
});

describe('list queries', () => {
  it('keeps only allowed values, ids, bounded searches and sane pages', () => {
    assert.equal(oneOf({ s: 'valid' }, 's', ['valid', 'failed'] as const), 'valid');
    assert.equal(oneOf({ s: 'DROP' }, 's', ['valid'] as const), undefined);
    assert.equal(oneOf({ s: ['valid'] }, 's', ['valid'] as const), undefined, 'repeated parameters are ignored');
    assert.equal(idParam({ c: '12' }, 'c'), '12');
    assert.equal(idParam({ c: '1e3' }, 'c'), undefined);
    assert.equal(searchText({ q: '  x  ' }, 'q'), 'x');
    assert.equal(searchText({ q: 'y'.repeat(500) }, 'q')?.length, 100);
    assert.equal(pageParam({ page: '0' }), 1);
    assert.equal(pageParam({ page: '-3' }), 1);
    assert.equal(pageParam({ page: '9999999999' }), 1);
    assert.equal(pageParam({ page: '4' }), 4);
  });

  it('turns a certificate query into a filter with defaults', () => {
    const { filter } = certificateFiltersOf({ q: 'vpn', status: 'failed', sort: 'name', dir: 'desc', expiry: '14', vendor: 'panos', page: '2' }, 50);
    assert.deepEqual(filter, { q: 'vpn', status: 'failed', expiry: '14', vendor: 'panos', sort: 'name', descending: true, page: 2, pageSize: 50 });
    assert.deepEqual(certificateFiltersOf({ vendor: 'nope', sort: 'x' }, 10).filter, { sort: 'expiry', descending: false, page: 1, pageSize: 10 });
  });

  it('pages keep the filters and stop at the ends', () => {
    const p = pager('/certificates', { status: 'valid', q: undefined }, 2, 50, 120);
    assert.deepEqual(p, { page: 2, pages: 3, total: 120, from: 51, to: 100, prevUrl: '/certificates?status=valid', nextUrl: '/certificates?status=valid&page=3' });
    assert.deepEqual(pager('/x', {}, 1, 50, 0), { page: 1, pages: 1, total: 0, from: 0, to: 0 });
  });

  it('searches match LIKE wildcards literally', () => {
    assert.equal(likePattern('50%_off\\'), '%50\\%\\_off\\\\%');
  });
});

describe('input checks', () => {
  it('text fields are strings only; references may be numbers; checkboxes and control characters', () => {
    assert.equal(text({ a: ' x ' }, 'a'), 'x');
    assert.equal(text({ a: 42 }, 'a'), '');
    assert.equal(text({ a: ['x'] }, 'a'), '');
    assert.equal(refText({ a: 42 }, 'a'), '42');
    assert.equal(refText({ a: 4.2 }, 'a'), '');
    assert.equal(idOf({ a: '0012' }, 'a'), '0012');
    assert.equal(idOf({ a: 'abc' }, 'a'), '');
    assert.equal(flag({ a: 'on' }, 'a'), true);
    assert.equal(flag({ a: true }, 'a'), true);
    assert.equal(flag({ a: 'yes' }, 'a'), false);
    assert.equal(printable('Müller & Söhne 🦊'), true);
    assert.equal(printable('bell\u0007'), false);
    assert.equal(printable('two\nlines'), false);
    assert.equal(printable('two\nlines', true), true);
    assert.equal(printable('nul\u0000', true), false);
  });
});
