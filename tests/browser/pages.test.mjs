// The viewer's page and the dashboard in a real browser (Debian's chromium via
// playwright-core): ffmpeg streams, `headcount serve` ticks every 2 s,
// `headcount viewers` plays; the player must show what the stream carries and
// what /api/channels reports, follow a change of audience, go offline and
// come back; the dashboard must chart the stored points and download the same
// CSV as the API. Screenshots land in tests/artifacts/ (and in docs/ with
// HEADCOUNT_DOCS_SCREENSHOTS=1).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  Proc, cleanup, fetchMediaPlaylist, getJson, headcountDateRanges, startServe, startTestStream, startViewers,
  tempDir, waitFor,
} from '../integration/harness.mjs';
import { launchBrowser, openPage, screenshot } from './browser.mjs';
import { currentCount, trendLabel } from '../../web/payload.js';

const TICK_SECONDS = 2;
const IDLE_TIMEOUT_SECONDS = 4;
const DOCS = new URL('../../docs/', import.meta.url).pathname;

function keepForDocs(path, name) {
  if (process.env.HEADCOUNT_DOCS_SCREENSHOTS === '1') copyFileSync(path, join(DOCS, name));
}

describe('browser: player and dashboard', () => {
  let dir;
  let base;
  let ffmpeg;
  let viewers;
  let browser;
  let player;  // { page, errors }

  const channel = async () => (await getJson(`${base}/api/channels`)).channels.find((c) => c.id === 'demo');
  const playlistUrl = () => `${base}/hls/demo/stream.m3u8`;
  // What the player page shows: the decoded payload (data-*) and the DOM.
  const shown = () => player.page.evaluate(() => {
    const o = document.getElementById('overlay');
    return {
      ...o.dataset,
      countText: document.getElementById('count').textContent,
      badgeText: document.getElementById('badge').textContent,
      bars: [...document.querySelectorAll('#bars li')].map((li) => li.dataset.count),
      barTexts: [...document.querySelectorAll('#bars li .value')].map((v) => v.textContent),
      status: document.getElementById('status-text').textContent,
    };
  });

  // Waits until the page, /api/channels and the served playlist all hold the
  // payload of the same bucket, and returns the three.
  async function aligned(what) {
    return waitFor(what, async () => {
      const page = await shown();
      if (!page.at) return false;
      const api = await channel();
      if (api?.at !== page.at) return false;
      const [range] = headcountDateRanges((await fetchMediaPlaylist(playlistUrl())).text);
      if (!range || range.payload.at !== page.at) return false;
      return { page, api, payload: range.payload };
    }, { timeoutMs: 20000, intervalMs: 100 });
  }

  function assertPageShows({ page, api, payload }) {
    const m = JSON.parse(page.m);
    assert.deepEqual(m, payload.m, 'the page decoded what the stream carried');
    assert.deepEqual(m, api.buckets.map((b) => b.viewers), 'and it is what /api/channels reports');
    assert.equal(page.trend, payload.trend);
    assert.equal(page.trend, api.trend);
    const count = currentCount(m);
    assert.equal(page.countText, String(count));
    assert.equal(page.count, String(count));
    assert.deepEqual(page.bars, m.map((c) => (c === null ? '' : String(c))), 'five bars, gaps as gaps');
    assert.deepEqual(page.barTexts, m.map((c) => (c === null ? 'no data' : String(c))));
    assert.equal(page.badgeText, trendLabel(api.trend));
    assert.equal(page.badgeText === 'heating up', api.trend === 'rising');
    return count;
  }

  before(async () => {
    dir = tempDir('headcount-browser-');
    ffmpeg = await startTestStream(join(dir, 'hls'), 'demo');
    ({ base } = await startServe(dir, { tickSeconds: TICK_SECONDS, idleTimeoutSeconds: IDLE_TIMEOUT_SECONDS }));
    viewers = startViewers(playlistUrl(), 3);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await Proc.stopAll();
    cleanup(dir);
  });

  test('the player shows the count, bars and trend the stream carries, as /api/channels reports them', async () => {
    player = await openPage(browser.context, `${base}/watch/demo`);
    await player.page.waitForSelector('#overlay.has-data[data-state="playing"]', { timeout: 20000 });
    // 3 simulated viewers, and the page itself plays the stream: 4.
    await waitFor('the API to count the 3 viewers and the page', async () => (await channel())?.viewers === 4,
      { timeoutMs: 20000 });
    const snapshot = await aligned('the page to show the bucket the API reports');
    assert.equal(assertPageShows(snapshot), 4);
    const video = await player.page.evaluate(() => {
      const v = document.getElementById('video');
      return { muted: v.muted, paused: v.paused, time: v.currentTime, width: v.videoWidth };
    });
    assert.equal(video.muted, true);
    assert.equal(video.paused, false);
    assert.ok(video.time > 0 && video.width > 0, `the video plays: ${JSON.stringify(video)}`);
    await screenshot(player.page, 'player-4.png');
    assert.deepEqual(player.errors, []);
  });

  test('the player follows a change of audience within a few ticks', async () => {
    assert.equal((await viewers.stop('SIGINT')).code, 0, viewers.output);
    viewers = startViewers(playlistUrl(), 6);
    // The 3 leave after the idle timeout; 6 simulated viewers and the page remain.
    await waitFor('the page to show 7 watching', async () => (await shown()).count === '7',
      { timeoutMs: (IDLE_TIMEOUT_SECONDS + 4 * TICK_SECONDS) * 1000 + 5000 });
    assert.equal(assertPageShows(await aligned('the page and the API to agree again')), 7);
    // 4 -> 7 over the window is "heating up" by the shared rule: show it in the screenshot.
    const rising = await waitFor('a rising trend', async () => {
      const s = await shown();
      return s.trend === 'rising' && s.count === '7' ? s : false;
    }, { timeoutMs: 3 * TICK_SECONDS * 1000 }).catch(() => null);
    if (rising) assert.equal(rising.badgeText, 'heating up');
    keepForDocs(await screenshot(player.page, 'player.png'), 'player.png');
    // Readable on a phone: the overlay fits in a 390 px wide screen.
    await player.page.setViewportSize({ width: 390, height: 844 });
    const box = await player.page.locator('#overlay').boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `overlay inside the screen: ${JSON.stringify(box)}`);
    await screenshot(player.page, 'player-phone.png');
    await player.page.setViewportSize({ width: 1280, height: 800 });
    assert.deepEqual(player.errors, []);
  });

  test('the pages come with their security and cache headers', async () => {
    for (const path of ['/', '/watch/demo', '/static/watch.js', '/static/hls.min.js']) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 200, path);
      const csp = res.headers.get('content-security-policy');
      assert.match(csp, /script-src 'self';/, path);
      assert.match(csp, /media-src 'self' blob: data:;/, path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
      assert.equal(res.headers.get('cache-control'), path.startsWith('/static/') ? 'public, max-age=300' : 'no-cache', path);
    }
    assert.equal((await fetch(`${base}/watch/no.such`)).status, 404);
  });

  test('the dashboard charts the stored points and downloads the API CSV', async () => {
    const { page, errors } = await openPage(browser.context, `${base}/`);
    const card = page.locator('li.channel[data-channel="demo"]');
    await card.locator('svg.chart[data-points]').waitFor({ timeout: 10000 });
    assert.equal(await card.locator('a.watch').getAttribute('href'), '/watch/demo');

    // The chart drawn from the next history response has exactly its points.
    const response = await page.waitForResponse((r) => r.url().includes('/api/channels/demo/history'), { timeout: 15000 });
    const history = await response.json();
    assert.ok(history.points.length > 0);
    await page.waitForFunction((to) => document.querySelector('li[data-channel="demo"] svg.chart')?.dataset.to === to,
      history.to, { timeout: 5000 });
    const chart = await card.locator('svg.chart').evaluate((svg) => ({
      points: svg.dataset.points,
      vertices: (svg.querySelector('path.line').getAttribute('d').match(/[ML]/g) ?? []).length,
      dots: svg.querySelectorAll('circle.point').length,
    }));
    assert.equal(chart.points, String(history.points.length));
    assert.equal(chart.vertices, history.points.length);
    assert.equal(chart.dots, history.points.length);

    // The count and trend are the API's.
    await waitFor('the dashboard to show the API count', async () => {
      const api = await channel();
      const count = await card.locator('.count').textContent();
      const trend = await card.locator('.badge').getAttribute('data-trend');
      return count === String(api.viewers) && trend === api.trend;
    }, { timeoutMs: 15000 });

    // The summary line is the API's total of the last 24 hours.
    await waitFor('the summary line to show the API total', async () => {
      const { total } = await getJson(`${base}/api/channels/demo/summary?since=24h&by=day`);
      const shown = await card.locator('p.summary').evaluate((p) => ({ text: p.textContent, peak: p.dataset.peak, distinct: p.dataset.distinct }));
      // The origin knows its sessions: the distinct viewers are there too.
      return total.live_minutes > 0 && shown.peak === String(total.peak)
        && shown.text.includes(`peak ${total.peak}`) && shown.text.includes('viewer-minutes')
        && total.distinct_viewers > 0 && shown.distinct === String(total.distinct_viewers)
        && shown.text.includes(`${total.distinct_viewers} distinct viewers`);
    }, { timeoutMs: 15000 });

    // The CSV link downloads what the API serves (retried across a tick boundary).
    const href = await card.locator('a.csv').getAttribute('href');
    assert.equal(href, '/api/channels/demo/history?since=1h&format=csv');
    await waitFor('the downloaded CSV to equal the API CSV', async () => {
      const [download] = await Promise.all([page.waitForEvent('download'), card.locator('a.csv').click()]);
      const downloaded = readFileSync(await download.path(), 'utf8');
      const api = await (await fetch(`${base}${href}`)).text();
      assert.match(downloaded, /^start,viewers\n/);
      return downloaded === api;
    }, { timeoutMs: 15000, intervalMs: 0 });
    keepForDocs(await screenshot(page, 'dashboard.png'), 'dashboard.png');

    // Another range redraws the chart and the links.
    await page.getByLabel('24 hours').check();
    await card.locator('svg.chart[data-range="24h"]').waitFor({ timeout: 10000 });
    assert.equal(await card.locator('a.json').getAttribute('href'), '/api/channels/demo/history?since=24h&format=json');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the dashboard shows each tick as it is pushed, with no polling request', async () => {
    const { page, errors } = await openPage(browser.context, `${base}/`);
    const polls = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/channels') polls.push(r.url());
    });
    // Another client of the same events: when each tick reached it.
    const reached = new Map();  // the tick's "updated" -> ms
    const stream = new AbortController();
    const res = await fetch(`${base}/api/events`, { signal: stream.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    (async () => {
      const decoder = new TextDecoder();
      let text = '';
      try {
        for await (const chunk of res.body) {
          text += decoder.decode(chunk, { stream: true });
          for (const m of text.matchAll(/^data: (.*)$/gm)) reached.set(JSON.parse(m[1]).updated, Date.now());
          text = text.slice(text.lastIndexOf('\n') + 1);
        }
      } catch {
        // aborted at the end
      }
    })();
    await page.waitForFunction(() => document.body.dataset.updates === 'events', null, { timeout: 10000 });
    // Three ticks after it is open: when the page showed each (its own clock
    // stamp, the same machine's as ours).
    const shown = new Map();
    const first = await page.evaluate(() => document.body.dataset.shownTick ?? '');
    await waitFor('the dashboard to show three more ticks', async () => {
      const { tick, at } = await page.evaluate(() => ({ tick: document.body.dataset.shownTick, at: document.body.dataset.shownAt }));
      if (tick && tick !== first) shown.set(tick, Number(at));
      return shown.size >= 3;
    }, { timeoutMs: 8 * TICK_SECONDS * 1000, intervalMs: 50 });
    stream.abort();
    for (const [tick, at] of shown) {
      assert.ok(reached.has(tick), `tick ${tick} was pushed`);
      // Pushed, not polled (the fallback would poll every 5 s).
      assert.ok(at - reached.get(tick) < 1000, `tick ${tick} shown ${at - reached.get(tick)} ms after it was pushed`);
    }
    assert.deepEqual(polls, [], 'no polling of /api/channels');
    const card = page.locator('li.channel[data-channel="demo"]');
    await waitFor('the card to show the API count', async () => (await card.locator('.count').textContent()) === String((await channel()).viewers),
      { timeoutMs: 10000 });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the player shows "offline" when the stream stops and plays again when it is back', async () => {
    const before = await shown();
    await ffmpeg.stop('SIGINT');
    await player.page.waitForSelector('#overlay[data-state="offline"]', { timeout: 20000 });
    assert.match((await shown()).status, /^Offline/);
    assert.equal(await player.page.locator('#overlay .offline-tag').isVisible(), true);
    assert.equal(await player.page.locator('#retry').isVisible(), true);
    await screenshot(player.page, 'player-offline.png');

    ffmpeg = await startTestStream(join(dir, 'hls'), 'demo');
    await player.page.waitForSelector('#overlay[data-state="playing"]', { timeout: 40000 });
    await waitFor('a payload newer than before the outage', async () => (await shown()).at > before.at,
      { timeoutMs: 10000 });
    // While the stream was gone, the browser may have logged a segment that
    // no longer existed (404): that is the outage, not the page.
    const pageErrors = player.errors.filter((e) => !/Failed to load resource: the server responded with a status of 404/.test(e));
    assert.deepEqual(pageErrors, []);
  });
});
