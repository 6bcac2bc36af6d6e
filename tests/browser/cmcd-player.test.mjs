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
//
// The same site serves a page with Shaka Player 5 (npm shaka-player, its
// compiled build as a site ships it) and a CMCD v2 event target at the
// collector: counted once in the API and the stream, gone after
// --cmcd-timeout once closed. Shaka 5.2 sends time-interval reports only,
// with no play state, paused or not, so a paused Shaka page counts until it
// closes (README, "Counted by the player's own CMCD reports"); should a
// later Shaka report its pause (sta=a), the page must leave at once, as
// hls.js's does.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import {
  Proc, cleanup, cmcdSidsOf, fetchMediaPlaylist, headcountDateRanges, startServe, startTestStream,
  tempDir, viewersOf, waitFor,
} from '../integration/harness.mjs';
import { cmcdHlsJsPage, launchBrowser, openPage, screenshot, startSite } from './browser.mjs';

const SHAKA = createRequire(import.meta.url).resolve('shaka-player/dist/shaka-player.compiled.js');

// What README's "Counted by the player's own CMCD reports" tells a Shaka
// site to write (a shorter interval, so the test sees time-interval reports).
function shakaPage(server) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>A page with its own Shaka Player</title>
<script src="/shaka-player.compiled.js"></script>
</head><body style="margin:0">
<video id="player" muted autoplay playsinline controls width="640" height="360"></video>
<script>
  (async () => {
    shaka.polyfill.installAll();
    const video = document.getElementById('player');
    const player = new shaka.Player();
    await player.attach(video);
    player.configure({
      cmcd: {
        enabled: true,
        version: 2,
        contentId: 'live',
        eventTargets: [{ url: '${server}/api/channels/live/cmcd', events: ['ps', 't'], interval: 3 }],
      },
    });
    await player.load('${server}/hls/live/stream.m3u8');
    await video.play();
  })().catch((e) => console.error('shaka:', e?.code, e?.message ?? e));
</script>
</body></html>`;
}

describe('browser: hls.js 1.7 and Shaka Player 5 reporting CMCD v2 events to the collector, no script of ours', () => {
  let dir;
  let base;
  let site;
  let siteUrl;
  let browser;

  // Waits until the page's sid counts, once, in the API and in the stream's
  // payload, and its video plays: a player counts from sta=s (starting), and
  // pausing before play() has resolved would reject it (AbortError).
  async function countedOnceAndPlaying(page) {
    await waitFor('the page\'s sid to count', async () => (await cmcdSidsOf(base, 'live')) === 1,
      { timeoutMs: 60000, intervalMs: 250 });
    await waitFor('the API to count the page once', async () => (await viewersOf(base, 'live')) === 1,
      { timeoutMs: 20000, intervalMs: 250 });
    await waitFor('the stream\'s payload to say 1', async () => {
      const [range] = headcountDateRanges((await fetchMediaPlaylist(`${base}/hls/live/stream.m3u8`)).text);
      return range?.payload.m.at(-1) === 1;
    }, { timeoutMs: 20000, intervalMs: 250 });
    await waitFor('the video to play', () => page.evaluate(() => document.getElementById('player').currentTime > 0.5),
      { timeoutMs: 20000, intervalMs: 250 });
  }

  before(async () => {
    dir = tempDir('headcount-cmcd-browser-');
    const shaka = readFileSync(SHAKA);
    site = await startSite(async (url) => {
      if (url === '/shaka-player.compiled.js') return { type: 'text/javascript', body: shaka };
      if (url === '/shaka') return { body: shakaPage(base) };
      return { body: cmcdHlsJsPage(base, { withHeadcountJs: url === '/with-headcount-js', useHeaders: url === '/use-headers' }) };
    });
    siteUrl = site.url;
    await startTestStream(join(dir, 'hls'), 'live');
    ({ base } = await startServe(dir, {
      tickSeconds: 2,
      // 127.0.0.1 and localhost are two origins to the browser.
      extraArgs: ['--count', 'heartbeats', '--cors-origins', siteUrl, '--cmcd-timeout', '8s'],
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

  test('the playing page is counted once, in the API and the stream, and leaves when paused', async (t) => {
    const mediaQueries = [];
    const onRequest = (req) => {
      if (req.url().includes('/hls/')) mediaQueries.push(new URL(req.url()).searchParams.get('CMCD'));
    };
    browser.context.on('request', onRequest);  // from the first request on
    const { page, errors } = await openPage(browser.context, `${siteUrl}/`);
    t.after(() => page.close());  // also when the test fails: no page outlives its test
    await countedOnceAndPlaying(page);
    assert.ok(mediaQueries.some((q) => q?.includes('sid=')), `request-mode CMCD on media requests: ${mediaQueries.slice(0, 3)}`);
    browser.context.off('request', onRequest);
    await screenshot(page, 'cmcd-hlsjs.png');

    // Pausing sends e=ps,sta=a at once: the page leaves the count without
    // waiting for --cmcd-timeout.
    await page.evaluate(() => document.getElementById('player').pause());
    await waitFor('the paused page to leave', async () => (await cmcdSidsOf(base, 'live')) === 0,
      { timeoutMs: 5000, intervalMs: 100 });
    await waitFor('the API to count 0', async () => (await viewersOf(base, 'live')) === 0,
      { timeoutMs: 10000, intervalMs: 250 });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('/watch counts itself by hls.js\'s CMCD reports, not heartbeats, keeps its media URLs, and leaves at once when closed', async (t) => {
    const api = [];
    const media = [];
    const onRequest = (req) => {
      const url = new URL(req.url());
      if (url.pathname.startsWith('/api/channels/live/')) api.push(`${req.method()} ${url.pathname}`);
      if (url.pathname.startsWith('/hls/')) media.push(url.search);
    };
    browser.context.on('request', onRequest);
    const { page, errors } = await openPage(browser.context, `${base}/watch/live`);
    t.after(() => page.close());  // also when the test fails: no page outlives its test
    await waitFor('the page\'s sid to count', async () => (await cmcdSidsOf(base, 'live')) === 1,
      { timeoutMs: 60000, intervalMs: 250 });
    await waitFor('the API to count the page once', async () => (await viewersOf(base, 'live')) === 1,
      { timeoutMs: 20000, intervalMs: 250 });
    assert.ok(api.includes('POST /api/channels/live/cmcd'), api.join(', '));
    assert.ok(!api.some((r) => /\/(viewers|heartbeat)$/.test(r)), `no heartbeats: ${api.join(', ')}`);
    assert.ok(media.length > 0 && media.every((q) => !q.includes('CMCD')), `media URLs: ${media.slice(0, 3)}`);
    assert.deepEqual(errors, []);
    browser.context.off('request', onRequest);
    await page.close({ runBeforeUnload: true });  // pagehide: a last report, sta=q
    await waitFor('the closed page to leave at once', async () => (await cmcdSidsOf(base, 'live')) === 0,
      { timeoutMs: 3000, intervalMs: 100 });
  });

  test('headcount.js on a page whose hls.js reports CMCD here sends no heartbeats: one viewer, one protocol', async (t) => {
    const api = [];
    const onRequest = (req) => {
      const url = new URL(req.url());
      if (url.pathname.startsWith('/api/channels/live/')) api.push(`${req.method()} ${url.pathname} ${req.postData() ?? ''}`);
    };
    browser.context.on('request', onRequest);
    const { page, errors } = await openPage(browser.context, `${siteUrl}/with-headcount-js`);
    t.after(() => page.close());  // also when the test fails: no page outlives its test
    await waitFor('the page\'s sid to count', async () => (await cmcdSidsOf(base, 'live')) === 1,
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
    await waitFor('the paused page to leave', async () => (await cmcdSidsOf(base, 'live')) === 0,
      { timeoutMs: 5000, intervalMs: 100 });
    await page.close();
  });

  test('request-mode CMCD in headers (useHeaders): the cross-origin media requests are preflighted, allowed and played', async (t) => {
    const cmcdHeaders = [];
    const onRequest = (req) => {
      if (new URL(req.url()).pathname.startsWith('/hls/')) cmcdHeaders.push(req.headers()['cmcd-session'] ?? null);
    };
    browser.context.on('request', onRequest);
    const { page, errors } = await openPage(browser.context, `${siteUrl}/use-headers`);
    t.after(() => page.close());  // also when the test fails: no page outlives its test
    await waitFor('the page\'s sid to count', async () => (await cmcdSidsOf(base, 'live')) === 1,
      { timeoutMs: 60000, intervalMs: 250 });
    await waitFor('media to play', () => page.evaluate(() => document.getElementById('player').currentTime > 1),
      { timeoutMs: 30000, intervalMs: 250 });
    browser.context.off('request', onRequest);
    assert.ok(cmcdHeaders.some((h) => h?.includes('sid=')), `CMCD-Session on media requests: ${cmcdHeaders.slice(0, 3)}`);
    assert.deepEqual(errors, []);
    await page.evaluate(() => document.getElementById('player').pause());
    await waitFor('the paused page to leave', async () => (await cmcdSidsOf(base, 'live')) === 0,
      { timeoutMs: 5000, intervalMs: 100 });
    await page.close();
  });

  test('a closed page, which sends nothing, leaves after --cmcd-timeout', async (t) => {
    const { page, errors } = await openPage(browser.context, `${siteUrl}/`);
    t.after(() => page.close());  // also when the test fails: no page outlives its test
    await waitFor('the page\'s sid to count', async () => (await cmcdSidsOf(base, 'live')) === 1,
      { timeoutMs: 60000, intervalMs: 250 });
    assert.deepEqual(errors, []);
    await page.close();
    assert.equal(await cmcdSidsOf(base, 'live'), 1, 'still counted right after');
    await waitFor('the closed page to time out', async () => (await cmcdSidsOf(base, 'live')) === 0,
      { timeoutMs: 14000, intervalMs: 250 });
  });

  test('Shaka Player 5 (its compiled build, from the site): the playing page is counted once, in the API and the stream, and leaves when closed', async (t) => {
    const reports = [];
    const mediaQueries = [];
    const onRequest = (req) => {
      const url = new URL(req.url());
      if (url.pathname.startsWith('/hls/')) mediaQueries.push(url.searchParams.get('CMCD'));
      if (url.pathname === '/api/channels/live/cmcd' && req.method() === 'POST') reports.push(req.postData() ?? '');
    };
    browser.context.on('request', onRequest);
    const { page, errors } = await openPage(browser.context, `${siteUrl}/shaka`);
    t.after(() => page.close());  // also when the test fails: no page outlives its test
    await countedOnceAndPlaying(page);
    assert.ok(mediaQueries.some((q) => q?.includes('sid=')), `request-mode CMCD on media requests: ${mediaQueries.slice(0, 3)}`);
    assert.ok(reports.every((r) => r.includes('v=2')), `CMCD v2 reports: ${reports.join(' | ')}`);
    await screenshot(page, 'cmcd-shaka.png');

    const stated = (sta) => reports.some((r) => new RegExp(`(^|,)sta=${sta}(,|$)`, 'm').test(r));
    await page.evaluate(() => document.getElementById('player').pause());
    await new Promise((r) => setTimeout(r, 4000));  // past one report interval
    if (stated('a')) {
      assert.equal(await cmcdSidsOf(base, 'live'), 0, 'a reported pause leaves at once');
    } else {
      assert.equal(await cmcdSidsOf(base, 'live'), 1, 'no play state in its reports: still counted');
    }
    browser.context.off('request', onRequest);
    assert.deepEqual(errors, []);
    await page.close();
    await waitFor('the closed page to leave after --cmcd-timeout', async () => (await cmcdSidsOf(base, 'live')) === 0,
      { timeoutMs: 14000, intervalMs: 250 });
    await waitFor('the API to count 0', async () => (await viewersOf(base, 'live')) === 0,
      { timeoutMs: 10000, intervalMs: 250 });
  });
});
