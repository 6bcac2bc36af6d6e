// A slow store never slows the origin: `headcount serve --store dynamodb`
// in front of a DynamoDB stand-in (dynalite behind the fault proxy) that
// delays every answer by 5 s. While 8 history requests and an asked-for tick
// wait for it, segments, playlists and the fast API routes still answer in
// milliseconds (they stay on the I/O threads; store queries and ticks run on
// the worker pool). Past the cap on history queries in flight, a history
// request is answered 503 with Retry-After at once.
// While a tick runs, the store's calls share its deadline (nine tenths into
// its bucket; docs/operations.md), so each test starts early in a bucket,
// where that deadline is far beyond the stand-in's delay.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { FaultProxy } from './fault_proxy.mjs';
import {
  Proc, cleanup, fetchMediaPlaylist, sleep, startDynalite, startServe, tempDir,
} from './harness.mjs';

const STORE_DELAY_MS = 5000;
const IN_FLIGHT = 8;
// kDefaultMaxHistoryQueries (src/server/api.h).
const MAX_HISTORY_QUERIES = 16;
// Generous: on loopback these take a few milliseconds; behind a blocked I/O
// thread they would take seconds.
const FAST_MS = 500;
const SEGMENTS = 3;
const TICK_SECONDS = 30;
// Tests start in the first EARLY_SECONDS of a bucket: a tick's deadline is
// then at least 0.9 * TICK_SECONDS - EARLY_SECONDS = 15 s away.
const EARLY_SECONDS = 12;

// Waits, if needed, for the next bucket to start.
async function earlyInABucket() {
  const intoBucket = Date.now() % (TICK_SECONDS * 1000);
  if (intoBucket >= EARLY_SECONDS * 1000) await sleep(TICK_SECONDS * 1000 - intoBucket + 500);
}

// A channel folder as ffmpeg's HLS muxer leaves it, written once: a media
// playlist and its segments (bytes the origin serves as they are).
function writeChannel(root, channel) {
  const dir = join(root, channel);
  mkdirSync(dir, { recursive: true });
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0'];
  for (let i = 0; i < SEGMENTS; i++) {
    const name = `seg_${String(i).padStart(5, '0')}.ts`;
    writeFileSync(join(dir, name), Buffer.alloc(188 * 1000, i));
    lines.push('#EXTINF:2.000,', name);
  }
  writeFileSync(join(dir, 'stream.m3u8'), `${lines.join('\n')}\n`);
}

// Fetches `url` to the end of its body: { status, headers, ms, endedAt }.
async function timed(url, init) {
  const started = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(60000), ...init });
  await res.arrayBuffer();
  const endedAt = performance.now();
  return { status: res.status, headers: res.headers, ms: endedAt - started, endedAt };
}

describe('a slow store does not slow the origin', () => {
  let dir;
  let proxy;
  let serve;

  before(async () => {
    dir = tempDir();
    writeChannel(join(dir, 'hls'), 'demo');
    const dynamo = await startDynalite();
    proxy = new FaultProxy({ target: dynamo.url, service: 'dynamodb' });
    await proxy.start();
    serve = await startServe(dir, {
      tickSeconds: TICK_SECONDS,
      extraArgs: ['--store', 'dynamodb', '--table', 'viewers', '--create-table', 'true'],
      env: {
        PATH: process.env.PATH, HOME: dir, AWS_REGION: 'us-west-2',
        AWS_ACCESS_KEY_ID: 'AKIDSLOWSTORE', AWS_SECRET_ACCESS_KEY: 'slow-store-secret',
        AWS_ENDPOINT_URL_DYNAMODB: proxy.url,
        ...(process.env.ASAN_OPTIONS ? { ASAN_OPTIONS: process.env.ASAN_OPTIONS } : {}),
        ...(process.env.UBSAN_OPTIONS ? { UBSAN_OPTIONS: process.env.UBSAN_OPTIONS } : {}),
      },
    });
  });
  after(async () => {
    await proxy?.stop();
    await Proc.stopAll();
    cleanup(dir);
  });

  test(`with ${IN_FLIGHT} history queries and a tick waiting ${STORE_DELAY_MS / 1000} s on DynamoDB, segments and playlists answer in milliseconds`, async () => {
    const playlistUrl = `${serve.base}/hls/demo/stream.m3u8`;
    const media = await fetchMediaPlaylist(playlistUrl);
    const segmentUrls = media.text.split('\n').filter((l) => l && !l.startsWith('#'))
      .map((uri) => new URL(uri, media.url).href);
    assert.equal(segmentUrls.length, SEGMENTS, media.text);

    await earlyInABucket();
    const now = new Date();
    utimesSync(join(dir, 'hls', 'demo', 'stream.m3u8'), now, now);  // live: the tick stores it
    proxy.set({ kind: 'slow', phase: 'headers', delayMs: STORE_DELAY_MS });
    const fired = performance.now();
    const history = [];
    for (let i = 0; i < IN_FLIGHT; i++) {
      history.push(timed(`${serve.base}/api/channels/demo/history?since=366d`));
    }
    const tick = timed(`${serve.base}/api/tick`, { method: 'POST' });
    await sleep(1000);  // they are all waiting for the store now

    const fast = [];
    for (let round = 0; round < 5; round++) {
      fast.push(['playlist', await timed(media.url)]);
      fast.push(['multivariant playlist', await timed(playlistUrl)]);
      for (const url of segmentUrls) fast.push(['segment', await timed(url)]);
      fast.push(['/api/channels', await timed(`${serve.base}/api/channels`)]);
      fast.push(['/healthz', await timed(`${serve.base}/healthz`)]);
      fast.push(['/metrics', await timed(`${serve.base}/metrics`)]);
    }
    const measuredUntil = performance.now();
    for (const [what, r] of fast) {
      assert.equal(r.status, 200, what);
      assert.ok(r.ms < FAST_MS, `${what} took ${r.ms.toFixed(0)} ms while the store was slow`);
    }

    // The slow requests were really waiting for the store the whole time,
    // and are answered once it answers.
    for (const r of await Promise.all(history)) {
      assert.ok([200, 404].includes(r.status), `history answered ${r.status}`);
      assert.ok(r.endedAt > measuredUntil, 'a history request ended before the measurements did');
      assert.ok(r.endedAt - fired >= STORE_DELAY_MS - 100, `history took only ${(r.endedAt - fired).toFixed(0)} ms`);
    }
    const ticked = await tick;
    assert.equal(ticked.status, 200);
    assert.ok(ticked.endedAt > measuredUntil, 'the asked-for tick ended before the measurements did');
  });

  test(`past ${MAX_HISTORY_QUERIES} history queries in flight, the next is a 503 with Retry-After, at once`, async () => {
    await earlyInABucket();
    proxy.set({ kind: 'slow', phase: 'headers', delayMs: STORE_DELAY_MS });
    const held = [];
    for (let i = 0; i < MAX_HISTORY_QUERIES; i++) {
      held.push(timed(`${serve.base}/api/channels/demo/history?since=1h`));
    }
    await sleep(1000);
    const refused = await timed(`${serve.base}/api/channels/demo/history?since=1h`);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.ok(refused.ms < FAST_MS, `the 503 took ${refused.ms.toFixed(0)} ms`);

    for (const r of await Promise.all(held)) assert.ok([200, 404].includes(r.status), `history answered ${r.status}`);
    proxy.clear();
    const again = await timed(`${serve.base}/api/channels/demo/history?since=1h`);
    assert.ok([200, 404].includes(again.status), `after the burst: ${again.status}`);
    assert.equal(serve.proc.child.exitCode, null, serve.proc.output.slice(-2000));
  });
});
