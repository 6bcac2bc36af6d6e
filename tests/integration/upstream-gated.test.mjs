// Proxy mode in front of upstreams that gate playback with sessions of
// their own: stand-ins that gate as MediaMTX 1.18, OvenMediaEngine and SRS
// do (gated_upstreams.mjs), over ffmpeg's live output. For each: simulated
// viewers are counted exactly; nothing a viewer receives carries the
// upstream's session parameter, cookie or credential; the upstream restarts
// and forgets every session while viewers watch, and a held playlist URL and
// its segments still answer 200 and the count does not move. MediaMTX with
// a CDN secret (--upstream-header) sees no redirect and no session; an
// upstream that rejects every session gives a prompt 502; a MediaMTX session
// that expired while nobody watched is opened again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';

import {
  cleanup, fetchMediaPlaylist, getJson, sleep, startServe, startTestStream, startViewers, tempDir, waitFor,
} from './harness.mjs';
import { startGatedUpstream } from './gated_upstreams.mjs';

const VIEWERS = 3;
// Past the proxy's reuse of a playlist (half of ffmpeg's 1 s target duration).
const REUSE_MS = 700;
const STEADY_POLLS = 4;
const PROMPT_MS = 3000;
const QUIET_SESSION_MS = 2000;

let dir;
let www;
let stream;

before(async () => {
  dir = tempDir('headcount-gated-');
  www = join(dir, 'www');
  stream = await startTestStream(www, 'cam');
});

after(async () => {
  await stream?.stop();
  cleanup(dir);
});

// Everything a viewer receives when it starts playing `entry` (statuses,
// headers, playlists; a segment's headers), as one text, and the media
// playlist it ends up holding. Playlists alone and HEAD requests for
// segments make no viewer: the count stays the simulated viewers'.
async function whatAViewerGets(entry, upstream) {
  let seen = '';
  const keep = async (res) => {
    seen += `${res.status}\n`;
    for (const [name, value] of res.headers) seen += `${name}: ${value}\n`;
    return res;
  };
  const first = await keep(await fetch(entry, { redirect: 'manual' }));
  seen += await first.text();
  const media = await fetchMediaPlaylist(entry);
  seen += media.text + (media.wrapper ?? '');
  // The newest: ffmpeg deletes the oldest a second or two after they leave
  // its playlist, which a loaded machine can take to get here.
  const segment = media.text.split('\n').filter((l) => l && !l.startsWith('#')).at(-1);
  const res = await keep(await fetch(new URL(segment, media.url), { method: 'HEAD', redirect: 'manual' }));
  assert.equal(res.status, 200, `a segment plays: ${segment} of\n${media.text}\nupstream's last: ${JSON.stringify(upstream?.requests.slice(-6))}`);
  return { seen, media };
}

function assertNothingOfTheUpstream(seen, upstream, secrets = []) {
  for (const s of [...upstream.state.secrets, ...secrets]) {
    assert.ok(!seen.includes(s), `a viewer received the upstream's ${s}`);
  }
  for (const word of ['session=', 'hls_ctx', 'cookieCheck', 'hlsSession', 'set-cookie:', 'location:', upstream.base]) {
    assert.ok(!seen.toLowerCase().includes(word.toLowerCase()), `a viewer received ${word}`);
  }
}

// The suite every stand-in runs: `entry` is what players open.
function gatedSuite(mode, { label = mode, template, entry, upstreamOptions = {}, serveArgs = [], secrets = [] }) {
  describe(`proxy mode in front of a ${label} stand-in`, () => {
    let upstream;
    let serve;
    let viewers;
    const viewersOf = async () => (await getJson(`${serve.base}/api/channels`)).channels.find((c) => c.id === 'cam')?.viewers;

    before(async () => {
      upstream = await startGatedUpstream(www, mode, upstreamOptions);
      serve = await startServe(mkdtempSync(join(dir, `${mode}-`)), { upstream: template(upstream.base), extraArgs: serveArgs });
    });

    after(async () => {
      await viewers?.stop();
      await serve?.proc.stop();
      await upstream?.close();
    });

    test('simulated viewers are counted exactly', async () => {
      viewers = startViewers(`${serve.base}${entry}`, VIEWERS);
      await waitFor(`${VIEWERS} viewers`, async () => (await viewersOf()) === VIEWERS, { timeoutMs: 30000 });
    });

    test('nothing a viewer receives carries the upstream\'s session, cookie or credential', async () => {
      const { seen } = await whatAViewerGets(`${serve.base}${entry}`, upstream);
      assert.ok(upstream.state.secrets.size > 0 || upstream.state.cdnSessions > 0, 'the upstream gated');
      assertNothingOfTheUpstream(seen, upstream, secrets);
      const metrics = await (await fetch(`${serve.base}/metrics`)).text();
      for (const s of secrets) {
        assert.ok(!metrics.includes(s), 'no credential in /metrics');
        assert.ok(!serve.proc.output.includes(s), 'no credential in the log');
      }
    });

    if (upstreamOptions.cdnSecret) {
      test('with the CDN secret it sees no redirect and no session, only the CDN client', () => {
        assert.ok(upstream.requests.length > 0);
        assert.deepEqual(upstream.requests.filter((r) => r.status === 302 || r.status === 401), []);
        assert.equal(upstream.state.sessions.size, 0, 'no session opened');
        assert.equal(upstream.state.cdnSessions, 1);
        assert.ok(upstream.requests.every((r) => r.authorization === `Bearer ${upstreamOptions.cdnSecret}` && !r.cookie));
      });
    }

    test('the upstream restarts and forgets every session: held URLs answer 200, the count does not move', async () => {
      const { media } = await whatAViewerGets(`${serve.base}${entry}`, upstream);
      const segments = media.text.split('\n').filter((l) => l && !l.startsWith('#')).slice(-2);
      await upstream.restart();
      await sleep(REUSE_MS);
      const before = upstream.requests.length;
      const again = await fetch(media.url);
      assert.equal(again.status, 200, await again.clone().text());
      assert.match(await again.text(), /#EXTINF/);
      for (const s of segments) {
        const res = await fetch(new URL(s, media.url), { method: 'HEAD' });
        assert.equal(res.status, 200, `${s} after the restart`);
      }
      assert.ok(upstream.state.sessions.size > 0 || upstream.state.cdnSessions > 0, 'a new session was opened');
      assert.ok(upstream.requests.slice(before).every((r) => r.status !== 403), 'the credentials went along');
      for (let i = 0; i < STEADY_POLLS; i++) {
        assert.equal(await viewersOf(), VIEWERS, 'the count did not move');
        await sleep(1000);
      }
      const { seen } = await whatAViewerGets(`${serve.base}${entry}`, upstream);
      assertNothingOfTheUpstream(seen, upstream, secrets);
    });

    if (!upstreamOptions.cdnSecret) {
      test('an upstream that rejects every session gives a prompt 502 naming its status', async () => {
        const { media } = await whatAViewerGets(`${serve.base}${entry}`, upstream);
        upstream.state.rejectAll = true;
        await sleep(REUSE_MS);
        const started = Date.now();
        const res = await fetch(media.url);
        assert.equal(res.status, 502);
        assert.match((await res.json()).error, /upstream answered HTTP 401/);
        assert.ok(Date.now() - started < PROMPT_MS, 'prompt, not a loop');
      });
    }
  });
}

gatedSuite('mediamtx', {
  template: (base) => `${base}/{channel}/`,
  entry: '/hls/cam/index.m3u8',
});

gatedSuite('ome', {
  template: (base) => `${base}/app/{channel}/`,
  entry: '/hls/cam/llhls.m3u8',
});

// SRS with its http hooks wanting a token, which headcount adds to every
// request (--upstream-query); SRS repeats it on its wrapper's URI.
gatedSuite('srs', {
  template: (base) => `${base}/live/{channel}.m3u8`,
  entry: '/hls/cam/cam.m3u8',
  upstreamOptions: { requireQuery: 'token=q-s3cret' },
  serveArgs: ['--upstream-query', 'token=q-s3cret'],
  secrets: ['q-s3cret'],
});

// MediaMTX's hlsCDNSecret: the proxy is one CDN client, no sessions at all.
gatedSuite('mediamtx', {
  label: 'MediaMTX (hlsCDNSecret, --upstream-header)',
  template: (base) => `${base}/{channel}/`,
  entry: '/hls/cam/index.m3u8',
  upstreamOptions: { cdnSecret: 'cdn-s3cret' },
  serveArgs: ['--upstream-header', 'Authorization: Bearer cdn-s3cret'],
  secrets: ['cdn-s3cret'],
});

// MediaMTX closes a session after 30 s without requests (here 2 s): a
// viewer who comes back after a quiet spell still plays.
describe('a MediaMTX session that expired while nobody watched', () => {
  test('is opened again for the next request, which answers 200', async () => {
    const upstream = await startGatedUpstream(www, 'mediamtx', { sessionCloseAfterMs: QUIET_SESSION_MS });
    const serve = await startServe(mkdtempSync(join(dir, 'quiet-')), { upstream: `${upstream.base}/{channel}/` });
    try {
      const { media } = await whatAViewerGets(`${serve.base}/hls/cam/index.m3u8`, upstream);
      assert.equal(upstream.state.sessions.size, 1);
      await waitFor('the session to close', () => upstream.state.sessions.size === 0, { timeoutMs: 4 * QUIET_SESSION_MS });
      const res = await fetch(media.url);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /#EXTINF/);
      assert.equal(upstream.state.secrets.size, 2, 'a second session was opened');
    } finally {
      await serve.proc.stop();
      await upstream.close();
    }
  });
});
