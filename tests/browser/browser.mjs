// Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven
// by playwright-core (no browser download), with a fresh profile, muted
// autoplay allowed, and every console error and page error collected.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.HEADCOUNT_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'headcount-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// A new page whose console errors, uncaught exceptions and failed requests
// land in `errors` (strings), for a test to assert that there were none.
export async function openPage(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console.error: ${msg.text()} (${msg.location()?.url ?? ''})`);
  });
  // A value thrown that is not an Error comes with an empty stack: name and message say what it was.
  page.on('pageerror', (err) => errors.push(`page error: ${err.name}: ${err.message}${err.stack ? `\n${err.stack}` : ''}`));
  page.on('requestfailed', (req) => {
    // hls.js aborts requests it no longer needs; that is not a failure of the page.
    if (req.failure()?.errorText !== 'net::ERR_ABORTED') errors.push(`request failed: ${req.url()} ${req.failure()?.errorText}`);
  });
  await page.goto(url);
  return { page, errors };
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  await page.screenshot({ path });
  return path;
}

// Another site, the origin a page under test comes from: an HTTP server on
// 127.0.0.1 at a port of its own that answers each request with
// `await respond(url)` (the request's path and query): { body, type =
// 'text/html; charset=utf-8', status = 200, headers = {} }. `respond` runs
// at request time, so it may use what is set up after the site (the
// server's URL). { url, close }.
export async function startSite(respond) {
  const server = createServer(async (req, res) => {
    try {
      const { body, type = 'text/html; charset=utf-8', status = 200, headers = {} } = await respond(req.url);
      res.writeHead(status, { 'content-type': type, ...headers });
      res.end(body);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(e));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

// What README's "Counted by the player's own CMCD reports" tells a site to
// write: its own hls.js (from `hlsJsSrc`, default the server's copy) with
// a CMCD v2 event target at `server`'s collector for channel live (a
// shorter interval, so tests see time-interval reports), playing `server`'s
// stream; `useHeaders`: request-mode CMCD in headers; `withHeadcountJs`:
// headcount.js on the page too.
export function cmcdHlsJsPage(server, { hlsJsSrc = `${server}/static/hls.min.js`, withHeadcountJs = false, useHeaders = false } = {}) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>A page with its own hls.js</title>
<script src="${hlsJsSrc}"></script>
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
  // A pause before playback starts rejects play() (AbortError): nothing to report.
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
</script>
</body></html>`;
}
