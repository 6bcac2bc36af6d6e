// Unit tests of web/payload.js (node --test): both payload formats, gaps, bad
// and oversized input, and the trend rule with the cases of
// src/core/trend_test.cc.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  MAX_PAYLOAD_BYTES, computeTrend, currentCount, decodePayload, trendLabel,
} from './payload.js';

const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
const V1 = '{"v":1,"at":"2026-11-25T12:03:00Z","i":60,"m":[120,134,null,161,170],"trend":"rising"}';

function ok(input, options) {
  const r = decodePayload(input, options);
  assert.equal(r.ok, true, `expected ${JSON.stringify(input)} to decode: ${r.error}`);
  return r.payload;
}

function bad(input, pattern, options) {
  let r;
  assert.doesNotThrow(() => { r = decodePayload(input, options); });
  assert.equal(r.ok, false, `expected ${String(input).slice(0, 80)} to be refused`);
  assert.equal(typeof r.error, 'string');
  if (pattern) assert.match(r.error, pattern);
}

describe('v1 payload', () => {
  test('the documented example', () => {
    const p = ok(V1);
    assert.deepEqual(p, {
      format: 'v1', v: 1, at: Date.parse('2026-11-25T12:03:00Z'), i: 60,
      m: [120, 134, null, 161, 170], trend: 'rising',
    });
  });

  test('base64, as X-HEADCOUNT carries it', () => {
    assert.deepEqual(ok(b64(V1), { base64: true }), ok(V1));
    // The example of docs/metadata.md, verbatim.
    const p = ok('eyJ2IjoxLCJhdCI6IjIwMjYtMTEtMjVUMTI6MDM6MDBaIiwiaSI6NjAsIm0iOlsxMjAsMTM0LG51bGwsMTYxLDE3MF0sInRyZW5kIjoicmlzaW5nIn0=', { base64: true });
    assert.deepEqual(p.m, [120, 134, null, 161, 170]);
  });

  test('bytes, as a cue may carry it', () => {
    const bytes = new TextEncoder().encode(V1);
    assert.deepEqual(ok(bytes), ok(V1));
    assert.deepEqual(ok(bytes.buffer), ok(V1));
  });

  test('gaps are kept as null, never as 0', () => {
    const p = ok('{"v":1,"at":"2026-11-25T12:03:00Z","i":2,"m":[null,null,null,null,null],"trend":"unknown"}');
    assert.deepEqual(p.m, [null, null, null, null, null]);
    assert.equal(currentCount(p.m), null);
    assert.equal(currentCount([1, 2, 3, null, null]), 3);
    assert.equal(currentCount([1, 2, 3, 4, 0]), 0);
  });

  test('its trend is the one it carries', () => {
    assert.equal(ok('{"v":1,"at":"2026-11-25T12:03:00Z","i":60,"m":[1,1,1,1,1],"trend":"steady"}').trend, 'steady');
  });

  test('malformed documents are refused with a reason', () => {
    const doc = { v: 1, at: '2026-11-25T12:03:00Z', i: 60, m: [1, 2, 3, 4, 5], trend: 'rising' };
    const variant = (patch) => JSON.stringify({ ...doc, ...patch });
    bad('{', /not valid JSON/);
    bad('{"v":1', /not valid JSON/);
    bad('[1,2,3]', /neither JSON nor/);
    bad(variant({ v: 2 }), /version 2/);
    bad(variant({ v: '1' }), /version/);
    bad(variant({ extra: true }), /unknown field "extra"/);
    bad(JSON.stringify({ v: 1, at: doc.at, i: 60, m: doc.m }), /missing field "trend"/);
    bad(variant({ at: '2026-11-25 12:03:00' }), /"at"/);
    bad(variant({ at: '2026-11-25T12:03:00.000Z' }), /"at"/);
    bad(variant({ at: '2026-13-45T12:03:00Z' }), /"at"/);
    bad(variant({ at: 1795608180 }), /"at"/);
    bad(variant({ i: 0 }), /"i"/);
    bad(variant({ i: 86401 }), /"i"/);
    bad(variant({ i: 1.5 }), /"i"/);
    bad(variant({ m: [1, 2, 3, 4] }), /"m"/);
    bad(variant({ m: [1, 2, 3, 4, 5, 6] }), /"m"/);
    bad(variant({ m: [1, 2, 3, 4, -1] }), /"m"/);
    bad(variant({ m: [1, 2, 3, 4, 1.5] }), /"m"/);
    bad(variant({ m: [1, 2, 3, 4, '5'] }), /"m"/);
    bad(variant({ m: [1, 2, 3, 4, 2 ** 60] }), /"m"/);
    bad(variant({ m: 'many' }), /"m"/);
    bad(variant({ trend: 'heating up' }), /trend/);
    bad('null', /neither JSON nor/);
  });
});

describe("the seed's comma format", () => {
  test('newest first on the wire, oldest first once decoded, trend by the rule', () => {
    const p = ok('12,10,9,9,7');
    assert.deepEqual(p, { format: 'seed', v: 0, at: null, i: null, m: [7, 9, 9, 10, 12], trend: 'rising' });
    assert.equal(currentCount(p.m), 12);
    assert.equal(ok('100,101,99,100,102').trend, 'steady');
    assert.equal(ok('120,134,150,161,170').trend, 'falling');
  });

  test('fewer than 5 counts leave the oldest buckets as gaps', () => {
    assert.deepEqual(ok('5').m, [null, null, null, null, 5]);
    assert.equal(ok('5').trend, 'unknown');
    assert.deepEqual(ok('3,2,1').m, [null, null, 1, 2, 3]);
    assert.equal(ok('3,2,1').trend, 'rising');
  });

  test('an empty field is a gap; spaces and a trailing newline are fine', () => {
    assert.deepEqual(ok('12,,9,,7').m, [7, null, 9, null, 12]);
    assert.deepEqual(ok(' 12, 10 ,9,9,7\n').m, [7, 9, 9, 10, 12]);
    assert.deepEqual(ok(new TextEncoder().encode('4,3')).m, [null, null, null, 3, 4]);
    assert.deepEqual(ok(b64('4,3'), { base64: true }).m, [null, null, null, 3, 4]);
  });

  test('anything else is refused', () => {
    bad('', /empty/);
    bad('   ', /empty/);
    bad('1,2,3,4,5,6', /more than 5/);
    bad('1,-2,3', /neither JSON nor/);
    bad('1,2.5,3', /neither JSON nor/);
    bad('1;2;3', /neither JSON nor/);
    bad('twelve', /neither JSON nor/);
    bad(',,,,', /no counts/);
    bad('99999999999999999999', /too large/);
  });
});

describe('bad and oversized input never throws', () => {
  test(`more than ${MAX_PAYLOAD_BYTES} bytes is refused`, () => {
    const padded = (n) => `{"v":1,"at":"2026-11-25T12:03:00Z","i":60,"m":[1,2,3,4,5],"trend":"rising"${' '.repeat(n)}}`;
    const exact = padded(MAX_PAYLOAD_BYTES - padded(0).length);
    assert.equal(Buffer.byteLength(exact), MAX_PAYLOAD_BYTES);
    ok(exact);
    ok(b64(exact), { base64: true });
    bad(padded(MAX_PAYLOAD_BYTES - padded(0).length + 1), /over 1024 bytes/);
    bad(b64(padded(MAX_PAYLOAD_BYTES)), /over 1024 bytes/, { base64: true });
    bad(new Uint8Array(MAX_PAYLOAD_BYTES + 1), /over 1024 bytes/);
    bad('1,'.repeat(600), /over 1024 bytes/);
    // Multi-byte characters count as their UTF-8 bytes.
    bad(`{"v":1,"x":"${'é'.repeat(520)}"}`, /over 1024 bytes/);
    bad('x'.repeat(10_000_000), /over 1024 bytes/);
  });

  test('wrong types, bad base64 and bad UTF-8', () => {
    bad(undefined, /undefined/);
    bad(null, /null/);
    bad(42, /number/);
    bad({ v: 1 }, /object/);
    bad('not base64!', /base64/, { base64: true });
    bad('abc', /base64/, { base64: true });
    bad(42, /base64/, { base64: true });
    bad(new Uint8Array([0xff, 0xfe, 0x31]), /UTF-8/);
    bad(Buffer.from([0xc3, 0x28]).toString('base64'), /UTF-8/, { base64: true });
  });
});

describe('the trend rule (the cases of src/core/trend_test.cc)', () => {
  const GAP = null;
  test('rising when the audience grows', () => {
    assert.equal(computeTrend([120, 134, 150, 161, 170]), 'rising');
    assert.equal(computeTrend([1, 2, 3, 4, 5]), 'rising');
  });
  test('falling when the audience leaves', () => {
    assert.equal(computeTrend([170, 161, 150, 134, 120]), 'falling');
  });
  test('steady for small wobbles', () => {
    assert.equal(computeTrend([100, 101, 99, 100, 102]), 'steady');
    assert.equal(computeTrend([0, 0, 0, 0, 0]), 'steady');
    // One extra viewer over five minutes is not "heating up".
    assert.equal(computeTrend([3, 3, 3, 3, 4]), 'steady');
  });
  test('the relative threshold scales with the audience', () => {
    assert.equal(computeTrend([80, 90, 100, 110, 120]), 'rising');
    assert.equal(computeTrend([980, 990, 1000, 1010, 1020]), 'steady');
  });
  test('exactly at the threshold counts', () => {
    // Slope 0.5/bucket, mean 1.8 -> threshold max(0.5, 0.09) = 0.5.
    assert.equal(computeTrend([1, 1, 2, 2, 3]), 'rising');
    assert.equal(computeTrend([3, 2, 2, 1, 1]), 'falling');
  });
  test('unknown with fewer than three samples', () => {
    assert.equal(computeTrend([GAP, GAP, GAP, GAP, GAP]), 'unknown');
    assert.equal(computeTrend([GAP, GAP, GAP, 10, 50]), 'unknown');
  });
  test('gaps are skipped, not zeroed', () => {
    assert.equal(computeTrend([100, GAP, 100, GAP, 100]), 'steady');
    assert.equal(computeTrend([10, GAP, 30, GAP, 50]), 'rising');
  });
  test('"heating up" is the label of rising and of nothing else', () => {
    assert.equal(trendLabel('rising'), 'heating up');
    for (const t of ['falling', 'steady', 'unknown', undefined]) assert.notEqual(trendLabel(t), 'heating up');
  });
});
