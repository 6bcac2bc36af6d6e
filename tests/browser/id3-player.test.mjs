// The viewer's page reading the count from the ID3 timed metadata inside the
// segments, not from EXT-X-DATERANGE: ffmpeg writes fMP4 and TS streams with
// no EXT-X-PROGRAM-DATE-TIME, so the origin's playlists carry no DATERANGE
// and the payload reaches hls.js only as the emsg box (fMP4) or the ID3
// metadata stream (TS) of each segment. The page plays the stream (it is the
// one viewer) and must show what /api/channels reports.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import {
  Proc, cleanup, fetchMediaPlaylist, getJson, startServe, startTestStream, tempDir, waitFor,
} from '../integration/harness.mjs';
import { launchBrowser, openPage, screenshot } from './browser.mjs';
import { currentCount } from '../../web/payload.js';

const TICK_SECONDS = 2;

describe('browser: the player shows the count from ID3 in the segments', () => {
  let dir;
  let base;
  let browser;

  before(async () => {
    dir = tempDir('headcount-id3-');
    await startTestStream(join(dir, 'hls'), 'fmp4', { fmp4: true, programDateTime: false });
    await startTestStream(join(dir, 'hls'), 'ts', { programDateTime: false });
    ({ base } = await startServe(dir, { tickSeconds: TICK_SECONDS }));
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await Proc.stopAll();
    cleanup(dir);
  });

  for (const channel of ['fmp4', 'ts']) {
    test(`${channel}: hls.js raises the ID3 cue and the page shows the stored counts, itself included`, async () => {
      const { text } = await fetchMediaPlaylist(`${base}/hls/${channel}/stream.m3u8`);
      assert.doesNotMatch(text, /EXT-X-DATERANGE/, 'no DATERANGE: the count can only come from the segments');

      const player = await openPage(browser.context, `${base}/watch/${channel}`);
      await player.page.waitForSelector('#overlay.has-data[data-state="playing"]', { timeout: 30000 });
      // The page is the one viewer. An ID3 cue fires when playback reaches its
      // segment, a few seconds behind the live edge, so the page shows a
      // bucket or two older than /api/channels: compare it with the stored
      // history of those five buckets.
      const page = await waitFor('the page to show itself counted, from an ID3 cue', async () => {
        const page = await player.page.evaluate(() => ({
          ...document.getElementById('overlay').dataset,
          countText: document.getElementById('count').textContent,
        }));
        return page.source === 'id3' && page.count === '1' ? page : false;
      }, { timeoutMs: 30000, intervalMs: 100 });
      const history = await getJson(`${base}/api/channels/${channel}/history?since=5m`);
      const stored = new Map(history.points.map((p) => [new Date(p.start).getTime(), p.viewers]));
      const at = new Date(page.at).getTime();
      const expected = [4, 3, 2, 1, 0].map((k) => stored.get(at - k * TICK_SECONDS * 1000) ?? null);
      const m = JSON.parse(page.m);
      assert.deepEqual(m, expected, 'the buckets the page shows are the stored ones');
      assert.equal(page.countText, String(currentCount(m)));
      assert.equal(page.countText, '1');
      await screenshot(player.page, `player-id3-${channel}.png`);
      assert.deepEqual(player.errors, []);
      await player.page.close();
    });
  }
});
