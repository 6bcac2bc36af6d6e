// ID3 timed metadata inside the segments `headcount serve --hls-root` serves,
// for ffmpeg's live MPEG-TS and fMP4 (-hls_segment_type fmp4) output: ffprobe
// must see the timed-metadata stream in a TS segment, and a parser written
// here (not ffmpeg: 5.1 mangles ID3 payloads) must read, from a served TS
// segment and a served fMP4 segment, the payload /api/channels reports. With
// --segment-metadata off the files are served as they are on disk.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  Proc, cleanup, fetchMediaPlaylist, getJson, startServe, startTestStream, tempDir, waitFor,
} from './harness.mjs';

const TS_PACKET = 188;

// --- an independent reader: ID3v2.4, MPEG-TS (PAT, PMT, PES), ISO BMFF ---

const syncsafe = (b, at) => ((b[at] & 0x7f) << 21) | ((b[at + 1] & 0x7f) << 14) | ((b[at + 2] & 0x7f) << 7) | (b[at + 3] & 0x7f);

// The value of the first TXXX frame of an ID3v2.4 tag (UTF-8, description skipped).
function id3TxxxValue(tag) {
  assert.equal(tag.subarray(0, 3).toString('latin1'), 'ID3', 'an ID3 tag');
  assert.equal(tag[3], 4, 'ID3v2.4');
  const end = 10 + syncsafe(tag, 6);
  for (let at = 10; at + 10 <= end;) {
    const id = tag.subarray(at, at + 4).toString('latin1');
    const size = syncsafe(tag, at + 4);
    const body = tag.subarray(at + 10, at + 10 + size);
    at += 10 + size;
    if (id !== 'TXXX') continue;
    assert.equal(body[0], 3, 'UTF-8 text');
    const nul = body.indexOf(0, 1);
    return body.subarray(nul + 1).toString('utf8');
  }
  return null;
}

const pidOf = (p) => ((p[1] & 0x1f) << 8) | p[2];
function payloadOf(p) {
  const control = (p[3] >> 4) & 3;
  if (!(control & 1)) return null;
  const offset = 4 + (control & 2 ? 1 + p[4] : 0);
  return offset < TS_PACKET ? p.subarray(offset) : null;
}
function section(p) {
  const payload = payloadOf(p);
  const s = payload.subarray(1 + payload[0]);
  return s.subarray(0, 3 + (((s[1] & 0x0f) << 8) | s[2]));
}

// The TS segment's PMT PID, metadata stream PID (stream_type 0x15) and the
// payloads of the TXXX frames in its PES packets.
function readTs(bytes) {
  assert.equal(bytes.length % TS_PACKET, 0, 'whole TS packets');
  const packets = [];
  for (let at = 0; at < bytes.length; at += TS_PACKET) packets.push(bytes.subarray(at, at + TS_PACKET));
  let pmtPid = null;
  let metadataPid = null;
  const pes = [];
  for (const p of packets) {
    assert.equal(p[0], 0x47, 'sync byte');
    const pid = pidOf(p);
    const start = (p[1] & 0x40) !== 0;
    if (pid === 0 && start) {
      const pat = section(p);
      pmtPid = ((pat[10] & 0x1f) << 8) | pat[11];
    } else if (pid === pmtPid && start) {
      const pmt = section(p);
      const infoLength = ((pmt[10] & 0x0f) << 8) | pmt[11];
      for (let e = 12 + infoLength; e + 5 <= pmt.length - 4; e += 5 + (((pmt[e + 3] & 0x0f) << 8) | pmt[e + 4])) {
        if (pmt[e] === 0x15) metadataPid = ((pmt[e + 1] & 0x1f) << 8) | pmt[e + 2];
      }
    } else if (pid === metadataPid) {
      if (start) pes.push([]);
      pes.at(-1)?.push(payloadOf(p));
    }
  }
  const values = pes.map((chunks) => {
    const b = Buffer.concat(chunks);
    assert.deepEqual([...b.subarray(0, 4)], [0, 0, 1, 0xbd], 'a private_stream_1 PES');
    const length = (b[4] << 8) | b[5];
    return id3TxxxValue(b.subarray(9 + b[8], 6 + length));
  });
  return { packets, pmtPid, metadataPid, values };
}

// Top-level ISO BMFF boxes: [{ type, start, size }].
function boxes(bytes) {
  const out = [];
  for (let at = 0; at < bytes.length;) {
    const size = bytes.readUInt32BE(at);
    out.push({ type: bytes.subarray(at + 4, at + 8).toString('latin1'), start: at, size });
    assert.ok(size >= 8, 'a box size');
    at += size;
  }
  return out;
}

// The version 1 emsg right before the first moof: its fields and the TXXX value of its ID3 tag.
function readFmp4(bytes) {
  const top = boxes(bytes);
  const moof = top.findIndex((b) => b.type === 'moof');
  assert.ok(moof > 0, 'a moof');
  const box = top[moof - 1];
  if (box.type !== 'emsg') return null;
  const b = bytes.subarray(box.start, box.start + box.size);
  assert.equal(b[8], 1, 'emsg version 1');
  const timescale = b.readUInt32BE(12);
  const presentationTime = b.readBigUInt64BE(16);
  const schemeEnd = b.indexOf(0, 32);
  const valueEnd = b.indexOf(0, schemeEnd + 1);
  return {
    timescale, presentationTime,
    scheme: b.subarray(32, schemeEnd).toString('latin1'),
    value: id3TxxxValue(b.subarray(valueEnd + 1)),
    emsgSize: box.size, moofStart: top[moof].start,
  };
}

// --- the test ---------------------------------------------------------------

// /api/channels as the payload's fields, for comparing with a decoded one.
function fromApi(channel) {
  return { at: new Date(channel.at).getTime(), m: channel.buckets.map((b) => b.viewers), trend: channel.trend };
}
function fromPayload(text) {
  const p = JSON.parse(text);
  assert.equal(p.v, 1);
  return { at: new Date(p.at).getTime(), m: p.m, trend: p.trend };
}

describe('segment metadata: ffmpeg TS and fMP4 through serve --hls-root', () => {
  let dir;
  let base;

  before(async () => {
    dir = tempDir();
    await startTestStream(join(dir, 'hls'), 'tsdemo');
    await startTestStream(join(dir, 'hls'), 'mp4demo', { fmp4: true });
    ({ base } = await startServe(dir));
  });

  after(async () => {
    await Proc.stopAll();
    cleanup(dir);
  });

  // The newest segment of `channel` as served (with a session, as a player
  // asks), and the file it came from, read right after.
  async function servedSegment(channel) {
    const { text, url } = await fetchMediaPlaylist(`${base}/hls/${channel}/stream.m3u8`);
    const uri = text.split('\n').filter((l) => l && !l.startsWith('#')).at(-1);
    const res = await fetch(new URL(uri, url));
    assert.equal(res.status, 200);
    const served = Buffer.from(await res.arrayBuffer());
    const onDisk = readFileSync(join(dir, 'hls', channel, uri.split('?')[0]));
    return { served, onDisk, uri };
  }

  // Reads the segment between two identical reads of the API, so no tick
  // changes the payload in between; `decode` returns its payload text.
  async function payloadAndApi(channel, decode) {
    return waitFor(`a ${channel} segment with the payload /api/channels reports`, async () => {
      const before = (await getJson(`${base}/api/channels`)).channels.find((c) => c.id === channel);
      if (!before?.at) return null;
      const segment = await servedSegment(channel);
      const after = (await getJson(`${base}/api/channels`)).channels.find((c) => c.id === channel);
      if (after.at !== before.at) return null;
      const text = decode(segment.served);
      return text ? { ...segment, text, api: fromApi(after) } : null;
    }, { timeoutMs: 30000 });
  }

  test('a served TS segment carries the payload in a timed-metadata stream, its media packets unchanged', async () => {
    const r = await payloadAndApi('tsdemo', (bytes) => readTs(bytes).values[0]);
    assert.deepEqual(fromPayload(r.text), r.api);

    const served = readTs(r.served);
    const original = readTs(r.onDisk);
    assert.equal(original.metadataPid, null, 'ffmpeg wrote no metadata stream');
    const media = (ts, skip) => ts.packets.filter((p) => ![ts.pmtPid, skip].includes(pidOf(p))).map((p) => p.toString('hex'));
    assert.deepEqual(media(served, served.metadataPid), media(original, null));

    // ffprobe, another demuxer, lists the stream (not its content: ffmpeg 5.1 mangles ID3).
    const file = join(dir, 'served.ts');
    writeFileSync(file, r.served);
    const probe = spawnSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file], { encoding: 'utf8' });
    assert.equal(probe.status, 0, probe.stderr);
    const streams = JSON.parse(probe.stdout).streams;
    assert.ok(streams.some((s) => s.codec_type === 'data' && s.codec_name === 'timed_id3'),
      `a timed_id3 stream in ${JSON.stringify(streams.map((s) => [s.codec_type, s.codec_name]))}`);
    assert.ok(streams.some((s) => s.codec_type === 'video'));
  });

  test('a served fMP4 segment carries the payload in an ID3 emsg right before its moof', async () => {
    const r = await payloadAndApi('mp4demo', (bytes) => readFmp4(bytes)?.value);
    assert.deepEqual(fromPayload(r.text), r.api);
    const emsg = readFmp4(r.served);
    assert.equal(emsg.scheme, 'https://aomedia.org/emsg/ID3');
    // The clock of the segment's first fragment: its tfdt in the track's timescale.
    const traf = r.onDisk.indexOf('tfdt');
    const tfdtVersion = r.onDisk[traf + 4];
    const decodeTime = tfdtVersion === 1 ? r.onDisk.readBigUInt64BE(traf + 8) : BigInt(r.onDisk.readUInt32BE(traf + 8));
    assert.equal(emsg.presentationTime, decodeTime);
    assert.ok(emsg.timescale > 0);
    // From the moof on, the original bytes.
    const originalMoof = boxes(r.onDisk).find((b) => b.type === 'moof').start;
    assert.ok(r.served.subarray(emsg.moofStart).equals(r.onDisk.subarray(originalMoof)));
    assert.equal(r.served.length, r.onDisk.length + emsg.emsgSize);
  });

  test('--segment-metadata off serves the segments as they are on disk', async () => {
    mkdirSync(join(dir, 'off'));
    const off = await startServe(join(dir, 'off'), {
      hlsRoot: join(dir, 'hls'), extraArgs: ['--segment-metadata', 'off'],
    });
    for (const channel of ['tsdemo', 'mp4demo']) {
      await waitFor(`${channel} to have a payload on the second server`, async () =>
        (await getJson(`${off.base}/api/channels`)).channels.find((c) => c.id === channel)?.at);
      const { text, url } = await fetchMediaPlaylist(`${off.base}/hls/${channel}/stream.m3u8`);
      const uri = text.split('\n').filter((l) => l && !l.startsWith('#')).at(-1);
      const served = Buffer.from(await (await fetch(new URL(uri, url))).arrayBuffer());
      assert.ok(served.equals(readFileSync(join(dir, 'hls', channel, uri.split('?')[0]))), `${channel} unchanged`);
    }
  });
});
