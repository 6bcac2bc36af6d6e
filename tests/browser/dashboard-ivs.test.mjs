// The dashboard in a real browser for Amazon IVS channels, whose ids are
// ARNs (':' and '/'): `headcount serve --source ivs` against the IVS
// emulator. Every card must chart its history through the encoded ARN, link
// CSV/JSON downloads that work, and offer no origin player link.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { BIN, Proc, cleanup, freePort, getJson, startIvsEmulator, tempDir, waitFor } from '../integration/harness.mjs';
import { launchBrowser, openPage } from './browser.mjs';

const CHANNELS = 3;
const VIEWERS = 9;

describe('browser: dashboard of IVS channels', () => {
  let dir;
  let base;
  let browser;

  before(async () => {
    dir = tempDir();
    const ivs = await startIvsEmulator({
      channels: CHANNELS, offlineFraction: 0, viewers: VIEWERS, accessKeyId: 'test', secretAccessKey: 'test',
    });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    new Proc('serve ivs', BIN, ['serve', '--source', 'ivs', '--listen', `127.0.0.1:${port}`,
      '--database', join(dir, 'headcount.db'), '--tick-interval', '2s'], {
      env: {
        PATH: process.env.PATH, HOME: dir, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-west-2', AWS_ENDPOINT_URL_IVS: ivs.url,
      },
    });
    await waitFor('serve to list the IVS channels', async () =>
      (await getJson(`${base}/api/channels`)).channels.length === CHANNELS);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await Proc.stopAll();
    cleanup(dir);
  });

  test('cards chart the history of ARN ids, download it, and link no origin player', async () => {
    const { channels } = await getJson(`${base}/api/channels`);
    const { page, errors } = await openPage(browser.context, `${base}/`);
    for (const { id } of channels) {
      assert.match(id, /^arn:aws:ivs:/);
      const card = page.locator(`li.channel[data-channel="${id}"]`);
      await card.locator('svg.chart[data-points]').waitFor({ timeout: 15000 });
      await waitFor(`${id} to chart its stored points`, async () =>
        Number(await card.locator('svg.chart').getAttribute('data-points')) >= 1);
      assert.equal(await card.locator('.count').textContent(), String(VIEWERS));
      assert.equal(await card.locator('a.watch').count(), 0, 'an IVS channel has no /watch/{id} player');
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
});
