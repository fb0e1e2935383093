/** Pure helpers of the console: CSV export cells, list query parsing, the pager, input checks. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceError } from '@temporalio/client';
import { likePattern } from '../../activities/db/like';
import { csvField, csvLine } from '../../web/csv';
import { certificateFiltersOf } from '../../web/list-filters';
import { idParam, oneOf, pageParam, pager, searchText } from '../../web/list-query';
import { formBodyProblem, jsonBodyProblem } from '../../web/body-guard';
import { publicError } from '../../web/http-error';
import { checkbox, displayable, FieldReader, printable } from '../../web/operations/input';

describe('csv', () => {
  it('quotes separators, quotes and line breaks, and defuses formulas', () => {
    const values = ['plain', 'a,b', 'say "hi"', 'two\nlines'];
    assert.deepEqual(values.map(csvField), ['plain', '"a,b"', '"say ""hi"""', '"two\nlines"']);
    for (const formula of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx'])
      assert.ok(csvField(formula).replace(/^"/, '').startsWith("'"), formula);
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
    const { filter } = certificateFiltersOf(
      { q: 'vpn', status: 'failed', sort: 'name', dir: 'desc', expiry: '14', vendor: 'panos', page: '2' },
      50,
    );
    assert.deepEqual(filter, {
      q: 'vpn',
      status: 'failed',
      expiry: '14',
      vendor: 'panos',
      sort: 'name',
      descending: true,
      page: 2,
      pageSize: 50,
    });
    assert.deepEqual(certificateFiltersOf({ vendor: 'nope', sort: 'x' }, 10).filter, {
      sort: 'expiry',
      descending: false,
      page: 1,
      pageSize: 10,
    });
  });

  it('pages keep the filters and stop at the ends', () => {
    const p = pager('/certificates', { status: 'valid', q: undefined }, 2, 50, 120);
    assert.deepEqual(p, {
      page: 2,
      pages: 3,
      total: 120,
      from: 51,
      to: 100,
      prevUrl: '/certificates?status=valid',
      nextUrl: '/certificates?status=valid&page=3',
    });
    assert.deepEqual(pager('/x', {}, 1, 50, 0), { page: 1, pages: 1, total: 0, from: 0, to: 0 });
  });

  it('searches match LIKE wildcards literally', () => {
    assert.equal(likePattern('50%_off\\'), '%50\\%\\_off\\\\%');
  });
});

describe('input checks', () => {
  it('text fields are strings only; references may be integers; wrong types are errors, not empty fields', () => {
    const f = new FieldReader({
      a: ' x ',
      n: 42,
      list: ['x'],
      ref: 42,
      float: 4.2,
      id: '0012',
      nul: 'a\u0000b',
      lone: '\ud800x',
      two: 'two\nlines',
      none: null,
    });
    assert.equal(f.text('a'), 'x');
    assert.equal(f.text('missing'), '');
    assert.equal(f.text('none'), '', 'null reads as left out');
    assert.equal(f.ok, true);
    assert.equal(f.text('n'), '');
    assert.match(f.errors['n'] ?? '', /must be a string/);
    assert.equal(f.text('list'), '');
    assert.match(f.errors['list'] ?? '', /must be a string/);
    assert.equal(f.ref('ref'), '42');
    assert.equal(f.ref('float'), '');
    assert.match(f.errors['float'] ?? '', /must be an id/);
    assert.equal(f.ref('id'), '0012');
    assert.equal(f.text('nul'), '');
    assert.match(f.errors['nul'] ?? '', /NUL/);
    assert.equal(f.text('lone', { multiline: true }), '');
    assert.match(f.errors['lone'] ?? '', /lone surrogate/);
    assert.equal(f.text('two'), '');
    assert.match(f.errors['two'] ?? '', /one line/);
    assert.equal(new FieldReader({ two: 'two\nlines' }).text('two', { multiline: true }), 'two\nlines');
    f.fail('a', 'first');
    f.fail('a', 'second');
    assert.equal(f.errors['a'], 'first', 'the first error of a field wins');
  });

  it('booleans are JSON booleans; integers are whole numbers; lists are arrays of strings or text', () => {
    const f = new FieldReader({
      yes: true,
      no: false,
      empty: [],
      on: 'on',
      port: 587,
      text: ' 25 ',
      float: 1.5,
      inf: Infinity,
      flag: true,
      list: ['a', 'b'],
      mixed: ['a', 1],
      one: 'a, b',
    });
    assert.equal(f.bool('yes'), true);
    assert.equal(f.bool('no'), false);
    assert.equal(f.bool('missing'), undefined);
    assert.equal(f.integer('port'), 587);
    assert.equal(f.integer('text'), 25);
    assert.equal(f.list('list', ','), 'a,b');
    assert.equal(f.list('one', ','), 'a, b');
    assert.equal(f.list('missing', ','), '');
    assert.equal(f.ok, true);
    assert.equal(f.bool('empty'), undefined);
    assert.equal(f.bool('on'), undefined);
    assert.equal(f.integer('float'), undefined);
    assert.equal(f.integer('inf'), undefined);
    assert.equal(f.integer('flag'), undefined);
    assert.equal(f.list('mixed', ','), '');
    assert.deepEqual(Object.keys(f.errors).sort(), ['empty', 'flag', 'float', 'inf', 'mixed', 'on']);
  });

  it('secrets are kept as sent; checkboxes are ticked by "on"', () => {
    const f = new FieldReader({ p: ' pass word ', n: 12345678 });
    assert.equal(f.secret('p'), ' pass word ');
    assert.equal(f.secret('n'), '');
    assert.match(f.errors['n'] ?? '', /must be a string/);
    assert.equal(checkbox({ a: 'on' }, 'a'), true);
    assert.equal(checkbox({}, 'a'), false);
    assert.equal(checkbox({ a: 'yes' }, 'a'), false);
  });

  it('printable text and display names', () => {
    assert.equal(printable('Müller & Söhne 🦊'), true);
    assert.equal(printable('bell\u0007'), false);
    assert.equal(printable('c1\u0085'), false);
    assert.equal(printable('two\nlines'), false);
    assert.equal(printable('two\nlines', true), true);
    assert.equal(printable('nul\u0000', true), false);
    assert.equal(printable('lone \ud800', true), false);
    assert.equal(displayable('Ac\u200Dme 😀'), true);
    assert.equal(displayable('invoice\u202Etxt.exe'), false);
    assert.equal(displayable('a\u2066b'), false);
  });
});

describe('request bodies', () => {
  it('JSON: text no field may hold is found by its path; deep nesting is refused', () => {
    assert.equal(jsonBodyProblem({ a: 'x', b: [1, { c: 'ok' }] }), undefined);
    assert.equal(jsonBodyProblem({ options: { testCommand: 'a\u0000b' } })?.field, 'options.testCommand');
    assert.equal(jsonBodyProblem({ recipients: ['ok', '\ud800'] })?.field, 'recipients[1]');
    assert.match(jsonBodyProblem({ ['k\u0000']: 1 })?.message ?? '', /member name/);
    let deep: unknown = 'x';
    for (let i = 0; i < 40_000; i += 1) deep = [deep];
    assert.match(jsonBodyProblem({ deep })?.message ?? '', /nested/);
  });

  it('forms: a field sent twice, or with a NUL, is named', () => {
    assert.equal(formBodyProblem({ a: 'x', b: '' }), undefined);
    assert.match(formBodyProblem({ notes: ['a', 'b'] })?.message ?? '', /"notes" was given more than once/);
    assert.match(formBodyProblem({ username: 'a\u0000b' })?.message ?? '', /"username" must not contain NUL/);
  });

  it('search filters refuse control characters', () => {
    assert.throws(() => searchText({ q: 'a\u0000b' }, 'q'), /control characters/);
    assert.equal(searchText({ q: 'a b' }, 'q'), 'a b');
  });
});

describe('publicError', () => {
  const grpc = (code: number) =>
    new ServiceError('temporal call failed', { cause: Object.assign(new Error('grpc'), { code }) });
  it('says nothing was started only when Temporal could not be reached at all', () => {
    const unreachable = publicError(grpc(14));
    assert.equal(unreachable.status, 503);
    assert.match(unreachable.message, /unreachable right now, so nothing was started or changed/);
  });
  it('does not promise nothing happened when Temporal answered too late: the command may have arrived', () => {
    const late = publicError(grpc(4));
    assert.equal(late.status, 503);
    assert.doesNotMatch(late.message, /nothing was started/);
    assert.match(late.message, /may still go through: reload in a moment and check before trying again/);
  });
  it('answers 503 when the database is restarting or out of reach, and 500 for other database errors', () => {
    const outages = [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      new Error('Client has encountered a connection error and is not queryable'),
      new Error('Connection terminated unexpectedly'),
    ];
    for (const error of outages) {
      const answer = publicError(error);
      assert.equal(answer.status, 503, error.message);
      assert.match(answer.message, /database did not answer .* check before trying again/);
    }
    assert.equal(publicError(Object.assign(new Error('syntax error'), { code: '42601' })).status, 500);
  });
});
