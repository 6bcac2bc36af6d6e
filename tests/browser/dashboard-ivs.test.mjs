// The dashboard in a real browser for Amazon IVS channels, whose ids are
// ARNs (':' and '/'): `headcount serve --source ivs` against the IVS
// emulator (with --playback-dir: one channel plays an ffmpeg stream at its
// playbackUrl). /api/channels gives each channel's name and playbackUrl as
// BatchGetChannel has them; every card is headed by the name, charts its
// history through the encoded ARN, links CSV/JSON downloads that work and
// links its player, /watch?src=<playbackUrl>, which plays.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  BIN, Proc, cleanup, freePort, getJson, startIvsEmulator, startTestStream, tempDir, waitFor,
} from '../integration/harness.mjs';
import { launchBrowser, openPage } from './browser.mjs';

const CHANNELS = 3;
const VIEWERS = 9;

describe('browser: dashboard of IVS channels', () => {
  let dir;
  let base;
  let browser;
  let ivs;
  let playing;  // the emulator's channel with a stream: { id, arn, name }

  before(async () => {
    dir = tempDir();
    mkdirSync(join(dir, 'playback'));
    ivs = await startIvsEmulator({
      channels: CHANNELS, offlineFraction: 0, viewers: VIEWERS, accessKeyId: 'test', secretAccessKey: 'test',
      extra: ['--playback-dir', join(dir, 'playback')],
    });
    [playing] = await getJson(`${ivs.url}/_emulator/channels`);
    await startTestStream(join(dir, 'playback'), playing.id);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    new Proc('serve ivs', BIN, ['serve', '--source', 'ivs', '--listen', `127.0.0.1:${port}`,
      '--database', join(dir, 'headcount.db'), '--tick-interval', '2s'], {
      env: {
        PATH: process.env.PATH, HOME: dir, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-west-2', AWS_ENDPOINT_URL_IVS: ivs.url,
      },
    });
    await waitFor('serve to list the IVS channels with their playback URLs', async () => {
      const { channels } = await getJson(`${base}/api/channels`);
      return channels.length === CHANNELS && channels.every((c) => c.playbackUrl);
    });
    browser = await launchBrowser();
    // The IVS player's calls to IVS's own services (unreachable here), answered empty.
    await browser.context.route(/^https:\/\/[^/]+\.live-video\.net\//, (route) => route.fulfill({
      status: 200, contentType: 'application/json', body: '{}', headers: { 'access-control-allow-origin': '*' },
    }));
  });
  after(async () => {
    await browser?.close();
    await Proc.stopAll();
    cleanup(dir);
  });

  test('/api/channels names each IVS channel and gives its playbackUrl, as IVS has them', async () => {
    const emulated = await getJson(`${ivs.url}/_emulator/channels`);
    const { channels } = await getJson(`${base}/api/channels`);
    for (const c of channels) {
      const e = emulated.find((x) => x.arn === c.id);
      assert.ok(e, c.id);
      assert.equal(c.name, e.name);
      // The emulator serves its playback at its own address (GetStream says the same).
      assert.equal(c.playbackUrl, `${ivs.url}/playback/${e.id}.m3u8`);
    }
  });

  test('cards are headed by the name, chart the history of ARN ids, download it, and link the player', async () => {
    const { channels } = await getJson(`${base}/api/channels`);
    const { page, errors } = await openPage(browser.context, `${base}/`);
    for (const { id, name, playbackUrl } of channels) {
      assert.match(id, /^arn:aws:ivs:/);
      const card = page.locator(`li.channel[data-channel="${id}"]`);
      await card.locator('svg.chart[data-points]').waitFor({ timeout: 15000 });
      await waitFor(`${id} to chart its stored points`, async () =>
        Number(await card.locator('svg.chart').getAttribute('data-points')) >= 1);
      assert.equal(await card.locator('h2').textContent(), name);
      assert.equal(await card.locator('h2').getAttribute('title'), id);
      assert.equal(await card.locator('.count').textContent(), String(VIEWERS));
      assert.equal(await card.locator('a.watch').getAttribute('href'), `/watch?src=${encodeURIComponent(playbackUrl)}`);
      const href = await card.locator('a.csv').getAttribute('href');
      assert.equal(href, `/api/channels/${encodeURIComponent(id)}/history?since=1h&format=csv`);
      assert.match(await card.locator('a.csv').getAttribute('download'), /^[A-Za-z0-9_-]+-1h\.csv$/);
    }

    const card = page.locator(`li.channel[data-channel="${channels[0].id}"]`);
    const href = await card.locator('a.csv').getAttribute('href');
    await waitFor('the downloaded CSV to equal the API CSV', async () => {
      const [download] = await Promise.all([page.waitForEvent('download'), card.locator('a.csv').click()]);
      const downloaded = readFileSync(await download.path(), 'utf8');
      const api = await (await fetch(`${base}${href}`)).text();
      assert.match(downloaded, new RegExp(`^start,viewers\\n.*,${VIEWERS}\\n`));
      return downloaded === api;
    }, { timeoutMs: 15000, intervalMs: 0 });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("a card's player link plays the channel with the IVS player", async () => {
    const { page, errors } = await openPage(browser.context, `${base}/`);
    const card = page.locator(`li.channel[data-channel="${playing.arn}"]`);
    await card.locator('a.watch').waitFor({ timeout: 15000 });
    await card.locator('a.watch').click();
    await page.waitForURL(/\/watch\?src=/);
    await waitFor('the IVS player to play', async () =>
      (await page.evaluate(() => document.getElementById('status').dataset.state)) === 'playing', { timeoutMs: 30000 });
    assert.deepEqual(errors, []);
    await page.close();
  });
});
