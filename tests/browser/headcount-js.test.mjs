// headcount.js on a page that no part of headcount serves: a static server
// started here, on another origin, serves a page that plays the origin's
// stream with its own hls.js and loads headcount.js with one script tag.
// The overlay over the page's video shows the stream's payload, the API
// counts the playing page once (from its heartbeats: serve runs with
// --count heartbeats), and pausing or closing it lets it leave. The page
// logs no errors. The same page with video.js (npm video.js, a dev
// dependency; HEADCOUNT_VIDEOJS_DIR names another dist/ folder) instead of hls.js.
// And a page whose stream carries no metadata (the site serves ffmpeg's files
// itself): the overlay follows the server's tick events (/api/events), not
// polling, and shows what /api/channels says.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  Proc, cleanup, getJson, startServe, startTestStream, tempDir, viewersOf, waitFor,
} from '../integration/harness.mjs';
import { launchBrowser, openPage, screenshot, startSite } from './browser.mjs';

const TICK_SECONDS = 2;

// The page another site would write: its own player, and one script tag.
function hlsJsPage(server) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Someone else's page</title>
<script src="${server}/static/hls.min.js"></script>
<script type="module" src="${server}/static/headcount.js" data-channel="live" data-video="#player"></script>
<!-- loaded twice: it must still count and draw once -->
<script type="module" src="${server}/static/headcount.js" data-channel="live" data-video="#player"></script>
</head><body style="margin:0">
<div style="position:relative;width:640px;height:360px;margin:20px">
  <video id="player" muted autoplay playsinline controls style="width:100%;height:100%;background:#000"></video>
</div>
<script type="module">
  const video = document.getElementById('player');
  const hls = new Hls({ enableDateRangeMetadataCues: true });
  hls.loadSource('${server}/hls/live/stream.m3u8');
  hls.attachMedia(video);
  // A pause before playback starts rejects play() (AbortError): nothing to report.
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
</script>
</body></html>`;
}

// video.js from npm (`video.js`); HEADCOUNT_VIDEOJS_DIR names another copy.
const VIDEOJS_DIR = process.env.HEADCOUNT_VIDEOJS_DIR
  ?? new URL('../../node_modules/video.js/dist/', import.meta.url).pathname;
const hasVideoJs = existsSync(join(VIDEOJS_DIR, 'video.min.js'));

// The same with video.js (its VHS plays HLS in Chrome; its emulated text
// tracks carry the metadata cues), its files served by the site itself.
function videoJsPage(server) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>A video.js page</title>
<link rel="stylesheet" href="/vjs/video-js.min.css">
<script src="/vjs/video.min.js"></script>
</head><body style="margin:0">
<video-js id="player" class="video-js" muted autoplay playsinline controls width="640" height="360"></video-js>
<script>
  videojs('player', { muted: true, autoplay: true }).src({ src: '${server}/hls/live/stream.m3u8', type: 'application/x-mpegURL' });
</script>
<script type="module" src="${server}/static/headcount.js" data-channel="live" data-video="#player video"></script>
</body></html>`;
}

describe('browser: headcount.js on another site\'s hls.js page', () => {
  let dir;
  let base;
  let site;
  let siteUrl;
  let browser;

  before(async () => {
    dir = tempDir('headcount-js-');
    site = await startSite(async (url) => {
      // The site's own copy of the stream: ffmpeg's files, no headcount metadata.
      const own = url.match(/^\/own\/(stream\.m3u8|[A-Za-z0-9_]+\.ts)$/)?.[1];
      if (own) {
        try {
          return {
            type: own.endsWith('.ts') ? 'video/mp2t' : 'application/vnd.apple.mpegurl',
            headers: { 'cache-control': 'no-store' },
            body: readFileSync(join(dir, 'hls', 'live', own)),
          };
        } catch {
          return { status: 404, type: 'text/plain', body: '' };
        }
      }
      if (url === '/own') return { body: hlsJsPage(base).replace(`${base}/hls/live/stream.m3u8`, '/own/stream.m3u8') };
      const file = url.match(/^\/vjs\/(video\.min\.js|video-js\.min\.css)$/)?.[1];
      if (file && hasVideoJs) {
        return { type: file.endsWith('.js') ? 'text/javascript' : 'text/css', body: readFileSync(join(VIDEOJS_DIR, file)) };
      }
      return { body: url === '/videojs' ? videoJsPage(base) : hlsJsPage(base) };
    });
    siteUrl = site.url;
    await startTestStream(join(dir, 'hls'), 'live');
    ({ base } = await startServe(dir, {
      tickSeconds: TICK_SECONDS,
      // 127.0.0.1 and localhost are two origins to the browser.
      extraArgs: ['--count', 'heartbeats', '--cors-origins', siteUrl],
    }));
    base = base.replace('127.0.0.1', 'localhost');
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    site?.close();
    await Proc.stopAll();
    cleanup(dir);
  });

  test('the playing page is counted once, shows the stream\'s payload, and leaves when paused', async () => {
    const { page, errors } = await openPage(browser.context, `${siteUrl}/`);
    const overlay = () => page.evaluate(() => {
      const hosts = document.querySelectorAll('[data-headcount]');
      const o = hosts[0]?.shadowRoot?.querySelector('.overlay');
      return { hosts: hosts.length, ...(o?.dataset ?? {}), hasData: o?.classList.contains('has-data') ?? false };
    });
    await waitFor('the page to be counted once', async () => (await viewersOf(base, 'live')) === 1,
      { timeoutMs: 60000, intervalMs: 500 });
    const shown = await waitFor('the overlay to show the stream\'s payload with the count', async () => {
      const o = await overlay();
      // From the stream: a DATERANGE cue or the ID3 frame in a segment.
      return o.hasData && ['daterange', 'id3'].includes(o.source) && o.count === '1' ? o : false;
    }, { timeoutMs: 30000, intervalMs: 250 });
    assert.equal(shown.hosts, 1, 'loaded twice, drawn once');
    await screenshot(page, 'headcount-js-hlsjs.png');

    await page.evaluate(() => document.getElementById('player').pause());
    await waitFor('the paused page to leave the count', async () => (await viewersOf(base, 'live')) === 0,
      { timeoutMs: 15000, intervalMs: 250 });
    assert.deepEqual(errors, []);

    // detach() removes the overlay and everything else it added.
    const left = await page.evaluate(async (server) => {
      const { attach } = await import(`${server}/static/headcount.js`);
      attach(document.getElementById('player'), { channel: 'live' }).detach();
      return document.querySelectorAll('[data-headcount]').length;
    }, base);
    assert.equal(left, 0);
    await page.close();
  });

  test('closing the page lets it leave at once (sendBeacon on pagehide)', async () => {
    const { page, errors } = await openPage(browser.context, `${siteUrl}/`);
    await waitFor('the page to be counted', async () => (await viewersOf(base, 'live')) === 1,
      { timeoutMs: 60000, intervalMs: 500 });
    assert.deepEqual(errors, []);
    await page.close({ runBeforeUnload: true });
    // Well before the 30 s a silent viewer takes to expire.
    await waitFor('the closed page to leave the count', async () => (await viewersOf(base, 'live')) === 0,
      { timeoutMs: 10000, intervalMs: 250 });
  });

  test('video.js: the playing page is counted once and shows the stream\'s payload', async () => {
    assert.ok(hasVideoJs, `video.js is in ${VIDEOJS_DIR} (package.json; scripts/setup runs npm ci)`);
    await waitFor('the count to be 0 again', async () => (await viewersOf(base, 'live')) === 0, { timeoutMs: 40000 });
    const { page, errors } = await openPage(browser.context, `${siteUrl}/videojs`);
    await waitFor('the video.js page to be counted once', async () => (await viewersOf(base, 'live')) === 1,
      { timeoutMs: 60000, intervalMs: 500 });
    await waitFor('the overlay to show the stream\'s payload', async () => {
      const o = await page.evaluate(() => {
        const overlay = document.querySelector('[data-headcount]')?.shadowRoot?.querySelector('.overlay');
        return { ...(overlay?.dataset ?? {}), hasData: overlay?.classList.contains('has-data') ?? false };
      });
      return o.hasData && ['daterange', 'id3'].includes(o.source) && o.count === '1' ? o : false;
    }, { timeoutMs: 30000, intervalMs: 250 });
    await screenshot(page, 'headcount-js-videojs.png');
    await page.evaluate(() => document.querySelector('#player video').pause());
    await waitFor('the paused page to leave the count', async () => (await viewersOf(base, 'live')) === 0,
      { timeoutMs: 15000, intervalMs: 250 });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a stream with no metadata: the overlay follows the tick events, with no polling', async () => {
    const { page, errors } = await openPage(browser.context, `${siteUrl}/own`);
    const polls = [];
    const streams = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.pathname === '/api/channels') polls.push(r.url());
      if (url.pathname === '/api/events') streams.push(url.search);
    });
    const shown = await waitFor('the overlay to show the API\'s counts', async () => {
      const o = await page.evaluate(() => {
        const overlay = document.querySelector('[data-headcount]')?.shadowRoot?.querySelector('.overlay');
        return { ...(overlay?.dataset ?? {}) };
      });
      if (o.source !== 'api') return false;
      const api = (await getJson(`${base}/api/channels`)).channels.find((c) => c.id === 'live');
      return o.m === JSON.stringify(api.buckets.map((b) => b.viewers)) ? o : false;
    }, { timeoutMs: 40000, intervalMs: 250 });
    assert.equal(shown.source, 'api');
    assert.deepEqual(streams, ['?channel=live'], 'one event stream, for its channel');
    assert.deepEqual(polls, [], 'no polling of /api/channels');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
