// Faults from AWS (issue #8, point 2): `headcount tick --source ivs --store
// dynamodb` against the IVS emulator and dynalite, each behind a
// fault-injecting proxy (fault_proxy.mjs): throttling storms, 5xx bursts,
// slow responses, connections reset mid-body, malformed JSON and expired
// credentials. For every fault: the process exits by itself (no signal, exit
// code 0 or 1 as its report says), within the tick deadline plus a small
// margin; whatever is in DynamoDB is a real count; every live channel is
// either stored or named in the report (failed or skipped), and either
// published or named; and the next tick, with the fault switched off, stores
// and publishes every channel.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';

import { CreateTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';

import { BIN, Proc, cleanup, getJson, startDynalite, startIvsEmulator, tempDir } from './harness.mjs';
import { FaultProxy } from './fault_proxy.mjs';

const CHANNELS = 40;
const OFFLINE = 4;  // --offline-fraction 0.1
const LIVE = CHANNELS - OFFLINE;
const VIEWERS = 7;
const KEY_ID = 'AKIDHEADCOUNTFAULTS';
// A secret no output may ever contain.
const SECRET = 'hcFaultSecret/Never+Logged42';
// The tick's deadline (--timeout; the interval is a minute, so this is shorter).
const DEADLINE_S = 4;
// The deadline of the ticks that ride out random faults (throttling storm,
// resets): time for a call's ten attempts with their backoff.
const STORM_DEADLINE_S = 10;
// A PutMetadata call started just before the deadline may run this long
// (kMinPublishCallTime in src/ivs/ivs_publisher.h).
const MIN_PUBLISH_CALL_MS = 2000;
// Process start, credentials, table check and exit, on a busy machine.
const MARGIN_MS = 2000;
// A tick still running after this long has hung: it is killed, and the test fails.
const HANG_MS = 60000;

describe('AWS faults: throttling, 5xx, slow, resets, malformed answers, expired credentials', () => {
  let dir;
  let ivs;
  let dynamo;
  let ivsProxy;
  let ddbProxy;
  let ddb;
  let env;
  let live;  // ARNs of the live channels
  let tables = 0;
  const outputs = [];

  // Runs one tick (asynchronously: the proxies live in this process).
  // Resolves to { code, signal, ms, report, stdout, stderr }.
  const tick = (table, { extraEnv = {}, args = [], deadlineS = DEADLINE_S } = {}) => new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(BIN, ['tick', '--source', 'ivs', '--store', 'dynamodb', '--table', table,
      '--tick-interval', '60s', '--timeout', `${deadlineS}s`, '--log-level', 'debug', ...args],
    { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const killer = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
    // 'close': the process has exited and its output is drained.
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      outputs.push(stdout, stderr);
      let report = null;
      try { report = JSON.parse(stdout); } catch { /* asserted by the caller */ }
      resolve({ code, signal, ms: Date.now() - started, report, stdout, stderr, deadlineS });
    });
  });

  const newTable = async () => {
    const name = `faults-${++tables}`;
    await ddb.send(new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'channel', AttributeType: 'S' }, { AttributeName: 'time', AttributeType: 'N' }],
      KeySchema: [{ AttributeName: 'channel', KeyType: 'HASH' }, { AttributeName: 'time', KeyType: 'RANGE' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
    return name;
  };

  // Every item of `table` (read from dynalite directly, not through a proxy).
  const scan = async (table) => {
    const items = [];
    let ExclusiveStartKey;
    do {
      const out = await ddb.send(new ScanCommand({ TableName: table, ExclusiveStartKey }));
      items.push(...out.Items);
      ExclusiveStartKey = out.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  };

  const metadataLog = () => getJson(`${ivs.url}/_emulator/metadata`);

  // The checks every faulty tick must pass. `sentBefore`: the length of the
  // emulator's metadata log before the tick. Returns what was stored and
  // published, for the test's own expectations.
  const assertSafe = async (r, table, sentBefore, { boundMs = r.deadlineS * 1000 + MIN_PUBLISH_CALL_MS + MARGIN_MS } = {}) => {
    const context = `exit ${r.code} signal ${r.signal} after ${r.ms} ms\n${r.stdout.slice(0, 3000)}\n${r.stderr.slice(-3000)}`;
    assert.equal(r.signal, null, `the tick was killed (hung or crashed): ${context}`);
    assert.ok(r.report, `no JSON report on stdout: ${context}`);
    assert.equal(r.code, r.report.ok ? 0 : 1, `exit code and report disagree: ${context}`);
    assert.ok(r.ms <= boundMs, `took ${r.ms} ms, more than ${boundMs} ms: ${context}`);

    const bucket = Date.parse(r.report.bucket) / 1000;
    const items = (await scan(table)).filter((i) => Number(i.time.N) === bucket);
    for (const i of items) {
      assert.match(i.count.N, /^\d+$/, `a stored count that is not a count: ${JSON.stringify(i)}`);
      assert.equal(Number(i.count.N), VIEWERS, `a stored count that IVS never gave: ${JSON.stringify(i)}`);
    }
    const stored = new Set(items.map((i) => i.channel.S));
    const named = (stages) => new Set([...r.report.failed, ...r.report.skipped]
      .filter((n) => stages.includes(n.stage)).map((n) => n.channel));
    const sourceFailed = r.report.failed.some((n) => n.stage === 'source' && n.channel === '');
    const unstoredNamed = named(['source', 'store']);
    for (const arn of live) {
      assert.ok(stored.has(arn) || unstoredNamed.has(arn) || sourceFailed,
        `${arn} is neither stored nor named in the report: ${context}`);
    }
    assert.ok(r.report.stored <= stored.size, `reports ${r.report.stored} stored, DynamoDB has ${stored.size}`);

    const sent = (await metadataLog()).slice(sentBefore);
    const published = new Set(sent.map((m) => m.channelArn));
    const unpublishedNamed = named(['source', 'publish']);
    for (const arn of live) {
      assert.ok(published.has(arn) || unpublishedNamed.has(arn) || sourceFailed,
        `${arn} is neither published nor named in the report: ${context}`);
    }
    assert.ok(r.report.published <= published.size, `reports ${r.report.published} published, IVS got ${published.size}`);
    for (const m of sent) {
      const payload = JSON.parse(m.metadata);
      assert.ok(payload.m.every((v) => v === null || (Number.isInteger(v) && v >= 0)), `garbage published: ${m.metadata}`);
      assert.ok(payload.m[4] === null || payload.m[4] === VIEWERS, `a count IVS never gave published: ${m.metadata}`);
    }
    return { stored, published, sent };
  };

  // The fault is off: the next tick stores and publishes every live channel.
  const assertRecovers = async (table) => {
    ivsProxy.clear();
    ddbProxy.clear();
    const before = (await metadataLog()).length;
    const r = await tick(table);
    const { stored, published } = await assertSafe(r, table, before);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.report.seen, LIVE);
    assert.equal(r.report.stored, LIVE);
    assert.equal(r.report.published, LIVE, r.stdout);
    assert.equal(stored.size, LIVE);
    assert.equal(published.size, LIVE);
  };

  // A fresh table and quotas; resolves to { table, sentBefore }.
  const fresh = async () => {
    ivsProxy.clear();
    ddbProxy.clear();
    await fetch(`${ivs.url}/_emulator/reset`, { method: 'POST' });
    return { table: await newTable(), sentBefore: 0 };
  };

  before(async () => {
    dir = tempDir('headcount-faults-');
    ivs = await startIvsEmulator({ channels: CHANNELS, offlineFraction: OFFLINE / CHANNELS, viewers: VIEWERS,
      accessKeyId: KEY_ID, secretAccessKey: SECRET });
    dynamo = await startDynalite();
    ivsProxy = new FaultProxy({ target: ivs.url, service: 'ivs', seed: 7 });
    ddbProxy = new FaultProxy({ target: dynamo.url, service: 'dynamodb', seed: 11 });
    await ivsProxy.start();
    await ddbProxy.start();
    ddb = new DynamoDBClient({ endpoint: dynamo.url, region: 'us-west-2',
      credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET } });
    env = {
      PATH: process.env.PATH, HOME: dir,
      AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: 'us-west-2',
      AWS_ENDPOINT_URL_IVS: ivsProxy.url, AWS_ENDPOINT_URL_DYNAMODB: ddbProxy.url,
    };
    live = (await getJson(`${ivs.url}/_emulator/channels`)).filter((c) => c.state === 'LIVE').map((c) => c.arn);
    assert.equal(live.length, LIVE);
  });
  after(async () => {
    ddb?.destroy();
    await ivsProxy?.stop();
    await ddbProxy?.stop();
    await Proc.stopAll();
    cleanup(dir);
  });

  test('through the proxies with no fault, a tick stores and publishes every live channel', async () => {
    const { table } = await fresh();
    await assertRecovers(table);
    assert.ok(ivsProxy.stats.byOp.ListStreams >= 1 && ddbProxy.stats.byOp.BatchWriteItem >= 2, 'the proxies were used');
  });

  test('a throttling storm (half of all IVS and DynamoDB calls throttled) is ridden out with backoff', async () => {
    for (const code of ['ThrottlingException', 'ProvisionedThroughputExceededException']) {
      const { table, sentBefore } = await fresh();
      ivsProxy.set({ kind: 'throttle', probability: 0.5 });
      ddbProxy.set({ kind: 'throttle', probability: 0.5, code });
      // Room for a long run of backoffs: a storm is ridden out given time.
      const r = await tick(table, { deadlineS: STORM_DEADLINE_S });
      const { stored, published } = await assertSafe(r, table, sentBefore);
      assert.ok(ivsProxy.stats.faulted > 0 && ddbProxy.stats.faulted > 0, 'the storm happened');
      // Ten attempts a call: a call fails only after ten throttles in a row.
      assert.ok(stored.size >= LIVE * 0.9, `${code}: only ${stored.size} of ${LIVE} stored: ${r.stdout}`);
      assert.ok(published.size >= LIVE * 0.9, `${code}: only ${published.size} of ${LIVE} published: ${r.stdout}`);
      await assertRecovers(table);
    }
  });

  test('a burst of 5xx answers is retried away: every channel stored and published', async () => {
    const { table, sentBefore } = await fresh();
    ivsProxy.set({ kind: 'http5xx', status: 503, count: 4 });
    ddbProxy.set({ kind: 'http5xx', status: 500, count: 10 });
    const r = await tick(table);
    const { stored, published } = await assertSafe(r, table, sentBefore);
    assert.equal(ivsProxy.stats.faulted, 4);
    assert.equal(ddbProxy.stats.faulted, 10);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(stored.size, LIVE);
    assert.equal(published.size, LIVE);
  });

  test('an IVS outage longer than the deadline fails the tick at the source, on time, and the next tick recovers', async () => {
    const { table, sentBefore } = await fresh();
    ivsProxy.set({ kind: 'http5xx', status: 503, ops: ['ListStreams'] });
    const r = await tick(table);
    await assertSafe(r, table, sentBefore, { boundMs: DEADLINE_S * 1000 + MARGIN_MS });
    assert.equal(r.code, 1);
    assert.equal(r.report.failed[0].stage, 'source');
    assert.match(r.report.failed[0].reason, /ServiceUnavailable|deadline/);
    assert.ok(ivsProxy.stats.faulted >= 2, 'ListStreams was retried');
    assert.equal((await scan(table)).length, 0);
    await assertRecovers(table);
  });

  test('a DynamoDB outage: nothing stored, every channel named, and still published with this minute\'s count', async () => {
    const { table, sentBefore } = await fresh();
    ddbProxy.set({ kind: 'http5xx', status: 500 });
    const r = await tick(table);
    const { stored, published, sent } = await assertSafe(r, table, sentBefore);
    assert.equal(r.code, 1);
    assert.equal(stored.size, 0);
    assert.equal(r.report.failed.filter((n) => n.stage === 'store').length, LIVE);
    // The store's calls share the tick's deadline, so publishing may find it
    // passed; whatever was published carries the reading of this minute.
    assert.equal(published.size + r.report.skipped.filter((n) => n.stage === 'publish').length, LIVE, r.stdout);
    for (const m of sent) assert.equal(JSON.parse(m.metadata).m[4], VIEWERS);
    await assertRecovers(table);
  });

  test('slow DynamoDB writes (30 s) end the tick at its deadline with the rest reported, never a hang', async () => {
    const { table, sentBefore } = await fresh();
    ddbProxy.set({ kind: 'slow', phase: 'headers', delayMs: 30000, ops: ['BatchWriteItem'] });
    const r = await tick(table);
    await assertSafe(r, table, sentBefore, { boundMs: DEADLINE_S * 1000 + MARGIN_MS });
    assert.equal(r.code, 1);
    assert.ok(r.ms >= DEADLINE_S * 1000 - 500, `ended after ${r.ms} ms, before the deadline: was it slow at all?`);
    assert.equal(r.report.failed.filter((n) => n.stage === 'store').length, LIVE, r.stdout);
    assert.equal((await scan(table)).length, 0, 'a write the client gave up on was never forwarded');
    await assertRecovers(table);
  });

  test('a ListStreams answer that stalls mid-body fails the source at the deadline', async () => {
    const { table, sentBefore } = await fresh();
    ivsProxy.set({ kind: 'slow', phase: 'body', delayMs: 30000, ops: ['ListStreams'] });
    const r = await tick(table);
    await assertSafe(r, table, sentBefore, { boundMs: DEADLINE_S * 1000 + MARGIN_MS });
    assert.equal(r.code, 1);
    assert.equal(r.report.failed[0].stage, 'source');
    await assertRecovers(table);
  });

  test('slow PutMetadata (30 s): every channel stored, the publishing cut at the deadline', async () => {
    const { table, sentBefore } = await fresh();
    ivsProxy.set({ kind: 'slow', phase: 'headers', delayMs: 30000, ops: ['PutMetadata'] });
    const r = await tick(table);
    const { stored } = await assertSafe(r, table, sentBefore);
    assert.equal(stored.size, LIVE);
    assert.equal(r.report.stored, LIVE);
    assert.equal(r.report.published, 0);
    assert.equal(r.report.failed.length + r.report.skipped.length, LIVE, r.stdout);
    await assertRecovers(table);
  });

  test('slow but timely answers (300 ms per Query) change nothing', async () => {
    const { table, sentBefore } = await fresh();
    ddbProxy.set({ kind: 'slow', phase: 'headers', delayMs: 300, ops: ['Query'] });
    const r = await tick(table);
    const { stored, published } = await assertSafe(r, table, sentBefore);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(stored.size, LIVE);
    assert.equal(published.size, LIVE);
  });

  test('connections reset mid-body on a third of all calls are retried (writes and puts are idempotent)', async () => {
    const { table, sentBefore } = await fresh();
    ivsProxy.set({ kind: 'reset', probability: 0.3 });
    ddbProxy.set({ kind: 'reset', probability: 0.3 });
    const r = await tick(table, { deadlineS: STORM_DEADLINE_S });
    const { stored, published } = await assertSafe(r, table, sentBefore);
    assert.ok(ivsProxy.stats.faulted > 0 && ddbProxy.stats.faulted > 0);
    assert.equal(stored.size, LIVE, r.stdout);
    assert.ok(published.size >= LIVE * 0.9, `only ${published.size} published: ${r.stdout}`);
    await assertRecovers(table);
  });

  test('every Query reset mid-body: the window fails, this minute is still stored, and published while time is left', async () => {
    const { table, sentBefore } = await fresh();
    ddbProxy.set({ kind: 'reset', ops: ['Query'] });
    const r = await tick(table);
    const { stored, published, sent } = await assertSafe(r, table, sentBefore);
    assert.equal(r.code, 1);
    assert.equal(stored.size, LIVE);
    assert.equal(r.report.stored, LIVE);
    assert.equal(r.report.failed.filter((n) => n.stage === 'window').length, LIVE);
    // The Query retries may use up the deadline; what is published carries
    // this minute's reading and no history.
    assert.equal(published.size + r.report.skipped.filter((n) => n.stage === 'publish').length, LIVE, r.stdout);
    for (const m of sent) assert.deepEqual(JSON.parse(m.metadata).m, [null, null, null, null, VIEWERS]);
    await assertRecovers(table);
  });

  test('malformed JSON from ListStreams (truncated, or an HTML page) fails the source at once', async () => {
    for (const variant of ['truncated', 'garbage']) {
      const { table, sentBefore } = await fresh();
      ivsProxy.set({ kind: 'malformed', variant, ops: ['ListStreams'] });
      const r = await tick(table);
      // Not retried until the deadline: an answer that cannot be read is final.
      await assertSafe(r, table, sentBefore, { boundMs: DEADLINE_S * 1000 });
      assert.equal(r.code, 1);
      assert.equal(r.report.failed[0].stage, 'source');
      assert.match(r.report.failed[0].reason, /not JSON/);
      assert.equal(ivsProxy.stats.byOp.ListStreams, 1, 'an unreadable answer is not retried');
      assert.equal((await scan(table)).length, 0);
      await assertRecovers(table);
    }
  });

  test('wrong shapes from IVS (counts as strings, negative, huge, fractional, missing) are gaps, never stored', async () => {
    const { table, sentBefore } = await fresh();
    const bad = ['12', -5, 1e15, 3.5, undefined];
    ivsProxy.set({
      kind: 'malformed', ops: ['ListStreams', 'GetStream'], transform: (doc, op) => {
        if (op === 'GetStream') return { stream: { ...doc.stream, viewerCount: 'many' } };
        bad.forEach((v, i) => { doc.streams[i].viewerCount = v; });
        return doc;
      },
    });
    const r = await tick(table);
    const { stored, published, sent } = await assertSafe(r, table, sentBefore);
    const list = (await getJson(`${ivs.url}/_emulator/channels`)).filter((c) => c.state === 'LIVE');
    const garbled = list.slice(0, bad.length).map((c) => c.arn);
    for (const arn of garbled) {
      assert.ok(!stored.has(arn), `${arn}: a garbage count was stored`);
      assert.ok(r.report.skipped.some((n) => n.channel === arn && n.stage === 'store' && /unknown/.test(n.reason)),
        `${arn} is not reported as a gap: ${r.stdout}`);
      assert.ok(published.has(arn), `${arn} lost its metadata too`);
      for (const m of sent.filter((x) => x.channelArn === arn)) assert.equal(JSON.parse(m.metadata).m[4], null);
    }
    assert.equal(r.code, 0, r.stdout);
    assert.equal(stored.size, LIVE - bad.length);
    await assertRecovers(table);
  });

  test('wrong shapes from DynamoDB (count -1, count as a string) are refused, never published', async () => {
    const { table } = await fresh();
    await assertRecovers(table);  // a minute of history to read back
    const sentBefore = (await metadataLog()).length;
    ddbProxy.set({
      kind: 'malformed', ops: ['Query'], transform: (doc) => {
        doc.Items?.forEach((item, i) => { item.count = i % 2 ? { N: '-1' } : { S: '7' }; });
        return doc;
      },
    });
    const r = await tick(table);
    const { sent } = await assertSafe(r, table, sentBefore);
    assert.equal(r.code, 1);
    assert.equal(r.report.failed.filter((n) => n.stage === 'window').length, LIVE, r.stdout);
    assert.ok(sent.length >= LIVE);
    await assertRecovers(table);
  });

  test('a BatchWriteItem answer that is not JSON fails the store, reported for every channel', async () => {
    const { table, sentBefore } = await fresh();
    ddbProxy.set({ kind: 'malformed', variant: 'garbage', ops: ['BatchWriteItem'] });
    const r = await tick(table);
    await assertSafe(r, table, sentBefore);
    assert.equal(r.code, 1);
    assert.equal(r.report.failed.filter((n) => n.stage === 'store').length, LIVE);
    assert.equal((await scan(table)).length, 0);
    await assertRecovers(table);
  });

  test('one BatchWriteItem chunk refused: the other chunk is stored, and the report names exactly the rest', async () => {
    const { table, sentBefore } = await fresh();
    ddbProxy.set({ kind: 'malformed', variant: 'garbage', ops: ['BatchWriteItem'], count: 1 });
    const r = await tick(table);
    const { stored } = await assertSafe(r, table, sentBefore);
    assert.equal(r.code, 1);
    // 36 samples go in chunks of 25 and 11; one of them was refused.
    assert.ok(stored.size === 25 || stored.size === 11, `${stored.size} stored`);
    assert.equal(r.report.stored, stored.size, r.stdout);
    const failed = r.report.failed.filter((n) => n.stage === 'store').map((n) => n.channel);
    assert.equal(failed.length, LIVE - stored.size);
    for (const arn of failed) assert.ok(!stored.has(arn), `${arn} is stored but reported failed`);
    await assertRecovers(table);
  });

  test('expired static credentials fail at once with a clear reason (IVS and DynamoDB)', async () => {
    let { table, sentBefore } = await fresh();
    ivsProxy.set({ kind: 'expired' });
    let r = await tick(table);
    await assertSafe(r, table, sentBefore, { boundMs: DEADLINE_S * 1000 });
    assert.equal(r.code, 1);
    assert.match(r.report.failed[0].reason, /ExpiredTokenException/);
    assert.equal(ivsProxy.stats.byOp.ListStreams, 1, 'environment credentials cannot change: not retried');

    ({ table, sentBefore } = await fresh());
    ddbProxy.set({ kind: 'expired' });
    r = await tick(table);
    const { published } = await assertSafe(r, table, sentBefore);
    assert.equal(r.code, 1);
    const store = r.report.failed.filter((n) => n.stage === 'store');
    assert.equal(store.length, LIVE);
    assert.match(store[0].reason, /ExpiredTokenException/);
    assert.equal(published.size, LIVE, 'publishing does not need DynamoDB');
    await assertRecovers(table);
  });

  test('container credentials the service calls expired are fetched again once, and the tick succeeds', async () => {
    // A container credentials endpoint (as on Lambda or ECS) that hands out
    // a new session token at every fetch, valid for an hour.
    let fetches = 0;
    const creds = createServer((req, res) => {
      fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ AccessKeyId: KEY_ID, SecretAccessKey: SECRET, Token: `token-${fetches}`,
        Expiration: new Date(Date.now() + 3600_000).toISOString() }));
    });
    await new Promise((resolve) => creds.listen(0, '127.0.0.1', resolve));
    const containerEnv = { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${creds.address().port}/creds` };
    try {
      // IVS and DynamoDB each refuse the first token they see, as if it had
      // been revoked before its expiry.
      const firstOnly = () => { let first; return (t) => (first ??= t) === t; };
      let { table, sentBefore } = await fresh();
      ivsProxy.set({ kind: 'expired', tokens: firstOnly() });
      ddbProxy.set({ kind: 'expired', tokens: firstOnly() });
      let r = await tick(table, { extraEnv: containerEnv });
      const { stored, published } = await assertSafe(r, table, sentBefore);
      assert.equal(ivsProxy.stats.faulted, 1);
      assert.ok(ddbProxy.stats.faulted >= 1);
      assert.equal(r.code, 0, r.stdout + r.stderr.slice(-2000));
      assert.equal(stored.size, LIVE);
      assert.equal(published.size, LIVE);
      assert.equal(fetches, 4, 'one fetch and one refresh for each of the two clients');

      // An endpoint that keeps handing out refused credentials: one refresh,
      // then a clear error, at once.
      ({ table, sentBefore } = await fresh());
      fetches = 0;
      ivsProxy.set({ kind: 'expired' });
      r = await tick(table, { extraEnv: containerEnv });
      await assertSafe(r, table, sentBefore, { boundMs: DEADLINE_S * 1000 });
      assert.equal(r.code, 1);
      assert.match(r.report.failed[0].reason, /ExpiredTokenException/);
      assert.equal(ivsProxy.stats.byOp.ListStreams, 2);
      assert.equal(fetches, 2);
    } finally {
      creds.closeAllConnections();
      await new Promise((resolve) => creds.close(resolve));
    }
  });

  test('no output of any run contains the secret key', () => {
    assert.ok(outputs.length >= 30);
    for (const out of outputs) assert.ok(!out.includes(SECRET), 'the AWS secret leaked into the output');
  });
});
