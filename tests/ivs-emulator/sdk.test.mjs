// headcount-ivs-emulator against the official AWS SDK for JavaScript v3
// (@aws-sdk/client-ivs), unchanged: code written for the real IVS must work
// against the emulator. Starts the emulator binary on a free port and stops it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  BatchGetChannelCommand,
  ChannelNotBroadcasting,
  GetStreamCommand,
  IvsClient,
  IvsServiceException,
  ListChannelsCommand,
  PutMetadataCommand,
  ResourceNotFoundException,
  ThrottlingException,
  ValidationException,
  paginateListChannels,
  paginateListStreams,
} from '@aws-sdk/client-ivs';

import { IVS_EMULATOR_BIN, Proc, waitFor } from '../integration/harness.mjs';

// The SDK's notice that it will need Node >= 22 from 2027 is not a test result.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const CHANNELS = 250;
const OFFLINE = 50; // --offline-fraction 0.2
const REGION = 'us-west-2';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('the IVS emulator with @aws-sdk/client-ivs', () => {
  let emulator;
  let endpoint;
  let ivs;

  // maxAttempts 1: the SDK would otherwise retry ThrottlingException.
  const client = (opts = {}) => new IvsClient({ region: REGION, endpoint, credentials: CREDENTIALS, maxAttempts: 1, ...opts });
  const testApi = async (path, init) => {
    const res = await fetch(`${endpoint}/_emulator/${path}`, init);
    assert.ok(res.ok, `${path}: HTTP ${res.status}`);
    return res.json();
  };
  const channels = () => testApi('channels');
  const liveArn = async () => (await channels()).find((c) => c.state === 'LIVE').arn;
  const offlineArn = async () => (await channels()).find((c) => c.state === 'OFFLINE').arn;
  // Runs `fn`, which must throw; returns what it threw.
  const thrown = async (fn) => {
    try {
      await fn();
    } catch (e) {
      return e;
    }
    assert.fail('expected an exception');
  };

  before(async () => {
    emulator = new Proc('ivs-emulator', IVS_EMULATOR_BIN, [
      '--listen', '127.0.0.1:0', '--channels', String(CHANNELS), '--offline-fraction', '0.2',
      '--viewers', 'fixed:42', '--seed', '7', '--region', REGION,
    ], { env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' } });
    endpoint = await waitFor('the emulator to print its URL', () => emulator.output.match(/^listening on (http:\/\/\S+)/)?.[1]);
    ivs = client();
  });

  after(async () => {
    ivs?.destroy();
    await emulator?.stop();
  });

  test('ListChannels through the paginator returns every channel exactly once', async () => {
    const arns = [];
    let pages = 0;
    for await (const page of paginateListChannels({ client: ivs, pageSize: 100 }, {})) {
      pages += 1;
      for (const c of page.channels) {
        assert.match(c.arn, /^arn:aws:ivs:us-west-2:123456789012:channel\/[a-zA-Z0-9-]+$/);
        assert.equal(typeof c.name, 'string');
        assert.equal(c.authorized, false);
        arns.push(c.arn);
      }
    }
    assert.equal(pages, 3);
    assert.equal(arns.length, CHANNELS);
    assert.equal(new Set(arns).size, CHANNELS);
  });

  test('ListStreams through the paginator returns every live channel once, with typed fields', async () => {
    const streams = [];
    for await (const page of paginateListStreams({ client: ivs, pageSize: 30 }, {})) streams.push(...page.streams);
    assert.equal(streams.length, CHANNELS - OFFLINE);
    assert.equal(new Set(streams.map((s) => s.channelArn)).size, CHANNELS - OFFLINE);
    for (const s of streams) {
      assert.equal(s.state, 'LIVE');
      assert.equal(s.health, 'HEALTHY');
      assert.equal(s.viewerCount, 42);
      assert.match(s.streamId, /^st-[a-zA-Z0-9]{23}$/);
      assert.ok(s.startTime instanceof Date && !Number.isNaN(s.startTime.getTime()), 'startTime is a Date');
    }
  });

  test('GetStream of a live channel, and ChannelNotBroadcasting / ResourceNotFound as typed exceptions', async () => {
    const arn = await liveArn();
    const { stream } = await ivs.send(new GetStreamCommand({ channelArn: arn }));
    assert.equal(stream.channelArn, arn);
    assert.equal(stream.viewerCount, 42);
    assert.match(stream.playbackUrl, /^https:\/\/.+\.m3u8$/);

    const unknown = await thrown(() => ivs.send(new GetStreamCommand({ channelArn: arn.replace(/[^/]+$/, 'doesNotExist') })));
    assert.ok(unknown instanceof ResourceNotFoundException, `${unknown?.name}`);
    assert.equal(unknown.$metadata.httpStatusCode, 404);

    const notLive = await thrown(async () => ivs.send(new GetStreamCommand({ channelArn: await offlineArn() })));
    assert.ok(notLive instanceof ChannelNotBroadcasting, `${notLive?.name}`);
    assert.ok(notLive instanceof IvsServiceException);
    assert.match(notLive.exceptionMessage, /not broadcasting/);
  });

  test('BatchGetChannel gives each channel with its name and playbackUrl, unknown ARNs as errors', async () => {
    const all = await channels();
    const [live, offline] = [all.find((c) => c.state === 'LIVE'), all.find((c) => c.state === 'OFFLINE')];
    const missing = live.arn.replace(/[^/]+$/, 'doesNotExist');
    const out = await ivs.send(new BatchGetChannelCommand({ arns: [live.arn, offline.arn, missing] }));
    assert.deepEqual(out.channels.map((c) => c.arn), [live.arn, offline.arn]);
    for (const c of out.channels) {
      assert.match(c.name, /^channel-\d+$/);
      assert.match(c.playbackUrl, /^https:\/\/.+\.m3u8$/);
      assert.equal(c.type, 'STANDARD');
    }
    assert.deepEqual(out.errors.map((e) => [e.arn, e.code]), [[missing, 'ResourceNotFoundException']]);
    // 1 to 50 ARNs, each an ARN.
    const tooMany = await thrown(() => ivs.send(new BatchGetChannelCommand({ arns: Array(51).fill(live.arn) })));
    assert.ok(tooMany instanceof ValidationException, `${tooMany?.name}`);
    const bad = await thrown(() => ivs.send(new BatchGetChannelCommand({ arns: ['not-an-arn'] })));
    assert.ok(bad instanceof ValidationException, `${bad?.name}`);
  });

  test('PutMetadata succeeds and the emulator records it; an offline channel is ChannelNotBroadcasting', async () => {
    const arn = await liveArn();
    const payload = JSON.stringify({ v: 1, at: '2026-11-25T12:03:00Z', m: [120, 134, null, 161, 170], trend: 'rising' });
    const out = await ivs.send(new PutMetadataCommand({ channelArn: arn, metadata: payload }));
    assert.equal(out.$metadata.httpStatusCode, 204);
    const log = await testApi(`metadata?channelArn=${encodeURIComponent(arn)}`);
    assert.equal(log.at(-1).metadata, payload);
    assert.equal(log.at(-1).channelArn, arn);

    const e = await thrown(async () => ivs.send(new PutMetadataCommand({ channelArn: await offlineArn(), metadata: 'x' })));
    assert.ok(e instanceof ChannelNotBroadcasting, `${e?.name}`);
  });

  test('metadata over 1 KB and a malformed ARN are ValidationException', async () => {
    const arn = await liveArn();
    const big = await thrown(() => ivs.send(new PutMetadataCommand({ channelArn: arn, metadata: 'x'.repeat(1025) })));
    assert.ok(big instanceof ValidationException, `${big?.name}`);
    assert.equal(big.$metadata.httpStatusCode, 400);
    assert.match(big.message, /1 validation error detected/);
    const badArn = await thrown(() => ivs.send(new GetStreamCommand({ channelArn: 'not-an-arn' })));
    assert.ok(badArn instanceof ValidationException, `${badArn?.name}`);
    const badPage = await thrown(() => ivs.send(new ListChannelsCommand({ maxResults: 101 })));
    assert.ok(badPage instanceof ValidationException, `${badPage?.name}`);
  });

  test('PutMetadata over the per-channel quota is ThrottlingException', async () => {
    const [, second] = (await channels()).filter((c) => c.state === 'LIVE');
    const calls = Array.from({ length: 20 }, (_, i) =>
      ivs.send(new PutMetadataCommand({ channelArn: second.arn, metadata: `m${i}` })).then(() => null, (e) => e));
    const results = await Promise.all(calls);
    const throttled = results.filter((e) => e instanceof ThrottlingException);
    assert.ok(throttled.length >= 1, `expected throttling, got ${results.map((e) => e?.name ?? 'ok')}`);
    assert.equal(throttled[0].$metadata.httpStatusCode, 429);
    assert.equal(results.filter((e) => e !== null && !(e instanceof ThrottlingException)).length, 0);
    const stats = await testApi('stats');
    assert.ok(stats.throttled >= throttled.length);
  });

  test('a request signed with the wrong secret is refused with InvalidSignatureException', async () => {
    const wrong = client({ credentials: { accessKeyId: 'test', secretAccessKey: 'not-the-secret' } });
    const e = await thrown(() => wrong.send(new ListChannelsCommand({})));
    wrong.destroy();
    assert.ok(e instanceof IvsServiceException, `${e?.name}`);
    assert.equal(e.name, 'InvalidSignatureException');
    assert.equal(e.$metadata.httpStatusCode, 403);
    assert.match(e.message, /signature we calculated does not match/);

    const stranger = client({ credentials: { accessKeyId: 'AKIDSTRANGER', secretAccessKey: 'test' } });
    const u = await thrown(() => stranger.send(new ListChannelsCommand({})));
    stranger.destroy();
    assert.equal(u.name, 'UnrecognizedClientException');
  });

  test('AWS_ENDPOINT_URL_IVS points an unconfigured client at the emulator', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_IVS;
    process.env.AWS_ENDPOINT_URL_IVS = endpoint;
    try {
      const fromEnv = new IvsClient({ region: REGION, credentials: CREDENTIALS });
      const page = await fromEnv.send(new ListChannelsCommand({ maxResults: 5 }));
      fromEnv.destroy();
      assert.equal(page.channels.length, 5);
      assert.ok(page.nextToken);
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_IVS;
      else process.env.AWS_ENDPOINT_URL_IVS = saved;
    }
  });
});
