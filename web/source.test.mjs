// Unit tests of web/source.js: which ?src= the IVS player page accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { MAX_SOURCE_LENGTH, checkPlaybackUrl } from './source.js';

const IVS = 'https://fcc3ddae59ed.us-west-2.playback.live-video.net/api/video/v1/us-west-2.893648527354.channel.DmumNckWFTqz.m3u8';

test('an IVS playback URL, a local one and one with a token are accepted', () => {
  assert.deepEqual(checkPlaybackUrl(IVS), { ok: true, url: IVS });
  assert.equal(checkPlaybackUrl('http://127.0.0.1:8787/playback/abc.m3u8').ok, true);
  assert.equal(checkPlaybackUrl(`${IVS}?token=eyJ0.abc`).ok, true);
  assert.equal(checkPlaybackUrl('https://example.com/LIVE.M3U8').ok, true);
});

test('the URL comes back normalized, so it cannot smuggle anything', () => {
  assert.equal(checkPlaybackUrl('https://EXAMPLE.com/a b.m3u8').url, 'https://example.com/a%20b.m3u8');
});

test('anything else is refused with a reason', () => {
  const bad = {
    '': /No stream/,
    'not a url': /not a full URL/,
    '/relative/stream.m3u8': /not a full URL/,
    'javascript:alert(1)//.m3u8': /https/,
    'data:text/html,<b>x</b>.m3u8': /https/,
    'ftp://example.com/a.m3u8': /https/,
    'file:///etc/passwd.m3u8': /https/,
    'https://user:pw@example.com/a.m3u8': /user name or password/,
    'https://example.com/a.mp4': /must end in \.m3u8/,
    'https://example.com/a.m3u8x': /must end in \.m3u8/,
    'https://example.com/?x=.m3u8': /must end in \.m3u8/,
    '<img src=x onerror=alert(1)>': /not a full URL/,
  };
  for (const [src, why] of Object.entries(bad)) {
    const r = checkPlaybackUrl(src);
    assert.equal(r.ok, false, src);
    assert.match(r.error, why, src);
  }
  assert.equal(checkPlaybackUrl(null).ok, false);
  assert.equal(checkPlaybackUrl(42).ok, false);
  assert.match(checkPlaybackUrl(`https://example.com/${'a'.repeat(MAX_SOURCE_LENGTH)}.m3u8`).error, /longer/);
});
