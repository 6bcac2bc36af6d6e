// `headcount serve --count heartbeats` behind a CDN stand-in: nginx with
// proxy_cache (the harness's startNginxCdn), on a free port, honouring the origin's
// Cache-Control and passing the heartbeat API on with X-Forwarded-For.
// 50 simulated heartbeating players (`headcount viewers --heartbeat`) play
// through it: the API counts 50 while the origin sees about one playlist
// request per target duration, and the first viewer after a quiet spell
// gets a fresh playlist (no stale copy beyond stale-while-revalidate).
// Forged tokens and one-shot probes count 0; 1,000 tokens from one address
// stop at the cap; CORS preflights pass only for the configured origin;
// request-mode CMCD (?CMCD=) stays out of the cache key (README's nginx map).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  BIN, Proc, cleanup, sleep, startNginxCdn, startServe, startTestStream, tempDir, viewersOf, waitFor,
} from './harness.mjs';

const VIEWERS = 50;
const CAP = 100;  // --max-sessions-per-client: also the cap of heartbeat tokens
const PAGE = 'https://page.example';
const hasNginx = spawnSync('nginx', ['-v']).status === 0;

// A playlist that is live for the whole test (--live-timeout 1h) without a stream.
function writeStaticChannel(hls, channel) {
  mkdirSync(join(hls, channel), { recursive: true });
  writeFileSync(join(hls, channel, 'stream.m3u8'),
    '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_1.ts\n');
}

// The origin's count of answered requests of `route` (hls_playlist,
// hls_segment), from /metrics.
async function originRequests(base, route = 'hls_playlist') {
  const text = await (await fetch(`${base}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^headcount_http_requests_total\{([^}]*)\} (\d+)/gm)) {
    if (m[1].includes(`route="${route}"`)) n += Number(m[2]);
  }
  return n;
}

const post = (url, body, headers = {}) => fetch(url, {
  method: 'POST', body: body === undefined ? undefined : JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...headers },
});

describe('serve --count heartbeats behind a caching CDN', { skip: !hasNginx && 'nginx is not installed (nginx-light)' }, () => {
  let dir;
  let origin;
  let cdn;
  before(async () => {
    dir = tempDir('headcount-cdn-');
    const hls = join(dir, 'hls');
    await startTestStream(hls, 'live');
    writeStaticChannel(hls, 'probe');
    writeFileSync(join(hls, 'probe', 'seg_1.ts'), 'G'.repeat(188 * 4));
    writeStaticChannel(hls, 'crowd');
    // Requests come from nginx on 127.0.0.1 (trusted) or straight from this
    // test on 127.0.0.1 with a made-up X-Forwarded-For, which is believed
    // too: each "address" below is one.
    origin = await startServe(dir, {
      extraArgs: ['--count', 'heartbeats', '--trusted-proxies', '127.0.0.1,::1', '--cors-origins', PAGE,
        '--max-sessions-per-client', String(CAP), '--live-timeout', '1h'],
    });
    cdn = await startNginxCdn(join(dir, 'nginx'), origin.port);
  });
  after(async () => {
    await Proc.stopAll();
    cleanup(dir);
  });

  test(`${VIEWERS} heartbeating players through the CDN count ${VIEWERS}; the origin sees few playlist requests`, async (t) => {
    const sim = new Proc('viewers', BIN, ['viewers', '--url', `${cdn.base}/hls/live/stream.m3u8`,
      '--count', String(VIEWERS), '--ramp', '2s', '--heartbeat', '--log-level', 'warn']);
    await waitFor(`the count to reach ${VIEWERS}`, async () => (await viewersOf(origin.base, 'live')) === VIEWERS,
      { timeoutMs: 60000, intervalMs: 500 });
    // Over 10 s the players reload the playlist ~500 times (1 s target
    // duration); the CDN keeps it half a second, so the origin answers about
    // two a second.
    const before = await originRequests(origin.base);
    await sleep(10000);
    const during = (await originRequests(origin.base)) - before;
    t.diagnostic(`the origin answered ${during} playlist requests in 10 s`);
    assert.ok(during <= 40, `the origin answered ${during} playlist requests in 10 s`);
    assert.equal(await viewersOf(origin.base, 'live'), VIEWERS, 'still counted once each');
    assert.ok(!sim.output.includes('error'), sim.output.slice(-2000));
    await sim.stop('SIGINT');
  });

  test('the first viewer after a quiet spell gets a playlist no staler than the origin allows', async () => {
    // The origin says max-age=1, stale-while-revalidate=1 (1 s segments):
    // a cached copy is at most about 2 s old. A CDN serving stale while
    // updating with no bound would hand out the copy from 6 s ago, whose
    // oldest segments ffmpeg has deleted since.
    // The number of the playlist's newest segment (seg_00012.ts: 12).
    const newest = (text) => Math.max(...[...text.matchAll(/^seg_(\d+)\.ts$/gm)].map((m) => Number(m[1])));
    const url = `${cdn.base}/hls/live/stream.m3u8`;
    const first = await fetch(url);
    assert.equal(first.status, 200);
    assert.match(first.headers.get('cache-control'), /^public, max-age=1, stale-while-revalidate=1$/);
    await first.text();
    await sleep(6000);
    const onDisk = newest(readFileSync(join(dir, 'hls', 'live', 'stream.m3u8'), 'utf8'));
    const cached = newest(await (await fetch(url)).text());
    assert.ok(cached >= onDisk - 3, `the CDN served a playlist up to seg_${cached}; ffmpeg has written seg_${onDisk}`);
  });

  test('forged tokens and one-shot probes count 0', async () => {
    const api = `${origin.base}/api/channels/probe`;
    for (const token of ['A'.repeat(32), 'forged', '']) {
      assert.equal((await post(`${api}/heartbeat`, { token })).status, 403, token);
    }
    const live = (await (await post(`${origin.base}/api/channels/live/viewers`)).json()).token;
    assert.equal((await post(`${api}/heartbeat`, { token: live })).status, 403, "another channel's token");
    for (let i = 0; i < 20; i++) {  // a probe: a token and one heartbeat, never a second
      const { token } = await (await post(`${api}/viewers`, undefined, { 'x-forwarded-for': `198.51.100.${i}` })).json();
      assert.equal((await post(`${api}/heartbeat`, { token }, { 'x-forwarded-for': `198.51.100.${i}` })).status, 204);
    }
    await sleep(4500);  // two ticks
    assert.equal(await viewersOf(origin.base, 'probe'), 0);
  });

  test(`1,000 tokens from one address stop at the cap of ${CAP}`, async () => {
    const api = `${origin.base}/api/channels/crowd`;
    const from = { 'x-forwarded-for': '203.0.113.9' };
    const tokens = [];
    let limited = 0;
    for (let i = 0; i < 1000; i++) {
      const r = await post(`${api}/viewers`, undefined, from);
      if (r.status === 201) tokens.push((await r.json()).token);
      else if (r.status === 429) limited++;
      else assert.fail(`token request: HTTP ${r.status}`);
    }
    assert.ok(tokens.length >= CAP, `${tokens.length} tokens`);
    const beat = async () => {
      const codes = {};
      for (const token of tokens) {
        const { status } = await post(`${api}/heartbeat`, { token }, from);
        codes[status] = (codes[status] ?? 0) + 1;
      }
      return codes;
    };
    const first = await beat();
    assert.equal(first[204], CAP, JSON.stringify(first));
    await sleep(5500);  // the second heartbeat, at least heartbeat_s / 2 later
    const second = await beat();
    assert.equal(second[204], CAP, JSON.stringify(second));
    await waitFor(`the count to be ${CAP}`, async () => (await viewersOf(origin.base, 'crowd')) === CAP);
    // Another address is not held to this one's cap.
    const other = { 'x-forwarded-for': '203.0.113.10' };
    const { token } = await (await post(`${api}/viewers`, undefined, other)).json();
    assert.equal((await post(`${api}/heartbeat`, { token }, other)).status, 204);
    assert.ok(limited > 0 || tokens.length === 1000);
  });

  test('request-mode CMCD: media asked for with any CMCD= is one cache entry, one origin request', async () => {
    const before = await originRequests(origin.base, 'hls_segment');
    const bodies = new Set();
    for (const query of ['?CMCD=bl%3D21300%2Cbr%3D3200%2Cot%3Dv%2Csid%3D%22a%22', '',
      '?CMCD=bl%3D100%2Csid%3D%22b%22', '?CMCD=sid%3D%22c%22']) {
      const r = await fetch(`${cdn.base}/hls/probe/seg_1.ts${query}`);
      assert.equal(r.status, 200, query);
      bodies.add(await r.text());
    }
    assert.equal(bodies.size, 1, 'the same segment every time');
    // The origin counts a request once its answer is written, which may be
    // after nginx has passed the bytes on: wait for the one, then make sure
    // no second one follows.
    const served = async () => (await originRequests(origin.base, 'hls_segment')) - before;
    await waitFor('the origin to count the segment it served', async () => (await served()) >= 1);
    await sleep(300);
    assert.equal(await served(), 1);
  });

  test('CORS preflights pass only for the configured page origin, through the CDN too', async () => {
    const preflight = (base, path, origin, method = 'POST') => fetch(`${base}${path}`, {
      method: 'OPTIONS', headers: { origin, 'access-control-request-method': method },
    });
    for (const base of [origin.base, cdn.base]) {
      const ok = await preflight(base, '/api/channels/live/heartbeat', PAGE);
      assert.equal(ok.status, 204);
      assert.equal(ok.headers.get('access-control-allow-origin'), PAGE);
      assert.match(ok.headers.get('access-control-allow-headers'), /content-type/i);
      const no = await preflight(base, '/api/channels/live/heartbeat', 'https://evil.example');
      assert.equal(no.status, 403);
      assert.equal(no.headers.get('access-control-allow-origin'), null);
    }
    const script = await preflight(origin.base, '/static/overlay.js', PAGE, 'GET');
    assert.equal(script.status, 204);
    const get = await fetch(`${origin.base}/static/overlay.js`, { headers: { origin: PAGE } });
    assert.equal(get.headers.get('access-control-allow-origin'), PAGE);
    assert.match(get.headers.get('vary'), /Origin/);
    const foreign = await fetch(`${origin.base}/static/overlay.js`, { headers: { origin: 'https://evil.example' } });
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    // The stream itself, as another site's hls.js fetches it, and as a
    // request without Origin that a CDN must not serve to that page: every
    // answer says it varies by Origin.
    const cross = await fetch(`${origin.base}/hls/live/stream.m3u8`, { headers: { origin: PAGE } });
    assert.equal(cross.status, 200);
    assert.equal(cross.headers.get('access-control-allow-origin'), PAGE);
    assert.match(cross.headers.get('vary'), /Origin/);
    const plain = await fetch(`${origin.base}/hls/live/stream.m3u8`);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get('access-control-allow-origin'), null);
    assert.match(plain.headers.get('vary') ?? '', /Origin/);
  });
});
