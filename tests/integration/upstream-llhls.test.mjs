// Proxy mode in front of an LL-HLS upstream (the test one of
// llhls_upstream.mjs, over ffmpeg's live fMP4 output): parts, preload hints
// and the map go through the proxy with the viewer's session; a blocking
// playlist reload is passed on, held as long as the upstream holds it, and
// shared by identical concurrent requests; byte-range parts pass through as
// Range requests; simulated viewers are counted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  cleanup, fetchMediaPlaylist, getJson, startServe, startTestStream, startViewers, tempDir, waitFor,
} from './harness.mjs';
import { startLowLatencyUpstream } from './llhls_upstream.mjs';

const VIEWERS = 3;
const CONCURRENT_RELOADS = 8;

const lastMsn = (playlist) => {
  const sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist)[1]);
  return sequence + playlist.split('\n').filter((l) => l.startsWith('#EXTINF:')).length - 1;
};

describe('proxy mode: serve --upstream in front of an LL-HLS upstream', () => {
  let dir;
  let www;
  let upstream;
  let serve;
  const procs = [];

  before(async () => {
    dir = tempDir('headcount-llhls-');
    www = join(dir, 'www');
    procs.push(await startTestStream(www, 'cam', { fmp4: true }));
    upstream = await startLowLatencyUpstream(www);
    serve = await startServe(dir, { upstream: `${upstream.base}/{channel}/` });
  });

  after(async () => {
    for (const p of procs) await p.stop();
    await serve?.proc.stop();
    await upstream?.close();
    cleanup(dir);
  });

  test('parts, the preload hint and the map carry the session through the proxy', async () => {
    const { text, url } = await fetchMediaPlaylist(`${serve.base}/hls/cam/ll.m3u8`);
    const session = new URL(url).searchParams.get('hcs');
    assert.ok(session, 'the wrapper handed out a session');
    assert.match(text, new RegExp(`#EXT-X-MAP:URI="init.mp4\\?hcs=${session}"`));
    assert.match(text, new RegExp(`#EXT-X-PART:[^\\n]*URI="seg_\\d+\\.m4s\\?hcs=${session}",BYTERANGE="\\d+@0"`));
    assert.match(text, new RegExp(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg_\\d+\\.m4s\\?hcs=${session}"`));
    assert.doesNotMatch(text, new RegExp(upstream.base));
  });

  test('a blocking reload is held as the upstream holds it, and identical ones share one upstream request', async () => {
    const { text, url } = await fetchMediaPlaylist(`${serve.base}/hls/cam/ll.m3u8`);
    const next = lastMsn(text) + 1;
    const target = new URL(url);
    target.searchParams.set('_HLS_msn', String(next));
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: CONCURRENT_RELOADS }, async () => {
      const res = await fetch(target);
      return { status: res.status, body: await res.text(), at: Date.now() };
    }));
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.ok(lastMsn(a.body) >= next, `the answer holds segment ${next}`);
    }
    assert.ok(Math.max(...answers.map((a) => a.at)) - started < 10000, 'answered within the hold');
    const upstreamAsked = upstream.requests.filter((r) => r.query.includes(`_HLS_msn=${next}`));
    assert.equal(upstreamAsked.length, 1, 'one upstream request for identical blocking reloads');
    assert.doesNotMatch(upstreamAsked[0].query, /hcs=/, 'the session stays with headcount');
  });

  test('a byte-range part passes through as a Range request', async () => {
    const { text, url } = await fetchMediaPlaylist(`${serve.base}/hls/cam/ll.m3u8`);
    const part = /#EXT-X-PART:[^\n]*URI="([^"]+)",BYTERANGE="(\d+)@(\d+)"/.exec(text);
    const [, uri, length, offset] = part;
    const start = Number(offset);
    const end = start + Number(length) - 1;
    const res = await fetch(new URL(uri, url), { headers: { Range: `bytes=${start}-${end}` } });
    assert.equal(res.status, 206);
    assert.match(res.headers.get('content-range'), new RegExp(`^bytes ${start}-${end}/\\d+$`));
    const file = readFileSync(join(www, 'cam', new URL(uri, url).pathname.split('/').at(-1)));
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), file.subarray(start, end + 1));
  });

  test('simulated viewers of the LL-HLS stream are counted', async () => {
    procs.push(startViewers(`${serve.base}/hls/cam/ll.m3u8`, VIEWERS));
    await waitFor(`${VIEWERS} viewers`, async () =>
      (await getJson(`${serve.base}/api/channels`)).channels.find((c) => c.id === 'cam')?.viewers === VIEWERS,
    { timeoutMs: 30000 });
  });
});
