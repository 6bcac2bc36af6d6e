// The seed's cloud pipeline, offline: `headcount tick --source ivs --store
// dynamodb` against headcount-ivs-emulator (IVS REST API with SigV4 and
// quotas) and dynalite (a DynamoDB implementation), as Lambda will run it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';

import { Proc, cleanup, getJson, run, startDynalite, startIvsEmulator, tempDir } from './harness.mjs';

const CHANNELS = 30;
const OFFLINE = 6;  // --offline-fraction 0.2
const VIEWERS = 7;
// A secret no output may ever contain.
const SECRET = 'hcSecretAbc123/DoNotLogMe+xyz';

const startEmulator = (extra = [], { channels = CHANNELS, offlineFraction = 0.2, viewers = VIEWERS } = {}) =>
  startIvsEmulator({ channels, offlineFraction, viewers, accessKeyId: 'AKIDHEADCOUNTTEST', secretAccessKey: SECRET, extra });

describe('cloud pipeline: IVS emulator + dynalite + headcount tick', () => {
  let dir;
  let ivs;
  let dynamo;
  let env;
  const outputs = [];
  const tick = (args = [], extraEnv = {}) => {
    const r = run(['tick', '--source', 'ivs', '--store', 'dynamodb', '--table', 'viewers',
      '--tick-interval', '10s', '--log-level', 'debug', ...args], { env: { ...env, ...extraEnv } });
    outputs.push(r.stdout, r.stderr);
    return r;
  };

  before(async () => {
    dir = tempDir();
    ivs = await startEmulator();
    dynamo = await startDynalite();
    env = {
      PATH: process.env.PATH, HOME: dir,
      AWS_ACCESS_KEY_ID: 'AKIDHEADCOUNTTEST', AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: 'us-west-2',
      AWS_ENDPOINT_URL_IVS: ivs.url, AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    };
  });
  after(async () => {
    await Proc.stopAll();
    cleanup(dir);
  });

  test('one tick reads every live channel, stores it in DynamoDB and publishes the payload', async () => {
    const r = tick(['--create-table', 'true']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.ok, true);
    assert.equal(report.seen, CHANNELS - OFFLINE);
    assert.equal(report.stored, CHANNELS - OFFLINE);
    assert.equal(report.published, CHANNELS - OFFLINE);
    const sent = await getJson(`${ivs.url}/_emulator/metadata`);
    const channels = new Set(sent.map((m) => m.channelArn));
    assert.equal(channels.size, CHANNELS - OFFLINE);
    for (const m of sent) {
      const payload = JSON.parse(m.metadata);
      assert.equal(payload.v, 1);
      assert.equal(payload.i, 10);
      assert.equal(payload.m[4], VIEWERS);
    }
  });

  test('the same bucket ticked again stores nothing twice', async () => {
    const r = tick();
    assert.equal(r.status, 0, r.stderr);
    const [first] = await getJson(`${ivs.url}/_emulator/metadata`);
    const h = run(['history', '--store', 'dynamodb', '--table', 'viewers', '--channel', first.channelArn,
      '--since', '1h', '--format', 'json'], { env });
    outputs.push(h.stdout, h.stderr);
    assert.equal(h.status, 0, h.stderr);
    const points = JSON.parse(h.stdout).points;
    assert.ok(points.length >= 1);
    assert.equal(new Set(points.map((p) => p.start)).size, points.length, 'one row per bucket');
    assert.ok(points.every((p) => p.viewers === VIEWERS));
  });

  test('headcount report reads DynamoDB for the channels it is given, and asks for them otherwise', async () => {
    const [first] = await getJson(`${ivs.url}/_emulator/metadata`);
    const r = run(['report', '--store', 'dynamodb', '--table', 'viewers', '--channel', first.channelArn,
      '--since', '1h', '--format', 'json'], { env });
    outputs.push(r.stdout, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    const [channel] = JSON.parse(r.stdout).channels;
    assert.equal(channel.channel, first.channelArn);
    assert.equal(channel.total.peak, VIEWERS);
    const all = run(['report', '--store', 'dynamodb', '--table', 'viewers'], { env });
    assert.equal(all.status, 1);
    assert.match(all.stderr, /cannot list its channels.*name them with --channel/);
  });

  test("the seed's format: counts newest first, comma-separated", async () => {
    await fetch(`${ivs.url}/_emulator/reset`, { method: 'POST' });
    const r = tick(['--metadata-format', 'seed']);
    assert.equal(r.status, 0, r.stderr);
    const sent = await getJson(`${ivs.url}/_emulator/metadata`);
    assert.equal(sent.length, CHANNELS - OFFLINE);
    for (const m of sent) assert.match(m.metadata, new RegExp(`^${VIEWERS}(,(${VIEWERS})?){4}$`));
  });

  test('a viewer count of -1 ("not yet known") is a gap, never stored as -1', async () => {
    const channels = await getJson(`${ivs.url}/_emulator/channels`);
    const live = channels.filter((c) => c.state === 'LIVE');
    const unknown = live[0];
    await fetch(`${ivs.url}/_emulator/channels/${unknown.id}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ viewers: -1 }),
    });
    const r = tick();
    const report = JSON.parse(r.stdout);
    assert.equal(report.ok, true, r.stdout);
    assert.equal(report.seen, live.length);
    assert.equal(report.stored, live.length - 1);
    assert.ok(report.skipped.some((s) => s.channel === unknown.arn && /unknown/.test(s.reason)), r.stdout);
    const h = run(['history', '--store', 'dynamodb', '--table', 'viewers', '--channel', unknown.arn, '--format', 'json'], { env });
    assert.ok(JSON.parse(h.stdout).points.every((p) => p.viewers >= 0));
    await fetch(`${ivs.url}/_emulator/channels/${unknown.id}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ viewers: null }),
    });
  });

  test('PutMetadata is paced under the account quota: the rest is skipped, not failed', async () => {
    await fetch(`${ivs.url}/_emulator/reset`, { method: 'POST' });
    // 2 calls a second leaves most of the 24 channels for the next tick.
    const r = tick(['--ivs-account-tps', '2', '--timeout', '3s']);
    const report = JSON.parse(r.stdout);
    assert.equal(report.ok, true, r.stdout);
    assert.ok(report.published >= 2 && report.published <= 10, `published ${report.published}`);
    assert.equal(report.published + report.skipped.length, CHANNELS - OFFLINE);
    assert.ok(report.skipped.every((s) => /quota|deadline/.test(s.reason)), JSON.stringify(report.skipped[0]));
    assert.equal((await getJson(`${ivs.url}/_emulator/stats`)).throttled, 0);
  });

  test('a wrong secret is refused by IVS and reported as a failed tick', () => {
    const r = tick([], { AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
    assert.equal(r.status, 1);
    const report = JSON.parse(r.stdout);
    assert.equal(report.failed[0].stage, 'source');
    assert.match(report.failed[0].reason, /InvalidSignatureException/);
  });

  test('an unreachable IVS is "unavailable", with exit code 1, before the deadline', () => {
    const started = Date.now();
    const r = tick(['--timeout', '5s'], { AWS_ENDPOINT_URL_IVS: 'http://127.0.0.1:9' });
    assert.equal(r.status, 1);
    assert.match(JSON.parse(r.stdout).failed[0].reason, /unavailable|deadline/);
    assert.ok(Date.now() - started < 8000, `took ${Date.now() - started} ms: ${r.stdout}`);
  });

  test('300 live channels over 3 pages: every bucket stored, every channel published, and DynamoDB read back with the AWS SDK holds what was published', async () => {
    const big = await startEmulator(['--account-id', '210987654321', '--seed', '2'], { channels: 300, offlineFraction: 0, viewers: 'random:50:5' });
    const r = tick([], { AWS_ENDPOINT_URL_IVS: big.url });
    assert.equal(r.status, 0, r.stdout.slice(0, 2000) + r.stderr.slice(-2000));
    const report = JSON.parse(r.stdout);
    assert.equal(report.seen, 300);
    assert.equal(report.stored, 300);
    assert.equal(report.published, 300);
    const stats = await getJson(`${big.url}/_emulator/stats`);
    assert.equal(stats.operations.ListStreams.requests, 3, 'ListStreams read in 3 pages of 100');
    assert.equal(stats.operations.PutMetadata.requests, 300);
    assert.equal(stats.throttled, 0, 'paced under the quota: IVS never had to throttle');
    const sent = await getJson(`${big.url}/_emulator/metadata`);
    assert.equal(new Set(sent.map((m) => m.channelArn)).size, 300);
    const ddb = new DynamoDBClient({
      endpoint: dynamo.url, region: 'us-west-2',
      credentials: { accessKeyId: 'AKIDHEADCOUNTTEST', secretAccessKey: SECRET },
    });
    for (const m of sent) {
      assert.ok(Buffer.byteLength(m.metadata) <= 1024);
      const payload = JSON.parse(m.metadata);
      const out = await ddb.send(new QueryCommand({
        TableName: 'viewers',
        KeyConditionExpression: '#c = :c',
        ExpressionAttributeNames: { '#c': 'channel' },
        ExpressionAttributeValues: { ':c': { S: m.channelArn } },
      }));
      assert.equal(out.Items.length, 1, m.channelArn);
      const item = out.Items[0];
      assert.equal(Number(item.time.N), Date.parse(payload.at) / 1000);
      assert.equal(Number(item.count.N), payload.m[4]);
      assert.ok(Number(item.expiresAt.N) > Number(item.time.N));
    }
    ddb.destroy();
  });

  test('no output of any run contains the secret key', () => {
    assert.ok(outputs.length >= 10);
    for (const out of outputs) assert.ok(!out.includes(SECRET), 'the AWS secret leaked into the output');
  });
});
