// `headcount lambda` against a Runtime API emulator, headcount-ivs-emulator
// and dynalite, with only the variables Lambda would set: one tick per
// invocation, deadlines honoured, bad configuration reported as init errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  BIN, Proc, cleanup, getJson, startDynalite, startIvsEmulator, tempDir, waitFor,
} from '../integration/harness.mjs';
import { RuntimeApiEmulator } from './runtime_api_emulator.mjs';

const CHANNELS = 30;
const LIVE = 24;  // offline fraction 0.2
const VIEWERS = 7;
const ACCESS_KEY_ID = 'AKIDHEADCOUNTLAMBDA';
// A secret no output may ever contain.
const SECRET = 'hcLambdaSecret987/DoNotLogMe+abc';

describe('headcount lambda: the Runtime API loop', () => {
  let dir;
  let ivs;
  let dynamo;
  const emulators = [];
  const procs = [];

  // A Runtime API emulator and `headcount lambda` against it, with `env`
  // changes (undefined removes a variable).
  async function startLambda(envChanges = {}, emulatorOptions = {}) {
    const rt = new RuntimeApiEmulator(emulatorOptions);
    emulators.push(rt);
    const env = {
      PATH: process.env.PATH, HOME: dir,
      AWS_LAMBDA_RUNTIME_API: await rt.start(),
      AWS_REGION: 'us-west-2', AWS_ACCESS_KEY_ID: ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_ENDPOINT_URL_IVS: ivs.url, AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
      HEADCOUNT_SOURCE: 'ivs', HEADCOUNT_STORE: 'dynamodb', HEADCOUNT_DYNAMODB_TABLE: 'viewers',
      HEADCOUNT_DYNAMODB_CREATE_TABLE: 'true', HEADCOUNT_TICK_INTERVAL: '10s',
    };
    for (const [k, v] of Object.entries(envChanges)) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    const proc = new Proc('lambda', BIN, ['lambda'], { env });
    procs.push(proc);
    return { rt, proc };
  }
  const tickLines = (proc) => proc.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l))
    .filter((l) => l.msg === 'tick');

  before(async () => {
    dir = tempDir('headcount-lambda-');
    ivs = await startIvsEmulator({ channels: CHANNELS, viewers: VIEWERS, accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET });
    dynamo = await startDynalite();
  });
  after(async () => {
    await Proc.stopAll();
    for (const rt of emulators) await rt.close();
    cleanup(dir);
  });

  test('three invocations: three tick reports, PutMetadata for every live channel, one log line each', async () => {
    await fetch(`${ivs.url}/_emulator/reset`, { method: 'POST' });
    const { rt, proc } = await startLambda();
    rt.invoke(3);
    await rt.waitUntil('3 responses', (s) => s.responses.length === 3);
    assert.deepEqual(rt.errors, []);
    assert.deepEqual(rt.initErrors, []);
    assert.deepEqual(rt.timedOut, []);
    for (const r of rt.responses) {
      assert.equal(r.json.ok, true, r.body);
      assert.equal(r.json.seen, LIVE, r.body);
      assert.equal(r.json.published, LIVE, r.body);
    }
    // The runtime's HTTP client stays warm: 7 requests, one connection.
    assert.equal(rt.connections, 1, `${rt.connections} connections to the Runtime API`);
    const sent = await getJson(`${ivs.url}/_emulator/metadata`);
    assert.equal(new Set(sent.map((m) => m.channelArn)).size, LIVE);
    assert.equal(sent.length, 3 * LIVE);
    for (const m of sent) assert.equal(JSON.parse(m.metadata).m[4], VIEWERS);

    await waitFor('3 tick log lines', () => tickLines(proc).length === 3);
    const requestIds = rt.responses.map((r) => r.requestId);
    for (const line of tickLines(proc)) {
      assert.equal(line.level, 'info');
      assert.ok(requestIds.includes(line.request_id), JSON.stringify(line));
      assert.equal(line.published, LIVE);
      assert.equal(line.failed, 0);
      for (const k of ['bucket', 'seen', 'stored', 'skipped', 'duration_ms']) assert.ok(k in line, k);
    }
    // Every stdout line is JSON (CloudWatch parses them).
    for (const l of proc.stdout.split('\n').filter(Boolean)) JSON.parse(l);

    // SIGTERM while waiting for the next invocation: a clean exit.
    assert.deepEqual(await proc.stop('SIGTERM'), { code: 0, signal: null });
  });

  test('a short deadline: the tick stops starting work and still answers in time', async () => {
    await fetch(`${ivs.url}/_emulator/reset`, { method: 'POST' });
    // 2 PutMetadata calls a second would need 12 s for the 24 channels.
    const { rt, proc } = await startLambda({ HEADCOUNT_IVS_ACCOUNT_TPS: '2' });
    rt.invoke(1, { deadlineMs: 2000 });
    await rt.waitUntil('a response or a timeout', (s) => s.responses.length + s.timedOut.length + s.errors.length >= 1);
    assert.deepEqual(rt.timedOut, [], proc.output);
    assert.equal(rt.responses.length, 1, proc.output);
    const [r] = rt.responses;
    assert.ok(r.ms < 2000, `answered after ${r.ms} ms`);
    assert.equal(r.json.ok, true, r.body);
    assert.equal(r.json.stored, LIVE, r.body);
    // Without the Lambda deadline the tick would publish for 9 s (18 channels).
    assert.ok(r.json.published <= 3, r.body);
    assert.equal(r.json.published + r.json.skipped.length, LIVE, r.body);
    assert.ok(r.json.skipped.length > 0, r.body);
    assert.ok(r.json.skipped.every((s) => /deadline|quota/.test(s.reason)), r.body);
    await proc.stop('SIGTERM');
  });

  test("the Runtime API's answers are validated: no request id is refused, an absurd deadline clamped", async () => {
    const { rt, proc } = await startLambda();
    rt.invoke(1, { headers: { 'Lambda-Runtime-Aws-Request-Id': undefined } });
    rt.invoke(1, { headers: { 'Lambda-Runtime-Deadline-Ms': '99999999999999999999' } });
    await rt.waitUntil('1 response', (s) => s.responses.length === 1);
    assert.equal(rt.responses[0].json.ok, true, rt.responses[0].body);
    const lines = proc.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.level === 'error' && /Lambda-Runtime-Aws-Request-Id/.test(l.error)), proc.stdout);
    assert.ok(lines.some((l) => l.level === 'warn' && /clamped/.test(l.msg)), proc.stdout);
    await proc.stop('SIGTERM');
  });

  for (const [what, change, pattern] of [
    ['HEADCOUNT_SOURCE=origin', { HEADCOUNT_SOURCE: 'origin' }, /tick.source/],
    ['no region', { AWS_REGION: undefined }, /AWS_REGION/],
    ['a bad tick interval', { HEADCOUNT_TICK_INTERVAL: '5x' }, /HEADCOUNT_TICK_INTERVAL/],
  ]) {
    test(`bad configuration (${what}): init/error and a non-zero exit`, async () => {
      const { rt, proc } = await startLambda(change);
      rt.invoke(1);
      const { code } = await proc.exited;
      assert.notEqual(code, 0, proc.output);
      assert.equal(rt.initErrors.length, 1, proc.output);
      const [e] = rt.initErrors;
      assert.equal(e.errorType, 'Headcount.ConfigError');
      assert.equal(e.json.errorType, 'Headcount.ConfigError');
      assert.match(e.json.errorMessage, pattern);
      assert.equal(rt.responses.length, 0);
    });
  }

  test('no output contains the secret key', () => {
    assert.ok(procs.length >= 6);
    for (const p of procs) assert.ok(!p.output.includes(SECRET), `${p.name} printed the AWS secret`);
    for (const rt of emulators) assert.ok(!JSON.stringify(rt.state()).includes(SECRET), 'a posted body holds the secret');
  });
});
