// The CMCD v2 collector of a real `headcount serve --count heartbeats`:
// reports in hls.js 1.7.4's encoding count a sid from its second report
// while it plays, a pause takes it out at once, silence after
// --cmcd-timeout; `headcount viewers --cmcd --heartbeat` players,
// reporting both ways, are counted once each; abuse (1,000 sids from one address, malformed and
// oversized bodies) counts at most the cap and nothing, and crashes nothing;
// reports encoded by the reference encoder (@svta/cml-cmcd, a dev
// dependency) are read as written.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  CMCD_EVENT_MODE, CMCD_V2, CmcdEventType, CmcdObjectType, CmcdPlayerState, CmcdStreamType, CmcdStreamingFormat,
  encodeCmcd,
} from '@svta/cml-cmcd';

import {
  BIN, Proc, cleanup, cmcdSidsOf, sleep, startServe, startTestStream, tempDir, viewersOf, waitFor,
} from './harness.mjs';

const CAP = 100;  // --max-sessions-per-client: tokens and sids alike
const PAGE = 'https://page.example';
const TIMEOUT_S = 4;  // --cmcd-timeout

// A playlist that is live for the whole test (--live-timeout 1h) without a stream.
function writeStaticChannel(hls, channel) {
  mkdirSync(join(hls, channel), { recursive: true });
  writeFileSync(join(hls, channel, 'stream.m3u8'),
    '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_1.ts\n');
}

// One line as hls.js 1.7.4 writes it (keys sorted, sid quoted, e and sta tokens).
function hlsJsLine(sid, { e = 'ps', sta, sn = 0, cid = 'live' } = {}) {
  const state = sta ? `,sta=${sta}` : '';
  return `bl=(3200),br=(0),cid="${cid}",e=${e},mtp=(16400),sf=h,sid="${sid}",sn=${sn},st=l${state},ts=${Date.now()},v=2`;
}

function report(base, channel, body, headers = {}) {
  return fetch(`${base}/api/channels/${channel}/cmcd`, {
    method: 'POST', body, headers: { 'content-type': 'application/cmcd', ...headers },
  });
}

// /metrics, as name{labels} -> value.
async function metrics(base) {
  const out = new Map();
  const text = await (await fetch(`${base}/metrics`)).text();
  for (const m of text.matchAll(/^(headcount_cmcd_\w+)(\{[^}]*\})? (\S+)$/gm)) out.set(m[1] + (m[2] ?? ''), Number(m[3]));
  return out;
}

describe('serve --count heartbeats: the CMCD v2 collector', () => {
  let dir;
  let origin;
  before(async () => {
    dir = tempDir('headcount-cmcd-');
    const hls = join(dir, 'hls');
    await startTestStream(hls, 'live');
    for (const channel of ['rule', 'crowd', 'junk', 'encoded']) writeStaticChannel(hls, channel);
    // Requests come straight from this test on 127.0.0.1, trusted: each
    // X-Forwarded-For below is one address.
    origin = await startServe(dir, {
      extraArgs: ['--count', 'heartbeats', '--trusted-proxies', '127.0.0.1,::1', '--cors-origins', PAGE,
        '--max-sessions-per-client', String(CAP), '--live-timeout', '1h', '--cmcd-timeout', `${TIMEOUT_S}s`],
    });
  });
  after(async () => {
    await Proc.stopAll();
    cleanup(dir);
  });

  test('two reports count, one does not; pausing leaves at once, playing comes back', async () => {
    const from = { 'x-forwarded-for': '198.51.100.7' };
    assert.equal((await report(origin.base, 'rule', `${hlsJsLine('one-shot', { e: 't' })}\n`, from)).status, 204);
    assert.equal((await report(origin.base, 'rule', `${hlsJsLine('page-1', { e: 't' })}\n`, from)).status, 204);
    assert.equal(await cmcdSidsOf(origin.base, 'rule'), 0, 'one report counts nothing');
    assert.equal((await report(origin.base, 'rule', `${hlsJsLine('page-1', { sta: 'p', sn: 3 })}\n`, from)).status, 204);
    assert.equal(await cmcdSidsOf(origin.base, 'rule'), 1, 'the second report, playing, counts');
    await waitFor('the API to count 1', async () => (await viewersOf(origin.base, 'rule')) === 1);
    assert.equal((await report(origin.base, 'rule', `${hlsJsLine('page-1', { sta: 'a', sn: 6 })}\n`, from)).status, 204);
    assert.equal(await cmcdSidsOf(origin.base, 'rule'), 0, 'paused leaves');
    await waitFor('the API to count 0', async () => (await viewersOf(origin.base, 'rule')) === 0);
    // sendBeacon's text/plain is a report too.
    assert.equal((await report(origin.base, 'rule', hlsJsLine('page-1', { sta: 'p', sn: 7 }),
      { ...from, 'content-type': 'text/plain;charset=UTF-8' })).status, 204);
    assert.equal(await cmcdSidsOf(origin.base, 'rule'), 1);
    assert.equal((await report(origin.base, 'rule', `${hlsJsLine('page-1', { sta: 'e', sn: 8 })}\n`, from)).status, 204);
    assert.equal(await cmcdSidsOf(origin.base, 'rule'), 0, 'ended leaves');
    // Playing again, then silent (a closed page sends nothing): gone after --cmcd-timeout.
    assert.equal((await report(origin.base, 'rule', `${hlsJsLine('page-1', { sta: 'p', sn: 9 })}\n`, from)).status, 204);
    assert.equal(await cmcdSidsOf(origin.base, 'rule'), 1);
    await sleep((TIMEOUT_S - 1) * 1000);
    assert.equal(await cmcdSidsOf(origin.base, 'rule'), 1, 'still within the timeout');
    await waitFor('the sid to time out', async () => (await cmcdSidsOf(origin.base, 'rule')) === 0,
      { timeoutMs: 3000, intervalMs: 100 });
  });

  test('reports from the reference encoder (@svta/cml-cmcd) are read as it wrote them: every key type, escapes in sids', async () => {
    const from = { 'x-forwarded-for': '198.51.100.50' };
    // 40 sids of 8 to 64 characters spread over printable ASCII: quotes,
    // backslashes, commas, equals signs and spaces included.
    const sids = [];
    for (let i = 0; i < 40; i++) {
      let sid = `${i}-`;
      for (let k = 0; sid.length < 8 + Math.floor((i * 56) / 39); k++) sid += String.fromCharCode(0x20 + ((i * 7 + k * 13) % 95));
      sids.push(sid);
    }
    // The sid of 64 characters holds a quote: escaped, it is longer than 64,
    // so a parser that kept the escape would refuse it.
    assert.ok(sids.some((sid) => sid.length === 64 && sid.includes('"')));
    assert.ok(sids.some((sid) => sid.includes('\\')));
    assert.ok(sids.every((sid) => sid.length <= 64));
    const full = (sid, sn) => encodeCmcd({
      e: CmcdEventType.PLAY_STATE, sta: CmcdPlayerState.PLAYING, sid, cid: 'encoded', sn, ts: Date.now(), v: 2,
      br: [3200, 1600], bl: [5000], mtp: [16400], su: true, bs: false, ot: CmcdObjectType.VIDEO,
      st: CmcdStreamType.LIVE, sf: CmcdStreamingFormat.HLS, pr: 1.25, 'com.example-key': 'a "b" \\c',
    }, { reportingMode: CMCD_EVENT_MODE, version: CMCD_V2 });
    const minimal = (sid, sn, sta) => encodeCmcd({ e: CmcdEventType.TIME_INTERVAL, sta, sid, sn, v: 2 },
      { reportingMode: CMCD_EVENT_MODE, version: CMCD_V2 });
    const before = await metrics(origin.base);
    for (const sid of sids) {
      assert.equal((await report(origin.base, 'encoded', `${full(sid, 0)}\n`, from)).status, 204, full(sid, 0));
    }
    assert.equal(await cmcdSidsOf(origin.base, 'encoded'), 0);
    // The second report of each, encoded with other keys: the same sid.
    for (const sid of sids) {
      assert.equal((await report(origin.base, 'encoded', `${minimal(sid, 1, CmcdPlayerState.PLAYING)}\n`, from)).status, 204);
    }
    assert.equal(await cmcdSidsOf(origin.base, 'encoded'), sids.length);
    for (const sid of sids.slice(0, 10)) {
      assert.equal((await report(origin.base, 'encoded', `${minimal(sid, 2, CmcdPlayerState.PAUSED)}\n`, from)).status, 204);
    }
    assert.equal(await cmcdSidsOf(origin.base, 'encoded'), sids.length - 10);
    const afterwards = await metrics(origin.base);
    assert.equal(afterwards.get('headcount_cmcd_bad_lines_total'), before.get('headcount_cmcd_bad_lines_total'));
    assert.equal(afterwards.get('headcount_cmcd_reports_total') - before.get('headcount_cmcd_reports_total'), 2 * sids.length + 10);
  });

  test(`abuse: 1,000 sids from one address stop at the cap of ${CAP}; another address is not held to it`, async () => {
    // A server of its own whose sids outlive the test: with the suite's 4 s
    // --cmcd-timeout, the first sids would expire during a slow run and free
    // their share of the cap.
    const crowdDir = join(dir, 'crowd-server');
    writeStaticChannel(join(crowdDir, 'hls'), 'crowd');
    const origin = await startServe(crowdDir, {
      extraArgs: ['--count', 'heartbeats', '--trusted-proxies', '127.0.0.1,::1',
        '--max-sessions-per-client', String(CAP), '--live-timeout', '1h', '--cmcd-timeout', '10m'],
    });
    const from = { 'x-forwarded-for': '203.0.113.9' };
    // Each sid sends two reports in one body (hls.js with batchSize 2): the
    // first 100 count, every later sid is refused at its first line (by
    // the cap, or past the rate limit's burst of 600 by the rate), and the
    // reports after a refused one are not looked at.
    const codes = {};
    for (let i = 0; i < 1000; i++) {
      const body = `${hlsJsLine(`abuser-${i}`, { sta: 'p', sn: 0 })}\n${hlsJsLine(`abuser-${i}`, { sta: 'p', sn: 1 })}\n`;
      const { status } = await report(origin.base, 'crowd', body, from);
      codes[status] = (codes[status] ?? 0) + 1;
    }
    assert.deepEqual(codes, { 204: CAP, 429: 1000 - CAP });
    assert.equal(await cmcdSidsOf(origin.base, 'crowd'), CAP);
    const other = { 'x-forwarded-for': '203.0.113.10' };
    for (let sn = 0; sn < 2; sn++) {
      assert.equal((await report(origin.base, 'crowd', hlsJsLine('neighbour', { sta: 'p', sn }), other)).status, 204);
    }
    assert.equal(await cmcdSidsOf(origin.base, 'crowd'), CAP + 1);
    await waitFor(`the API to count ${CAP + 1}`, async () => (await viewersOf(origin.base, 'crowd')) === CAP + 1);
  });

  test('malformed and oversized bodies count nothing and crash nothing; bad lines are counted', async () => {
    const before = await metrics(origin.base);
    const cases = [
      ['', 400],
      ['not a report\n', 400],
      ['e=ps,sta=p\n', 400],  // no sid
      [`sid="${'x'.repeat(65)}",sta=p\nsid="${'x'.repeat(65)}",sta=p\n`, 400],  // sid too long
      ['sid="unclosed,sta=p\n', 400],
      [`${'\u0000\u00ff'.repeat(200)}\n`, 400],
      [`sid="big",sta=p,${'k=1,'.repeat(5000)}k=1\n`, 413],
      [`${hlsJsLine('big', { sta: 'p' })}\n`.repeat(200), 413],
    ];
    for (const [body, status] of cases) {
      for (let i = 0; i < 2; i++) assert.equal((await report(origin.base, 'junk', body)).status, status, body.slice(0, 80));
    }
    assert.equal((await report(origin.base, 'junk', hlsJsLine('x', { sta: 'p' }), { 'content-type': 'application/json' })).status, 415);
    assert.equal((await report(origin.base, 'nope', hlsJsLine('x', { sta: 'p' }))).status, 404);
    assert.equal(await cmcdSidsOf(origin.base, 'junk'), 0);
    const afterwards = await metrics(origin.base);
    const bad = afterwards.get('headcount_cmcd_bad_lines_total') - before.get('headcount_cmcd_bad_lines_total');
    assert.equal(bad, 2 * 6, 'each bad line of the 400s, twice');
    assert.ok((await fetch(`${origin.base}/healthz`)).ok);
    // A good line beside bad ones is taken, and the bad ones counted.
    const mixed = `garbage\n${hlsJsLine('mixed', { sta: 'p', sn: 0 })}\n${hlsJsLine('mixed', { sta: 'p', sn: 1 })}\n`;
    assert.equal((await report(origin.base, 'junk', mixed)).status, 204);
    assert.equal(await cmcdSidsOf(origin.base, 'junk'), 1);
  });

  test('the CORS preflight of a cross-origin application/cmcd POST passes for the configured origin only', async () => {
    const preflight = (page) => fetch(`${origin.base}/api/channels/live/cmcd`, {
      method: 'OPTIONS',
      headers: { origin: page, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    const ok = await preflight(PAGE);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), PAGE);
    assert.match(ok.headers.get('access-control-allow-headers'), /content-type/i);
    const no = await preflight('https://evil.example');
    assert.equal(no.status, 403);
    assert.equal(no.headers.get('access-control-allow-origin'), null);
    const posted = await report(origin.base, 'live', hlsJsLine('cors', { sta: 'p' }), { origin: PAGE });
    assert.equal(posted.status, 204);
    assert.equal(posted.headers.get('access-control-allow-origin'), PAGE);
  });
});

describe('serve --count heartbeats with players reporting CMCD every 10 s', () => {
  let dir;
  let origin;
  before(async () => {
    dir = tempDir('headcount-cmcd-players-');
    await startTestStream(join(dir, 'hls'), 'live');
    // README: players report every 10 s, so a 25 s timeout.
    origin = await startServe(dir, { extraArgs: ['--count', 'heartbeats', '--cmcd-timeout', '25s'] });
  });
  after(async () => {
    await Proc.stopAll();
    cleanup(dir);
  });

  test('headcount viewers --cmcd --heartbeat: each player counts once, though it reports both ways', async () => {
    const sim = new Proc('viewers', BIN, ['viewers', '--url', `${origin.base}/hls/live/stream.m3u8`,
      '--count', '5', '--ramp', '1s', '--cmcd', '--heartbeat', '--log-level', 'warn']);
    await waitFor('5 sids', async () => (await cmcdSidsOf(origin.base, 'live')) === 5);
    // A token counts from its second heartbeat, heartbeat_s (10 s) after
    // the first; then a tick with both.
    await sleep(13000);
    assert.equal(await cmcdSidsOf(origin.base, 'live'), 5);
    assert.equal(await viewersOf(origin.base, 'live'), 5, 'five players, each a sid and a token: 5');
    const text = await (await fetch(`${origin.base}/metrics`)).text();
    assert.match(text, /^headcount_heartbeat_viewers_active 5$/m);
    assert.ok(!sim.output.includes('error'), sim.output.slice(-2000));
    await sim.stop('SIGINT');  // a closed page sends nothing: it leaves at the timeout
    assert.equal(await cmcdSidsOf(origin.base, 'live'), 5, 'still counted right after');
  });
});

describe('serve --cmcd off', () => {
  let dir;
  let origin;
  before(async () => {
    dir = tempDir('headcount-cmcd-off-');
    writeStaticChannel(join(dir, 'hls'), 'live');
    origin = await startServe(dir, { extraArgs: ['--count', 'heartbeats', '--cmcd', 'off', '--live-timeout', '1h'] });
  });
  after(async () => {
    await Proc.stopAll();
    cleanup(dir);
  });

  test('the collector answers 404 and counts nothing', async () => {
    const r = await report(origin.base, 'live', `${hlsJsLine('s', { sta: 'p' })}\n${hlsJsLine('s', { sta: 'p', sn: 1 })}\n`);
    assert.equal(r.status, 404);
    assert.match((await r.json()).error, /--cmcd off/);
    assert.equal((await metrics(origin.base)).get('headcount_cmcd_reports_total'), 0);
  });
});
