// `headcount serve --source ivs` as a daemon outside Lambda: the minute
// scheduler over the cloud pipeline (IVS emulator + dynalite, then SQLite),
// with the HTTP API and the dashboard; channels are IVS ARNs, which the
// history API takes percent-encoded as one path segment; the tag filter
// limits the channels; SIGTERM stops it with exit code 0.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import {
  BIN, Proc, cleanup, freePort, getJson, startDynalite, startIvsEmulator, tempDir, waitFor,
} from './harness.mjs';

const CHANNELS = 8;
const OFFLINE_FRACTION = 0.25;  // 2 of 8 start offline
const TICK_SECONDS = 2;
// Every 2nd channel (channel-00002, -04, -06, -08) carries team=blue.
const TAG_RULE = '2:team=blue';
const ACCESS_KEY = 'AKIDHEADCOUNTSERVE';
// A secret no output may ever contain.
const SECRET = 'hcServeSecret/DoNotLogMe+42';

describe('serve --source ivs: the daemon over the cloud pipeline', () => {
  let dir;
  let ivs;
  let dynamo;
  let env;
  let live;  // the emulator's live channels: [{ id, arn, name, tags, viewers }]
  const outputs = [];

  // headcount serve with `args` added, answering /healthz: { proc, base }.
  async function startServe(args) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const proc = new Proc('serve ivs', BIN, ['serve', '--source', 'ivs', '--listen', `127.0.0.1:${port}`,
      '--tick-interval', `${TICK_SECONDS}s`, '--log-level', 'debug', ...args], { env });
    outputs.push(proc);
    await waitFor('serve to answer /healthz', async () => (await fetch(`${base}/healthz`)).ok);
    return { proc, base };
  }

  // Pins every live channel's count to a different number, so a count in the
  // API can only have come from its own channel.
  async function pinCounts() {
    const channels = await getJson(`${ivs.url}/_emulator/channels`);
    live = [];
    for (const [i, c] of channels.entries()) {
      if (c.state !== 'LIVE') continue;
      const viewers = 100 + i;
      const res = await fetch(`${ivs.url}/_emulator/channels/${c.id}`, {
        method: 'POST', body: JSON.stringify({ viewers }),
      });
      assert.equal(res.status, 200, await res.text());
      live.push({ ...c, viewers });
    }
  }

  // Waits until /api/channels lists exactly `expected` with their pinned counts.
  async function waitForChannels(base, expected) {
    const want = Object.fromEntries(expected.map((c) => [c.arn, c.viewers]));
    return waitFor(`the API to list ${expected.length} IVS channels with their counts`, async () => {
      const body = await getJson(`${base}/api/channels`);
      const got = Object.fromEntries(body.channels.map((c) => [c.id, c.viewers]));
      assert.deepEqual(got, want);
      return body;
    }, { timeoutMs: 8 * TICK_SECONDS * 1000 });
  }

  before(async () => {
    dir = tempDir();
    ivs = await startIvsEmulator({
      channels: CHANNELS, offlineFraction: OFFLINE_FRACTION, viewers: 7,
      accessKeyId: ACCESS_KEY, secretAccessKey: SECRET, extra: ['--tag-every', TAG_RULE],
    });
    dynamo = await startDynalite();
    env = {
      PATH: process.env.PATH, HOME: dir,
      AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: 'us-west-2',
      AWS_ENDPOINT_URL_IVS: ivs.url, AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    };
    await pinCounts();
    assert.equal(live.length, CHANNELS * (1 - OFFLINE_FRACTION));
  });
  after(async () => {
    await Proc.stopAll();
    for (const p of outputs) assert.ok(!p.output.includes(SECRET), `${p.name} logged the secret`);
    cleanup(dir);
  });

  test('DynamoDB store: counts, encoded-ARN history, PutMetadata, no HLS, clean SIGTERM', async () => {
    const { proc, base } = await startServe(['--store', 'dynamodb', '--table', 'viewers', '--create-table', 'true']);
    const body = await waitForChannels(base, live);
    assert.equal(body.bucket_seconds, TICK_SECONDS);
    for (const c of body.channels) {
      assert.match(c.id, /^arn:aws:ivs:us-west-2:\d+:channel\/[A-Za-z0-9]+$/);
      assert.equal(c.live, true);
    }

    // The history of every channel, by its ARN percent-encoded as one segment.
    for (const c of live) {
      const url = `${base}/api/channels/${encodeURIComponent(c.arn)}/history?since=1h`;
      const history = await waitFor(`the stored points of ${c.name}`, async () => {
        const h = await getJson(url);
        return h.points.length >= 1 && h;
      });
      assert.equal(history.channel, c.arn);
      assert.ok(history.points.every((p) => p.viewers === c.viewers), JSON.stringify(history.points));
      const csv = await (await fetch(`${url}&format=csv`)).text();
      assert.match(csv, new RegExp(`^start,viewers\\n.*,${c.viewers}\\n`));
    }
    // The ARN unencoded is two path segments: a 400 that says to encode it;
    // a malformed ARN is refused.
    const unencoded = await fetch(`${base}/api/channels/${live[0].arn}/history`);
    assert.equal(unencoded.status, 400);
    assert.match((await unencoded.json()).error, /percent-encode/);
    const bad = await fetch(`${base}/api/channels/${encodeURIComponent('arn:aws:ivs:us-west-2:1:stream-key/x')}/history`);
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /IVS channel ARN/);

    // PutMetadata reached every live channel with its own count, newest last.
    const sent = await getJson(`${ivs.url}/_emulator/metadata`);
    for (const c of live) {
      const mine = sent.filter((m) => m.channelArn === c.arn);
      assert.ok(mine.length >= 1, `no PutMetadata for ${c.name}`);
      const payload = JSON.parse(mine.at(-1).metadata);
      assert.equal(payload.v, 1);
      assert.equal(payload.i, TICK_SECONDS);
      assert.equal(payload.m[4], c.viewers);
    }
    const offline = (await getJson(`${ivs.url}/_emulator/channels`)).filter((c) => c.state !== 'LIVE');
    assert.ok(!sent.some((m) => offline.some((c) => c.arn === m.channelArn)), 'metadata sent to an offline channel');

    // The origin is not there; the rest of the server is.
    const hls = await fetch(`${base}/hls/demo/stream.m3u8`);
    assert.equal(hls.status, 404);
    assert.match((await hls.json()).error, /Amazon IVS/);
    assert.equal((await fetch(`${base}/`)).status, 200);
    const health = await getJson(`${base}/healthz`);
    assert.equal(health.status, 'ok');
    assert.notEqual(health.last_tick, null);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /headcount_ticks_total\{result="ok"\} [1-9]/);

    const exit = await proc.stop('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, proc.output);
    assert.match(proc.output, /SIGTERM: stopping/);
    assert.match(proc.output, /stopped/);
  });

  test('tag filter, SQLite store: only the tagged channels are counted and published', async () => {
    // A fresh metadata log (the --tag-every tags stay; the counts go back to 7).
    assert.equal((await fetch(`${ivs.url}/_emulator/reset`, { method: 'POST' })).status, 200);
    await pinCounts();
    const tagged = live.filter((c) => c.tags.team === 'blue');
    assert.ok(tagged.length >= 1 && tagged.length < live.length, JSON.stringify(live));

    const { proc, base } = await startServe(['--store', 'sqlite', '--database', join(dir, 'tagged.db'),
      '--ivs-channel-tag', 'team=blue']);
    await waitForChannels(base, tagged);
    const sent = await getJson(`${ivs.url}/_emulator/metadata`);
    assert.ok(sent.length >= tagged.length);
    assert.deepEqual(new Set(sent.map((m) => m.channelArn)), new Set(tagged.map((c) => c.arn)));
    const h = await getJson(`${base}/api/channels/${encodeURIComponent(tagged[0].arn)}/history`);
    assert.ok(h.points.length >= 1 && h.points.every((p) => p.viewers === tagged[0].viewers));

    const exit = await proc.stop('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, proc.output);
  });

  test('bad combinations fail at start with exit 2, naming the setting', async () => {
    const port = await freePort();
    const cases = [
      [['--ivs-channel-tag', 'team'], /ivs\.channel_tag \(flag --ivs-channel-tag\)/],
      [['--store', 'dynamodb', '--table', 'x'], /dynamodb\.table/],
    ];
    for (const [args, message] of cases) {
      const p = new Proc('serve bad', BIN, ['serve', '--source', 'ivs', '--listen', `127.0.0.1:${port}`, ...args], { env });
      outputs.push(p);
      const exit = await p.exited;
      assert.equal(exit.code, 2, p.output);
      assert.match(p.output, message);
    }
    // No region: the IVS setting and the variable to set are named.
    const noRegion = { ...env };
    delete noRegion.AWS_REGION;
    const p = new Proc('serve no region', BIN, ['serve', '--source', 'ivs', '--listen', `127.0.0.1:${port}`,
      '--database', join(dir, 'none.db')], { env: noRegion });
    outputs.push(p);
    const exit = await p.exited;
    assert.equal(exit.code, 2, p.output);
    assert.match(p.output, /tick\.source = ivs: .*AWS_REGION/);
  });
});
