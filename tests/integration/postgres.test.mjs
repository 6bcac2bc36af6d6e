// `headcount serve --store postgres` end to end, against a PostgreSQL 15 the
// test starts (harness.mjs startPostgres): ffmpeg writes a live stream,
// simulated viewers play it, and the counts land in PostgreSQL, one row per
// (channel, bucket), visible in /api/channels, its history and `headcount
// history`; a PostgreSQL restart fails ticks while it is down and no more.
// Fails, never skips, on a machine without PostgreSQL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import {
  Proc, cleanup, freePort, getJson, run, startPostgres, startServe, startTestStream, startViewers, tempDir, waitFor,
} from './harness.mjs';

const TICK_SECONDS = 2;
const VIEWERS = 3;

describe('serve --store postgres', () => {
  let dir;
  let pg;
  let serve;
  let base;

  const demo = async () => (await getJson(`${base}/api/channels`)).channels.find((c) => c.id === 'demo');
  const storedRows = () => Number(pg.sql("SELECT count(*) FROM headcount_samples WHERE channel = 'demo'"));

  before(async () => {
    dir = tempDir();
    pg = await startPostgres();
    await startTestStream(join(dir, 'hls'), 'demo');
    serve = await startServe(dir, {
      tickSeconds: TICK_SECONDS,
      extraArgs: ['--store', 'postgres', '--postgres-url', pg.url(), '--log-level', 'debug'],
    });
    base = serve.base;
    startViewers(`${base}/hls/demo/stream.m3u8`, VIEWERS);
  });

  after(async () => {
    if (serve) await serve.proc.stop();
    if (pg) await pg.stop();
    await Proc.stopAll();
    cleanup(dir);
    if (pg) cleanup(pg.dir);
  });

  test('counts are stored in PostgreSQL, one row per bucket, and served by the API', async () => {
    await waitFor(`${VIEWERS} viewers in /api/channels`, async () => (await demo())?.viewers === VIEWERS, { timeoutMs: 30000 });
    await waitFor('two stored buckets with the viewers', () =>
      Number(pg.sql(`SELECT count(*) FROM headcount_samples WHERE channel = 'demo' AND viewers = ${VIEWERS}`)) >= 2,
    { timeoutMs: 30000 });
    // The table as an operator reads it: whole buckets, never one twice.
    assert.equal(pg.sql('SELECT count(*) = count(DISTINCT (channel, bucket)) FROM headcount_samples'), 't');
    assert.equal(pg.sql(`SELECT count(*) FROM headcount_samples WHERE extract(epoch FROM bucket)::bigint % ${TICK_SECONDS} <> 0`), '0');
    assert.equal(pg.sql('SELECT max(version) FROM headcount_schema'), '2');

    const history = await getJson(`${base}/api/channels/demo/history?since=10m`);
    const stored = pg.sql(`SELECT extract(epoch FROM bucket)::bigint || ':' || viewers FROM headcount_samples
      WHERE channel = 'demo' ORDER BY bucket`).split('\n');
    const served = history.points.filter((p) => p.viewers !== null)
      .map((p) => `${new Date(p.start).getTime() / 1000}:${p.viewers}`);
    // Ticks go on between the two reads: the API's points are a prefix, or
    // the stored rows one, of the other.
    const n = Math.min(stored.length, served.length);
    assert.ok(n >= 2, `history has the buckets: ${JSON.stringify(history)}`);
    assert.deepEqual(served.slice(0, n), stored.slice(0, n));
    // The CSV export of the same history: the same samples.
    const csv = (await (await fetch(`${base}/api/channels/demo/history?since=10m&format=csv`)).text())
      .trim().split('\n').slice(1).filter((l) => !l.endsWith(','))
      .map((l) => { const [start, viewers] = l.split(','); return `${new Date(start).getTime() / 1000}:${viewers}`; });
    const m = Math.min(stored.length, csv.length);
    assert.ok(m >= 2, 'the CSV has the buckets');
    assert.deepEqual(csv.slice(0, m), stored.slice(0, m));
  });

  test('headcount history reads the same samples from PostgreSQL', () => {
    const r = run(['history', '--store', 'postgres', '--postgres-url', pg.url(), '--channel', 'demo', '--since', '10m']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], 'start,viewers');
    assert.ok(lines.slice(1).some((l) => l.endsWith(`,${VIEWERS}`)), r.stdout);
    assert.ok(lines.length - 1 <= storedRows(), 'no sample that is not stored');
  });

  test('headcount report sums up in PostgreSQL what the history holds', () => {
    const history = JSON.parse(run(['history', '--store', 'postgres', '--postgres-url', pg.url(), '--channel', 'demo',
      '--since', '10m', '--format', 'json']).stdout);
    const r = run(['report', '--store', 'postgres', '--postgres-url', pg.url(), '--since', '10m', '--format', 'json']);
    assert.equal(r.status, 0, r.stderr);
    const [demo] = JSON.parse(r.stdout).channels;
    assert.equal(demo.channel, 'demo');
    assert.equal(demo.total.peak, VIEWERS);
    assert.equal(demo.total.peak_at, history.points.find((p) => p.viewers === VIEWERS).start);
    // The node merged its viewers' sketches into PostgreSQL after its ticks.
    assert.ok(demo.total.distinct_viewers >= VIEWERS, JSON.stringify(demo.total));
    assert.equal(pg.sql("SELECT count(*) > 0 FROM headcount_distinct_viewers WHERE channel = 'demo'"), 't');
  });

  test('the log names the database with the password redacted, never the password', () => {
    assert.match(serve.proc.output, new RegExp(`PostgreSQL postgresql://headcount:\\*\\*\\*@127\\.0\\.0\\.1:${pg.port}/postgres`));
    assert.ok(!serve.proc.output.includes(pg.password), 'the password is not logged');
  });

  test('a PostgreSQL restart fails the ticks while it is down, and the next tick stores again', async () => {
    await pg.stop();
    const logged = serve.proc.output.length;
    await waitFor('a tick that failed at the store', () => /failed at store/.test(serve.proc.output.slice(logged)),
      { timeoutMs: 20000 });
    assert.ok((await fetch(`${base}/healthz`)).ok, 'serve still answers');
    assert.ok((await fetch(`${base}/hls/demo/stream.m3u8`)).ok, 'and still serves the stream');
    await pg.start();
    const before = storedRows();
    await waitFor('a bucket stored after the restart', () => storedRows() > before, { timeoutMs: 20000 });
    assert.equal(pg.sql('SELECT count(*) = count(DISTINCT (channel, bucket)) FROM headcount_samples'), 't');
    assert.equal(serve.proc.child.exitCode, null, 'serve is still running');
    assert.ok(!serve.proc.output.includes(pg.password), 'no error message holds the password');
  });

  test('configuration errors are clear and never echo the password', async () => {
    const missing = run(['serve', '--store', 'postgres', '--hls-root', join(dir, 'hls')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /store\.kind = postgres needs store\.postgres_url/);
    const scheme = run(['serve', '--store', 'postgres', '--postgres-url', 'mysql://app:hunter2@db/hc']);
    assert.equal(scheme.status, 2);
    assert.match(scheme.stderr, /store\.postgres_url \(flag --postgres-url\): the scheme "mysql"/);
    assert.ok(!scheme.stderr.includes('hunter2'));
    // A wrong password: refused at start, the reason given, the password not.
    const port = await freePort();
    const wrong = run(['serve', '--listen', `127.0.0.1:${port}`, '--hls-root', join(dir, 'hls'), '--store', 'postgres',
      '--postgres-url', pg.url('postgres', 'wrong-pw-1234')], { timeout: 30000 });
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.stderr, /password authentication failed/);
    assert.ok(!wrong.stderr.includes('wrong-pw-1234'), wrong.stderr);
  });
});
