// The player page with the Amazon IVS web player (/watch?src=<playback URL>)
// in a real browser, against a stand-in for IVS: headcount-ivs-emulator with
// --playback-dir serves an ffmpeg stream as the channel's playbackUrl and puts
// every PutMetadata into its segments as ID3 TXXX, as IVS does.
// `headcount tick --source ivs --store sqlite` publishes; the page must show
// exactly what the emulator received (GET /_emulator/metadata), in the v1 and
// the seed's formats, with gaps, go offline when the channel stops and come
// back, refuse a bad src with a message, and log no console errors. mux.js (an
// HLS demuxer that is not ours) checks the injected ID3 in a served segment.
// And headcount.js on another site's page that plays the channel with its own
// IVS player: the overlay shows the player's TEXT_METADATA_CUEs, nothing is
// reported to the heartbeat API (IVS counts its own viewers).
// Screenshot: tests/artifacts/player-ivs.png (docs/ with HEADCOUNT_DOCS_SCREENSHOTS=1).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { GetStreamCommand, IvsClient } from '@aws-sdk/client-ivs';
import muxjs from 'mux.js';

import {
  Proc, cleanup, getJson, run, startIvsEmulator, startServe, startTestStream, tempDir, waitFor,
} from '../integration/harness.mjs';
import { launchBrowser, openPage, screenshot, startSite } from './browser.mjs';
import { currentCount, decodePayload, trendLabel } from '../../web/payload.js';

const ACCESS_KEY = 'AKIDHEADCOUNTIVSPLAYER';
const SECRET = 'hcIvsPlayerSecret/xyz';
// A tick here is a process of the sanitized build: up to 1.6 s on a loaded
// 2-core machine, so a bucket leaves it room.
const TICK_SECONDS = 3;
const DOCS = new URL('../../docs/', import.meta.url).pathname;

// The ID3 TXXX values mux.js finds in a transport stream segment.
function txxxValues(bytes) {
  const packets = new muxjs.mp2t.TransportPacketStream();
  const parse = new muxjs.mp2t.TransportParseStream();
  const elementary = new muxjs.mp2t.ElementaryStream();
  const metadata = new muxjs.mp2t.MetadataStream();
  const values = [];
  packets.pipe(parse).pipe(elementary).pipe(metadata);
  metadata.on('data', (tag) => {
    for (const frame of tag.frames) if (frame.key === 'TXXX') values.push(frame.value);
  });
  packets.push(new Uint8Array(bytes));
  packets.flush();
  return values;
}

// The page another site would write: its own IVS player, and headcount.js
// attached to it from code.
function ivsSitePage(server, playbackUrl, channelArn) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Someone else's IVS page</title>
<script src="/ivs/amazon-ivs-player.min.js"></script>
</head><body style="margin:0">
<div style="position:relative;width:640px;height:360px;margin:20px">
  <video id="player" muted autoplay playsinline style="width:100%;height:100%;background:#000"></video>
</div>
<script type="module">
  import { attach } from '${server}/static/headcount.js';
  const video = document.getElementById('player');
  const player = IVSPlayer.create({
    wasmWorker: new URL('/ivs/amazon-ivs-wasmworker.min.js', location.href).href,
    wasmBinary: new URL('/ivs/amazon-ivs-wasmworker.min.wasm', location.href).href,
  });
  player.attachHTMLVideoElement(video);
  window.counter = attach(video, { ivsPlayer: player, channel: '${channelArn}' });
  player.setAutoplay(true);
  player.setMuted(true);
  player.load('${playbackUrl}');
</script>
</body></html>`;
}

describe('browser: the IVS player page against the IVS emulator', () => {
  let dir;
  let ivs;
  let channel;  // { id, arn }
  let base;
  let browser;
  let player;  // { page, errors }
  let env;
  let site;  // another site's page with its own IVS player and headcount.js
  let siteUrl;
  const outputs = [];

  const playbackUrl = () => `${ivs.url}/playback/${channel.id}.m3u8`;
  const setChannel = (body) => fetch(`${ivs.url}/_emulator/channels/${channel.id}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  // One `headcount tick` of the cloud pipeline, with `viewers` for the channel (null: a gap).
  async function tick(viewers, args = []) {
    await setChannel({ viewers: viewers === null ? -1 : viewers });
    const r = run(['tick', '--source', 'ivs', '--store', 'sqlite', '--database', join(dir, 'ivs.db'),
      '--tick-interval', `${TICK_SECONDS}s`, '--log-level', 'warn', ...args], { env });
    outputs.push(r.stdout, r.stderr);
    assert.ok(r.status === 0 || viewers === null, r.stdout + r.stderr);
    return r;
  }
  // Ticks once per bucket, in consecutive buckets, with these counts (null:
  // the source could not tell, a gap). On a loaded machine a tick can take
  // longer than a bucket, so the next one lands a bucket later and the window
  // holds an extra gap; then the whole run starts over in new buckets, which
  // replace the window.
  async function tickEach(counts, args) {
    const bucketMs = TICK_SECONDS * 1000;
    for (let attempt = 1; ; ++attempt) {
      const buckets = [];
      for (const c of counts) {
        await new Promise((r) => setTimeout(r, bucketMs - (Date.now() % bucketMs) + 50));  // the next bucket
        const r = await tick(c, args);
        buckets.push(Date.parse(JSON.parse(r.stdout).bucket));
      }
      if (buckets.every((b, i) => i === 0 || b - buckets[i - 1] === bucketMs)) return;
      assert.ok(attempt < 3, `ticks in consecutive buckets, three times in a row not: ${buckets.map((b) => new Date(b).toISOString())}`);
    }
  }
  const lastSent = async () => (await getJson(`${ivs.url}/_emulator/metadata?channelArn=${encodeURIComponent(channel.arn)}`)).at(-1);
  const shown = () => player.page.evaluate(() => {
    const o = document.getElementById('overlay');
    return {
      ...o.dataset,
      hidden: o.hidden,
      countText: document.getElementById('count').textContent,
      badgeText: document.getElementById('badge').textContent,
      bars: [...document.querySelectorAll('#bars li')].map((li) => li.dataset.count),
      status: document.getElementById('status-text').textContent,
      statusState: document.getElementById('status').dataset.state,
    };
  });
  // Waits until the page shows the payload the emulator received last, and checks every part of it.
  async function assertShowsLastSent(format) {
    const sent = await lastSent();
    const decoded = decodePayload(sent.metadata);
    assert.ok(decoded.ok, decoded.error);
    const want = decoded.payload;
    const page = await waitFor(`the page to show ${sent.metadata}`, async () => {
      const s = await shown();
      return s.format === format && s.m === JSON.stringify(want.m) && s.trend === want.trend ? s : false;
    }, { timeoutMs: 30000, intervalMs: 200 });
    assert.equal(page.source, 'ivs-cue');
    assert.equal(page.countText, String(currentCount(want.m)));
    assert.deepEqual(page.bars, want.m.map((c) => (c === null ? '' : String(c))), 'five bars, gaps as gaps');
    assert.equal(page.badgeText, trendLabel(want.trend));
    assert.equal(page.badgeText === 'heating up', want.trend === 'rising');
    return { page, sent, want };
  }

  before(async () => {
    dir = tempDir('headcount-ivs-player-');
    mkdirSync(join(dir, 'hls'));
    mkdirSync(join(dir, 'playback'));
    ivs = await startIvsEmulator({
      channels: 1, offlineFraction: 0, viewers: 10, accessKeyId: ACCESS_KEY, secretAccessKey: SECRET,
      extra: ['--playback-dir', join(dir, 'playback')],
    });
    [channel] = await getJson(`${ivs.url}/_emulator/channels`);
    await startTestStream(join(dir, 'playback'), channel.id);
    site = await startSite(async (url) => {
      // The site hosts the IVS player itself (a copy of the one headcount serves).
      const asset = url.match(/^\/ivs\/(amazon-ivs-[a-z.-]+\.(?:js|wasm))$/)?.[1];
      if (asset) {
        const r = await fetch(`${base}/static/${asset}`);
        return { status: r.status, type: r.headers.get('content-type'), body: Buffer.from(await r.arrayBuffer()) };
      }
      return { body: ivsSitePage(base, playbackUrl(), channel.arn) };
    });
    siteUrl = site.url;
    ({ base } = await startServe(dir, { extraArgs: ['--cors-origins', siteUrl] }));
    env = {
      PATH: process.env.PATH, HOME: dir,
      AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: 'us-west-2',
      AWS_ENDPOINT_URL_IVS: ivs.url,
    };
    browser = await launchBrowser();
    // The IVS player also calls IVS's own services (PoP discovery, device
    // configuration, playback statistics) on *.live-video.net, which this
    // machine cannot reach: a stand-in answers them with an empty JSON object,
    // as they would answer a player they have nothing for.
    await browser.context.route(/^https:\/\/[^/]+\.live-video\.net\//, (route) => route.fulfill({
      status: 200, contentType: 'application/json', body: '{}', headers: { 'access-control-allow-origin': '*' },
    }));
  });
  after(async () => {
    await browser?.close();
    site?.close();
    await Proc.stopAll();
    cleanup(dir);
  });

  test('the emulator plays the channel at its playbackUrl, with each PutMetadata as ID3 in the next segment', async () => {
    const r = run(['tick', '--source', 'ivs', '--store', 'sqlite', '--database', join(dir, 'probe.db'),
      '--tick-interval', `${TICK_SECONDS}s`, '--log-level', 'warn'], { env });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const sent = await lastSent();
    // mux.js finds it in a segment the playlist lists after the call.
    const found = await waitFor('a served segment with the payload as ID3 TXXX', async () => {
      const playlist = await (await fetch(playbackUrl())).text();
      for (const uri of playlist.split('\n').filter((l) => l && !l.startsWith('#'))) {
        const res = await fetch(new URL(uri, playbackUrl()));
        if (!res.ok) continue;
        const values = txxxValues(await res.arrayBuffer());
        if (values.length) return values;
      }
      return false;
    }, { timeoutMs: 15000, intervalMs: 500 });
    assert.deepEqual(found, [sent.metadata]);
    // GetStream's playbackUrl is that route.
    const client = new IvsClient({ region: 'us-west-2', endpoint: ivs.url, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET } });
    const { stream } = await client.send(new GetStreamCommand({ channelArn: channel.arn }));
    assert.equal(stream.playbackUrl, playbackUrl());
  });

  test('v1: the overlay shows the count, the bars with a gap and the trend that the tick published', async () => {
    player = await openPage(browser.context, `${base}/watch?src=${encodeURIComponent(playbackUrl())}`);
    await waitFor('the IVS player to play', async () => (await shown()).statusState === 'playing', { timeoutMs: 30000 });
    await tickEach([10, 14, null, 22, 27]);
    const { want } = await assertShowsLastSent('v1');
    assert.equal(want.m[2], null, 'the bucket with no count is a gap');
    assert.equal(want.trend, 'rising');
    const page = await shown();
    assert.equal(page.badgeText, 'heating up');
    const path = await screenshot(player.page, 'player-ivs.png');
    if (process.env.HEADCOUNT_DOCS_SCREENSHOTS === '1') copyFileSync(path, join(DOCS, 'player-ivs.png'));
    // Readable on a phone: the overlay fits in a 390 px wide screen.
    await player.page.setViewportSize({ width: 390, height: 844 });
    const box = await player.page.locator('#overlay').boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `overlay inside the screen: ${JSON.stringify(box)}`);
    await screenshot(player.page, 'player-ivs-phone.png');
    await player.page.setViewportSize({ width: 1280, height: 800 });
    assert.deepEqual(player.errors, []);
  });

  test("the seed's format (counts newest first) shows the same way, trend by the same rule", async () => {
    await tickEach([25, 20], ['--metadata-format', 'seed']);
    const { want } = await assertShowsLastSent('seed');
    assert.equal(currentCount(want.m), 20);
    assert.deepEqual(player.errors, []);
  });

  test('the channel goes offline and comes back: the page says so and picks it up again', async () => {
    await setChannel({ state: 'OFFLINE' });
    await waitFor('the page to say offline', async () => (await shown()).statusState === 'offline', { timeoutMs: 30000 });
    assert.match((await shown()).status, /Offline/);
    await setChannel({ state: 'LIVE' });
    // A new IVS player joins the stream where it is now, as a late viewer does.
    await waitFor('the page to play again', async () => (await shown()).statusState === 'playing', { timeoutMs: 30000 });
    await tickEach([31]);
    await assertShowsLastSent('v1');
    // While the channel was offline IVS answered 404: the browser and the IVS
    // player log those loads as errors; nothing else may be logged.
    const unexpected = player.errors.filter((e) => !/status of 404|code 404/.test(e));
    assert.deepEqual(unexpected, []);
  });

  test('a bad src shows a clear message, never as HTML, and plays nothing', async () => {
    for (const [src, why] of [
      ['javascript:alert(1)//.m3u8', /https:\/\//],
      ['<img src=x onerror=alert(1)>', /not a full URL/],
      ['https://example.com/video.mp4', /\.m3u8/],
      [null, /No stream/],
    ]) {
      const url = src === null ? `${base}/watch` : `${base}/watch?src=${encodeURIComponent(src)}`;
      const bad = await openPage(browser.context, url);
      // The page decides once its scripts have run (later on a busy machine).
      await bad.page.waitForFunction(() => document.getElementById('status').dataset.state !== 'loading');
      const s = await bad.page.evaluate(() => ({
        status: document.getElementById('status-text').textContent,
        state: document.getElementById('status').dataset.state,
        overlayHidden: document.getElementById('overlay').hidden,
        images: document.querySelectorAll('img').length,
        video: document.getElementById('video').currentSrc,
      }));
      assert.equal(s.state, 'error', src);
      assert.match(s.status, why, src);
      assert.equal(s.overlayHidden, true);
      assert.equal(s.images, 0, 'the src was not parsed as HTML');
      assert.equal(s.video, '');
      assert.deepEqual(bad.errors, [], src);
      await bad.page.close();
    }
  });

  test("headcount.js over another site's IVS player shows the published payload and reports no viewer", async () => {
    const { page, errors } = await openPage(browser.context, `${siteUrl}/`);
    const reports = [];
    page.on('request', (r) => {
      if (/\/api\/channels\/[^/]+\/(viewers|heartbeat)$/.test(new URL(r.url()).pathname)) reports.push(r.url());
    });
    const overlay = () => page.evaluate(() => {
      const hosts = document.querySelectorAll('[data-headcount]');
      const o = hosts[0]?.shadowRoot?.querySelector('.overlay');
      return { hosts: hosts.length, ...(o?.dataset ?? {}) };
    });
    await waitFor('the IVS player to play', () => page.evaluate(() => {
      const v = document.getElementById('player');
      return !v.paused && v.currentTime > 0;
    }), { timeoutMs: 30000 });
    await tickEach([12, 17]);
    const sent = await lastSent();
    const want = decodePayload(sent.metadata).payload;
    const shown = await waitFor(`the overlay to show ${sent.metadata}`, async () => {
      const o = await overlay();
      return o.source === 'ivs-cue' && o.m === JSON.stringify(want.m) && o.trend === want.trend ? o : false;
    }, { timeoutMs: 30000, intervalMs: 200 });
    assert.equal(shown.hosts, 1);
    assert.equal(shown.count, String(currentCount(want.m)));
    await screenshot(page, 'headcount-js-ivs.png');
    // A non-player and a bad ARN are refused where the page can see it.
    const refused = await page.evaluate(async (server) => {
      const { attach } = await import(`${server}/static/headcount.js`);
      const tryAttach = (options) => {
        try {
          attach(document.createElement('video'), options);
          return 'accepted';
        } catch (e) {
          return e.message;
        }
      };
      const player = { addEventListener() {}, removeEventListener() {} };
      return [tryAttach({ ivsPlayer: {} }), tryAttach({ ivsPlayer: player, channel: 'arn:aws:ivs:x' }),
        tryAttach({ ivsPlayer: player, channel: 'live' })];
    }, base);
    assert.match(refused[0], /must be an Amazon IVS player/);
    assert.match(refused[1], /"arn:aws:ivs:x" is not an IVS channel ARN/);
    assert.match(refused[2], /"live" is not an IVS channel ARN/);
    // detach() takes the overlay off; the player plays on.
    assert.equal(await page.evaluate(() => {
      window.counter.detach();
      return document.querySelectorAll('[data-headcount]').length;
    }), 0);
    assert.deepEqual(reports, [], 'IVS counts its viewers: headcount.js reports none');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
