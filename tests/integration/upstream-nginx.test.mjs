// Proxy mode in front of a real HLS server: Debian's nginx serves ffmpeg's
// live output (MPEG-TS and fMP4) as the upstream, `headcount serve
// --upstream` sits in front of it, `headcount viewers` plays through it. The
// counts must equal the simulated viewers; nginx's access log must show one
// request per segment and a bounded number of playlist requests whatever the
// number of viewers; with nginx gone the proxy answers 502 within its
// timeout, and recovers when nginx is back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  cleanup, fetchMediaPlaylist, getJson, sleep, startNginx, startServe, startTestStream, startViewers, tempDir,
  waitFor,
} from './harness.mjs';

const UPSTREAM_TIMEOUT_SECONDS = 2;
const TS_VIEWERS = 6;
const FMP4_VIEWERS = 3;

// nginx's access log as [{ status, path }] for requests under /<channel>/.
function upstreamRequests(accessLog, channel) {
  return readFileSync(accessLog, 'utf8').split('\n').filter(Boolean).map((l) => {
    const [status, uri] = l.split(' ');
    return { status: Number(status), path: uri.split('?')[0] };
  }).filter((r) => r.path.startsWith(`/${channel}/`));
}

describe('proxy mode: serve --upstream in front of nginx serving ffmpeg', () => {
  let dir;
  let www;
  let nginx;
  let serve;
  const streams = [];
  const players = [];

  before(async () => {
    dir = tempDir('headcount-upstream-');
    www = join(dir, 'www');
    streams.push(await startTestStream(www, 'tscam'));
    streams.push(await startTestStream(www, 'fmcam', { fmp4: true }));
    nginx = await startNginx(www, join(dir, 'nginx'));
    serve = await startServe(dir, {
      upstream: `${nginx.base}/{channel}/`,
      extraArgs: ['--upstream-timeout', `${UPSTREAM_TIMEOUT_SECONDS}s`],
    });
  });

  after(async () => {
    for (const p of [...players, ...streams]) await p.stop();
    await serve?.proc.stop();
    await nginx?.proc.stop();
    cleanup(dir);
  });

  const viewersOf = async (id) => (await getJson(`${serve.base}/api/channels`)).channels.find((c) => c.id === id)?.viewers;

  test('counts through the proxy equal the simulated viewers, TS and fMP4', async () => {
    players.push(startViewers(`${serve.base}/hls/tscam/stream.m3u8`, TS_VIEWERS));
    players.push(startViewers(`${serve.base}/hls/fmcam/stream.m3u8`, FMP4_VIEWERS));
    await waitFor(`${TS_VIEWERS} viewers on tscam`, async () => (await viewersOf('tscam')) === TS_VIEWERS,
      { timeoutMs: 30000 });
    await waitFor(`${FMP4_VIEWERS} viewers on fmcam`, async () => (await viewersOf('fmcam')) === FMP4_VIEWERS,
      { timeoutMs: 30000 });
  });

  test('one upstream request per segment, playlist requests bounded by the playlist versions', async () => {
    const before = upstreamRequests(nginx.accessLog, 'tscam').length;
    await sleep(6000);  // the players keep playing
    const seen = upstreamRequests(nginx.accessLog, 'tscam').slice(before);
    const segments = seen.filter((r) => r.path.endsWith('.ts'));
    const playlists = seen.filter((r) => r.path.endsWith('.m3u8'));
    assert.ok(segments.length >= 3, `segments fetched: ${segments.length}`);
    const all = upstreamRequests(nginx.accessLog, 'tscam').filter((r) => r.path.endsWith('.ts'));
    const perSegment = new Map();
    for (const r of all) perSegment.set(r.path, (perSegment.get(r.path) ?? 0) + 1);
    for (const [path, n] of perSegment) assert.equal(n, 1, `${path} fetched ${n} times for ${TS_VIEWERS} viewers`);
    // A new playlist version comes with each 1 s segment; a fetched playlist
    // is reused for half its target duration: at most two upstream requests
    // per version, whatever the number of viewers (each reloads once a second).
    assert.ok(playlists.length <= 2 * segments.length + 2,
      `${playlists.length} playlist requests for ${segments.length} new segments`);
    const metrics = await (await fetch(`${serve.base}/metrics`)).text();
    assert.match(metrics, /headcount_upstream_lookups_total\{kind="media",result="(hit|shared)"\} [1-9]/);
    assert.match(metrics, /headcount_upstream_fetches_total\{kind="playlist",outcome="2xx"\} [1-9]/);
  });

  test('served segments carry the payload: ID3 in TS, emsg in fMP4', async () => {
    for (const [channel, marker] of [['tscam', 'ID3'], ['fmcam', 'emsg']]) {
      await waitFor(`a ${channel} segment with ${marker}`, async () => {
        const { text, url } = await fetchMediaPlaylist(`${serve.base}/hls/${channel}/stream.m3u8`);
        const segment = text.split('\n').filter((l) => l && !l.startsWith('#')).at(-1);
        const bytes = Buffer.from(await (await fetch(new URL(segment, url))).arrayBuffer());
        return bytes.includes(Buffer.from(marker, 'latin1'));
      }, { timeoutMs: 20000 });
    }
  });

  test('upstream gone: 502 with a JSON error within the timeout; back: 200 again', async () => {
    for (const p of players.splice(0)) await p.stop();
    await nginx.proc.stop('SIGKILL');  // gone at once, its connections reset
    await sleep(1000);  // past the reuse of the last fetched playlist
    const started = Date.now();
    const res = await fetch(`${serve.base}/hls/tscam/stream.m3u8`);
    assert.equal(res.status, 502);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.match((await res.json()).error, /upstream/);
    assert.ok(Date.now() - started < (UPSTREAM_TIMEOUT_SECONDS + 1) * 1000, 'answered within the timeout');

    nginx = await startNginx(www, join(dir, 'nginx'), { port: nginx.port });
    await waitFor('the proxy to answer 200 again', async () =>
      (await fetch(`${serve.base}/hls/tscam/stream.m3u8`)).status === 200);
  });
});
