// The viewer's page playing through proxy mode: nginx serves ffmpeg's live
// TS and fMP4 output, `headcount serve --upstream` sits in front of it, and
// Chromium opens /watch/{channel} on headcount. hls.js must play the proxied
// stream and the page must show itself counted, as /api/channels says.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import {
  Proc, cleanup, getJson, startNginx, startServe, startTestStream, tempDir, waitFor,
} from '../integration/harness.mjs';
import { launchBrowser, openPage, screenshot } from './browser.mjs';

const TICK_SECONDS = 2;

describe('browser: the player through serve --upstream in front of nginx', () => {
  let dir;
  let base;
  let browser;

  before(async () => {
    dir = tempDir('headcount-upstream-player-');
    const www = join(dir, 'www');
    await startTestStream(www, 'fmp4', { fmp4: true });
    await startTestStream(www, 'ts');
    const nginx = await startNginx(www, join(dir, 'nginx'));
    ({ base } = await startServe(dir, { tickSeconds: TICK_SECONDS, upstream: `${nginx.base}/{channel}/` }));
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await Proc.stopAll();
    cleanup(dir);
  });

  for (const channel of ['fmp4', 'ts']) {
    test(`${channel}: Chromium plays through the proxy and the page shows itself counted`, async () => {
      const player = await openPage(browser.context, `${base}/watch/${channel}`);
      await player.page.waitForSelector('#overlay.has-data[data-state="playing"]', { timeout: 30000 });
      await waitFor('the page to show one viewer', async () =>
        (await player.page.evaluate(() => document.getElementById('overlay').dataset.count)) === '1',
      { timeoutMs: 30000, intervalMs: 100 });
      const api = (await getJson(`${base}/api/channels`)).channels.find((c) => c.id === channel);
      assert.equal(api.viewers, 1, 'the API counts the page');
      await screenshot(player.page, `player-upstream-${channel}.png`);
      assert.deepEqual(player.errors, []);
      await player.page.close();
    });
  }
});
