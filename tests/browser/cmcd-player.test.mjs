// A page that no part of headcount serves, with stock hls.js 1.7 and a few
// lines of CMCD v2 config pointing an event target at the collector, and no
// script of ours: a static server started here serves it from another
// origin, and it plays the origin's stream (its media requests carry
// request-mode CMCD, ?CMCD=, which the origin serves as without it). The API
// and the stream's own EXT-X-DATERANGE payload count the playing page once,
// pausing it leaves at once, closing it after --cmcd-timeout, and the page
// logs no errors. /watch counts itself the same way (and leaves at once when
// closed), and headcount.js on a page whose player reports CMCD here sends
// no heartbeats of its own. With request-mode CMCD in headers (useHeaders),
// the page's media requests are preflighted and allowed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';

import {
  Proc, cleanup, fetchMediaPlaylist, freePort, getJson, headcountDateRanges, startServe, startTestStream,
  tempDir, waitFor,
} from '../integration/harness.mjs';
import { launchBrowser, openPage, screenshot } from './browser.mjs';

// What README's "Counted by the player's own CMCD reports" tells a site to
// write (a shorter interval, so the test sees a time-interval report).
function cmcdPage(server, { withHeadcountJs = false, useHeaders = false } = {}) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>A page with its own hls.js</title>
<script src="${server}/static/hls.min.js"></script>
${withHeadcountJs ? `<script type="module" src="${server}/static/headcount.js" data-channel="live" data-video="#player"></script>` : ''}
</head><body style="margin:0">
<video id="player" muted autoplay playsinline controls width="640" height="360"></video>
<script>
  const video = document.getElementById('player');
  const hls = new Hls({
    cmcd: {
      version: 2,
      contentId: 'live',${useHeaders ? '\n      useHeaders: true,' : ''}
      eventTargets: [{ url: '${server}/api/channels/live/cmcd', events: ['ps', 't'], interval: 3 }],
    },
  });
  hls.loadSource('${server}/hls/live/stream.m3u8');
  hls.attachMedia(video);
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play());
</script>
</body></html>`;
}

async function viewersOf(base, channel) {
  const { channels } = await getJson(`${base}/api/channels`);
  return channels.find((c) => c.id === channel)?.viewers;
}

async function sidsOf(base, channel) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^headcount_cmcd_active_sids\\{channel="${channel}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe('browser: hls.js 1.7 reporting CMCD v2 events to the collector, no script of ours', () => {
  let dir;
  let base;
  let site;
  let siteUrl;
  let browser;

  before(async () => {
    dir = tempDir('headcount-cmcd-browser-');
    const sitePort = await freePort();
    siteUrl = `http://127.0.0.1:${sitePort}`;
    await startTestStream(join(dir, 'hls'), 'live');
    ({ base } = await startServe(dir, {
      tickSeconds: 2,
      // 127.0.0.1 and localhost are two origins to the browser.
      extraArgs: ['--count', 'heartbeats', '--cors-origins', siteUrl, '--cmcd-timeout', '8s'],
    }));
    base = base.replace('127.0.0.1', 'localhost');
    site = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(cmcdPage(base, { withHeadcountJs: req.url === '/with-headcount-js', useHeaders: req.url === '/use-headers' }));
    });
    await new Promise((resolve) => site.listen(sitePort, '127.0.0.1', resolve));
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    site?.close();
    await Proc.stopAll();
    cleanup(dir);
  });

  test('the playing page is counted once, in the API and the stream, and leaves when paused', async () => {
    const mediaQueries = [];
    const onRequest = (req) => {
      if (req.url().includes('/hls/')) mediaQueries.push(new URL(req.url()).searchParams.get('CMCD'));
    };
    browser.context.on('request', onRequest);  // from the first request on
    const { page, errors } = await openPage(browser.context, `${siteUrl}/`);
    await waitFor('the page\'s sid to count', async () => (await sidsOf(base, 'live')) === 1,
      { timeoutMs: 60000, intervalMs: 250 });
    await waitFor('the API to count the page once', async () => (await viewersOf(base, 'live')) === 1,
      { timeoutMs: 20000, intervalMs: 250 });
    await waitFor('the stream\'s payload to say 1', async () => {
      const [range] = headcountDateRanges((await fetchMediaPlaylist(`${base}/hls/live/stream.m3u8`)).text);
      return range?.payload.m.at(-1) === 1;
    }, { timeoutMs: 20000, intervalMs: 250 });
    assert.ok(await page.evaluate(() => !document.getElementById('player').paused), 'playing');
    assert.ok(mediaQueries.some((q) => q?.includes('sid=')), `request-mode CMCD on media requests: ${mediaQueries.slice(0, 3)}`);
    browser.context.off('request', onRequest);
    await screenshot(page, 'cmcd-hlsjs.png');

    // Pausing sends e=ps,sta=a at once: the page leaves the count without
    // waiting for --cmcd-timeout.
    await page.evaluate(() => document.getElementById('player').pause());
    await waitFor('the paused page to leave', async () => (await sidsOf(base, 'live')) === 0,
      { timeoutMs: 5000, intervalMs: 100 });
    await waitFor('the API to count 0', async () => (await viewersOf(base, 'live')) === 0,
      { timeoutMs: 10000, intervalMs: 250 });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('/watch counts itself by hls.js\'s CMCD reports, not heartbeats, keeps its media URLs, and leaves at once when closed', async () => {
    const api = [];
    const media = [];
    const onRequest = (req) => {
      const url = new URL(req.url());
      if (url.pathname.startsWith('/api/channels/live/')) api.push(`${req.method()} ${url.pathname}`);
      if (url.pathname.startsWith('/hls/')) media.push(url.search);
    };
    browser.context.on('request', onRequest);
    const { page, errors } = await openPage(browser.context, `${base}/watch/live`);
    await waitFor('the page\'s sid to count', async () => (await sidsOf(base, 'live')) === 1,
      { timeoutMs: 60000, intervalMs: 250 });
    await waitFor('the API to count the page once', async () => (await viewersOf(base, 'live')) === 1,
      { timeoutMs: 20000, intervalMs: 250 });
    assert.ok(api.includes('POST /api/channels/live/cmcd'), api.join(', '));
    assert.ok(!api.some((r) => /\/(viewers|heartbeat)$/.test(r)), `no heartbeats: ${api.join(', ')}`);
    assert.ok(media.length > 0 && media.every((q) => !q.includes('CMCD')), `media URLs: ${media.slice(0, 3)}`);
    assert.deepEqual(errors, []);
    browser.context.off('request', onRequest);
    await page.close({ runBeforeUnload: true });  // pagehide: a last report, sta=q
    await waitFor('the closed page to leave at once', async () => (await sidsOf(base, 'live')) === 0,
      { timeoutMs: 3000, intervalMs: 100 });
  });

  test('headcount.js on a page whose hls.js reports CMCD here sends no heartbeats: one viewer, one protocol', async () => {
    const api = [];
    const onRequest = (req) => {
      const url = new URL(req.url());
      if (url.pathname.startsWith('/api/channels/live/')) api.push(`${req.method()} ${url.pathname} ${req.postData() ?? ''}`);
    };
    browser.context.on('request', onRequest);
    const { page, errors } = await openPage(browser.context, `${siteUrl}/with-headcount-js`);
    await waitFor('the page\'s sid to count', async () => (await sidsOf(base, 'live')) === 1,
      { timeoutMs: 60000, intervalMs: 250 });
    await waitFor('the overlay to show the count', () => page.evaluate(() => {
      const o = document.querySelector('[data-headcount]')?.shadowRoot?.querySelector('.overlay');
      return o?.dataset.count === '1';
    }), { timeoutMs: 30000, intervalMs: 250 });
    await new Promise((r) => setTimeout(r, 12000));  // a heartbeating page would send two in this time
    browser.context.off('request', onRequest);
    const beats = api.filter((r) => r.includes('/heartbeat') && !r.includes('"left":true'));
    assert.ok(beats.length <= 1, `heartbeats: ${beats.join('; ')}`);
    assert.ok(api.some((r) => r.startsWith('POST /api/channels/live/cmcd')), api.join('; '));
    assert.equal(await viewersOf(base, 'live'), 1);
    assert.deepEqual(errors, []);
    await page.evaluate(() => document.getElementById('player').pause());
    await waitFor('the paused page to leave', async () => (await sidsOf(base, 'live')) === 0,
      { timeoutMs: 5000, intervalMs: 100 });
    await page.close();
  });

  test('request-mode CMCD in headers (useHeaders): the cross-origin media requests are preflighted, allowed and played', async () => {
    const cmcdHeaders = [];
    const onRequest = (req) => {
      if (new URL(req.url()).pathname.startsWith('/hls/')) cmcdHeaders.push(req.headers()['cmcd-session'] ?? null);
    };
    browser.context.on('request', onRequest);
    const { page, errors } = await openPage(browser.context, `${siteUrl}/use-headers`);
    await waitFor('the page\'s sid to count', async () => (await sidsOf(base, 'live')) === 1,
      { timeoutMs: 60000, intervalMs: 250 });
    await waitFor('media to play', () => page.evaluate(() => document.getElementById('player').currentTime > 1),
      { timeoutMs: 30000, intervalMs: 250 });
    browser.context.off('request', onRequest);
    assert.ok(cmcdHeaders.some((h) => h?.includes('sid=')), `CMCD-Session on media requests: ${cmcdHeaders.slice(0, 3)}`);
    assert.deepEqual(errors, []);
    await page.evaluate(() => document.getElementById('player').pause());
    await waitFor('the paused page to leave', async () => (await sidsOf(base, 'live')) === 0,
      { timeoutMs: 5000, intervalMs: 100 });
    await page.close();
  });

  test('a closed page, which sends nothing, leaves after --cmcd-timeout', async () => {
    const { page, errors } = await openPage(browser.context, `${siteUrl}/`);
    await waitFor('the page\'s sid to count', async () => (await sidsOf(base, 'live')) === 1,
      { timeoutMs: 60000, intervalMs: 250 });
    assert.deepEqual(errors, []);
    await page.close();
    assert.equal(await sidsOf(base, 'live'), 1, 'still counted right after');
    await waitFor('the closed page to time out', async () => (await sidsOf(base, 'live')) === 0,
      { timeoutMs: 14000, intervalMs: 250 });
  });
});
