// Request-mode CMCD through the whole chain a site may run: nginx serves
// ffmpeg's live output (the upstream HLS server), `headcount serve
// --upstream --count heartbeats` proxies it, and a caching CDN stand-in
// (nginx proxy_cache, the harness's startNginxCdn, as README's "Behind a
// CDN" sets it up) sits in front. A page of another origin, with the site's
// own hls.js 1.7 and a CMCD v2 event target at the CDN's collector URL,
// plays through the CDN with request-mode CMCD in the query (?CMCD=) and
// then in headers (useHeaders: the media requests are preflighted through
// the CDN): it plays, is counted once, in the API and in the playlist the
// CDN serves, and leaves when paused; the upstream is never asked with
// CMCD= in its URLs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import {
  Proc, cleanup, cmcdSidsOf, fetchMediaPlaylist, headcountDateRanges, startNginx, startNginxCdn,
  startServe, startTestStream, tempDir, viewersOf, waitFor,
} from '../integration/harness.mjs';
import { cmcdHlsJsPage, launchBrowser, openPage, startSite } from './browser.mjs';

const HLS_JS = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');

describe('browser: request-mode CMCD through the upstream proxy and a caching CDN', () => {
  let dir;
  let upstream;
  let origin;
  let cdn;
  let site;
  let siteUrl;
  let browser;

  before(async () => {
    dir = tempDir('headcount-cmcd-cdn-');
    const hlsJs = readFileSync(HLS_JS);
    site = await startSite(async (url) => (url === '/hls.min.js'
      ? { type: 'text/javascript', body: hlsJs }
      // hls.js from the site: the CDN passes only /hls/ and /api/ on.
      : { body: cmcdHlsJsPage(cdn.base, { hlsJsSrc: '/hls.min.js', useHeaders: url === '/use-headers' }) }));
    siteUrl = site.url;
    const www = join(dir, 'www');
    await startTestStream(www, 'live');
    upstream = await startNginx(www, join(dir, 'upstream'));
    origin = await startServe(dir, {
      upstream: `${upstream.base}/{channel}/`,
      // --channels: the collector takes the first reports, which hls.js sends
      // before its playlist request has made the channel known (README).
      extraArgs: ['--channels', 'live', '--count', 'heartbeats', '--cors-origins', siteUrl,
        '--trusted-proxies', '127.0.0.1', '--cmcd-timeout', '8s'],
    });
    cdn = await startNginxCdn(join(dir, 'cdn'), origin.port);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    site?.close();
    await Proc.stopAll();
    cleanup(dir);
  });

  for (const mode of ['query', 'headers']) {
    test(`CMCD in the ${mode}: the page plays through the CDN, is counted once and leaves when paused`, async (t) => {
      const media = [];
      const onRequest = (req) => {
        const url = new URL(req.url());
        if (!url.pathname.startsWith('/hls/')) return;
        media.push({ query: url.searchParams.get('CMCD'), header: req.headers()['cmcd-session'] ?? null });
      };
      browser.context.on('request', onRequest);
      const { page, errors } = await openPage(browser.context, `${siteUrl}/${mode === 'headers' ? 'use-headers' : ''}`);
      t.after(() => page.close());
      await waitFor('the page\'s sid to count', async () => (await cmcdSidsOf(origin.base, 'live')) === 1,
        { timeoutMs: 60000, intervalMs: 250 });
      await waitFor('the video to play', () => page.evaluate(() => document.getElementById('player').currentTime > 1),
        { timeoutMs: 30000, intervalMs: 250 });
      await waitFor('the API to count the page once', async () => (await viewersOf(origin.base, 'live')) === 1,
        { timeoutMs: 20000, intervalMs: 250 });
      await waitFor('the playlist the CDN serves to say 1', async () => {
        const [range] = headcountDateRanges((await fetchMediaPlaylist(`${cdn.base}/hls/live/stream.m3u8`)).text);
        return range?.payload.m.at(-1) === 1;
      }, { timeoutMs: 20000, intervalMs: 250 });
      browser.context.off('request', onRequest);
      if (mode === 'query') {
        assert.ok(media.some((m) => m.query?.includes('sid=')), `?CMCD= on media requests: ${JSON.stringify(media.slice(0, 2))}`);
      } else {
        assert.ok(media.some((m) => m.header?.includes('sid=')), `CMCD-Session on media requests: ${JSON.stringify(media.slice(0, 2))}`);
        assert.ok(media.every((m) => m.query === null), 'no ?CMCD= with useHeaders');
      }
      const upstreamLog = readFileSync(upstream.accessLog, 'utf8');
      assert.ok(upstreamLog.includes('/live/'), 'the upstream served the stream');
      assert.ok(!upstreamLog.includes('CMCD'), 'the proxy never forwards CMCD= upstream');
      assert.deepEqual(errors, []);

      await page.evaluate(() => document.getElementById('player').pause());
      await waitFor('the paused page to leave', async () => (await cmcdSidsOf(origin.base, 'live')) === 0,
        { timeoutMs: 5000, intervalMs: 100 });
    });
  }
});
