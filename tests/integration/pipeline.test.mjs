// The whole embedded pipeline, as a user runs it: ffmpeg writes a live HLS
// stream, `headcount serve` serves it and ticks every 2 s, `headcount viewers`
// plays it; the API, the served playlists and the database must all agree on
// the simulated number of viewers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from 'm3u8-parser';

import {
  BIN, Proc, cleanup, fetchMediaPlaylist, freePort, getJson, headcountDateRanges, run, sleep, startTestStream,
  tempDir, waitFor,
} from './harness.mjs';
import { checkDashboard, dashboardQueries } from './grafana-check.mjs';

const TICK_SECONDS = 2;
const IDLE_TIMEOUT_SECONDS = 4;

// The CSV and the JSON read of the same history name the same samples. The
// server keeps ticking every TICK_SECONDS (each tick is a new bucket), so the
// JSON read, made second, may also hold buckets stored after the CSV read.
function assertSameSamples(csvText, points) {
  const rows = csvText.trim().split('\n').slice(1).map((l) => {
    const [start, viewers] = l.split(',');
    return { start: new Date(start).getTime(), viewers: Number(viewers) };
  });
  assert.ok(rows.length > 0, 'the CSV has samples');
  const last = rows.at(-1).start;
  const older = points.map((p) => ({ start: new Date(p.start).getTime(), viewers: p.viewers }))
    .filter((p) => p.start <= last);
  assert.deepEqual(older, rows);
}

describe('embedded pipeline: ffmpeg + serve + viewers', () => {
  let dir;
  let port;
  let base;
  let serve;
  let viewers;
  let ffprobeDoneAt = 0;  // when ffprobe, a viewer until idle, was done

  const channel = async (id) => (await getJson(`${base}/api/channels`)).channels.find((c) => c.id === id);
  const playlistUrl = () => `${base}/hls/demo/stream.m3u8`;

  before(async () => {
    dir = tempDir();
    await startTestStream(join(dir, 'hls'), 'demo');
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    serve = new Proc('serve', BIN, [
      'serve', '--listen', `127.0.0.1:${port}`, '--hls-root', join(dir, 'hls'),
      '--database', join(dir, 'headcount.db'), '--tick-interval', `${TICK_SECONDS}s`,
      '--session-idle-timeout', `${IDLE_TIMEOUT_SECONDS}s`, '--log-level', 'debug',
    ]);
    await waitFor('serve to answer /healthz', async () => (await fetch(`${base}/healthz`)).ok);
  });

  after(async () => {
    await Proc.stopAll();
    cleanup(dir);
  });

  test('playlist fetches without media are not viewers', async () => {
    for (let i = 0; i < 3; i++) await (await fetch(playlistUrl())).text();
    for (let i = 0; i < 3; i++) await fetchMediaPlaylist(playlistUrl());
    await waitFor('the demo channel in the API', () => channel('demo'));
    await sleep(2 * TICK_SECONDS * 1000 + 500);
    assert.equal((await channel('demo')).viewers, 0);
  });

  test('the served playlist is valid HLS with a session on every URI and the payload', async () => {
    const { text, wrapper } = await waitFor('a playlist with a DATERANGE', async () => {
      const p = await fetchMediaPlaylist(playlistUrl());
      return p.text.includes('#EXT-X-DATERANGE') ? p : null;
    });
    // Asked for with no session, the media playlist comes wrapped in a
    // one-variant multivariant playlist that hands out the session.
    assert.match(wrapper, /^#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=\d+\nstream\.m3u8\?hcs=[A-Za-z0-9_-]+\n$/);
    const parser = new Parser();
    parser.push(text);
    parser.end();
    const m = parser.manifest;
    assert.ok(m.segments.length >= 2, 'segments parsed');
    assert.equal(m.targetDuration, 1);
    for (const seg of m.segments) {
      assert.match(seg.uri, /^seg_\d{5}\.ts\?hcs=[A-Za-z0-9_-]+$/);
      assert.ok(seg.programDateTime, 'program date-time kept');
    }
    const ranges = headcountDateRanges(text);
    assert.equal(ranges.length, 1, 'exactly one headcount DATERANGE');
    const { payload, id, startDate } = ranges[0];
    assert.equal(payload.v, 1);
    assert.equal(payload.m.length, 5);
    assert.equal(new Date(startDate).getTime(), new Date(payload.at).getTime(), 'START-DATE is the bucket start');
    assert.equal(id, `hc-${new Date(payload.at).getTime() / 1000}`);
    assert.ok(Buffer.byteLength(JSON.stringify(payload)) <= 1024);
  });

  test('ffprobe reads the served playlist over HTTP', () => {
    const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'json', playlistUrl()],
      { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 0, r.stderr);
    const codecs = JSON.parse(r.stdout).streams.map((s) => s.codec_name).sort();
    // The segments carry the payload in an ID3 timed-metadata stream too.
    assert.deepEqual(codecs, ['aac', 'h264', 'timed_id3']);
    ffprobeDoneAt = Date.now();
  });

  test('N simulated players count as exactly N viewers, in the API and in the stream', async () => {
    // ffprobe above fetched segments, so it was a viewer until its session
    // went idle; start from an empty room so that 5 means our 5 players.
    // A 0 counts only from a tick after that session's idle timeout: a tick
    // from before ffprobe's requests also says 0.
    await waitFor('ffprobe\'s session to expire', async () => {
      const c = await channel('demo');
      return c.viewers === 0 && new Date(c.at).getTime() >= ffprobeDoneAt + (IDLE_TIMEOUT_SECONDS + 1) * 1000;
    }, { timeoutMs: (IDLE_TIMEOUT_SECONDS + 4 * TICK_SECONDS) * 1000 });
    viewers = new Proc('viewers', BIN, ['viewers', '--url', playlistUrl(), '--count', '5', '--ramp', '1s']);
    await waitFor('the API to report 5 viewers', async () => (await channel('demo'))?.viewers === 5,
      { timeoutMs: 30000 });
    // It stays exactly 5 over the next ticks (our own playlist probes fetch no media and do not count).
    for (let i = 0; i < 3; i++) {
      await sleep(TICK_SECONDS * 1000);
      await fetchMediaPlaylist(playlistUrl());
      assert.equal((await channel('demo')).viewers, 5);
    }
    // The playlist carries the same numbers as the API, bucket for bucket.
    await waitFor('the playlist payload to match /api/channels', async () => {
      const api = await channel('demo');
      const [range] = headcountDateRanges((await fetchMediaPlaylist(playlistUrl())).text);
      if (!range || new Date(range.payload.at).getTime() !== new Date(api.at).getTime()) return false;
      assert.deepEqual(range.payload.m, api.buckets.map((b) => b.viewers));
      assert.equal(range.payload.m[4], 5);
      assert.equal(range.payload.trend, api.trend);
      return true;
    });
  });

  test('viewers who leave stop counting after the idle timeout', async () => {
    const { code } = await viewers.stop('SIGINT');
    assert.equal(code, 0, viewers.output);
    await waitFor('the API to report 0 viewers', async () => (await channel('demo')).viewers === 0,
      { timeoutMs: (IDLE_TIMEOUT_SECONDS + 3 * TICK_SECONDS) * 1000 });
  });

  test('headcount tick runs one tick in the server and prints its report', () => {
    const r = run(['tick', '--listen', `127.0.0.1:${port}`]);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.ok, true);
    assert.equal(report.seen, 1);
    assert.equal(report.published, 1);
  });

  test('headcount history prints what was stored', () => {
    const csv = run(['history', '--database', join(dir, 'headcount.db'), '--channel', 'demo', '--since', '10m']);
    assert.equal(csv.status, 0, csv.stderr);
    const lines = csv.stdout.trim().split('\n');
    assert.equal(lines[0], 'start,viewers');
    const counts = lines.slice(1).map((l) => Number(l.split(',')[1]));
    assert.ok(counts.includes(5), `a bucket with the 5 viewers: ${csv.stdout}`);
    const json = JSON.parse(run(['history', '--database', join(dir, 'headcount.db'), '--channel', 'demo', '--format', 'json']).stdout);
    assertSameSamples(csv.stdout, json.points);
  });

  test('headcount report sums up the stored samples per hour, in each format', () => {
    const db = join(dir, 'headcount.db');
    const history = JSON.parse(run(['history', '--database', db, '--channel', 'demo', '--since', '10m', '--format', 'json']).stdout);
    const json = run(['report', '--database', db, '--since', '10m', '--by', 'hour', '--format', 'json']);
    assert.equal(json.status, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.deepEqual(report.channels.map((c) => c.channel), ['demo'], 'every stored channel, without --channel');
    const { total } = report.channels[0];
    // The viewers left before this: the peak is the 5 and its first bucket is the history's.
    assert.equal(total.peak, 5);
    assert.equal(total.peak_at, history.points.find((p) => p.viewers === 5).start);
    assert.ok(total.live_minutes >= history.points.filter((p) => p.viewers !== null).length * TICK_SECONDS / 60);
    assert.ok(total.distinct_viewers >= 5, `the 5 viewers at least: ${JSON.stringify(total)}`);

    const table = run(['report', '--database', db, '--since', '10m', '--by', 'hour']);
    assert.equal(table.status, 0, table.stderr);
    const rows = table.stdout.trim().split('\n');
    assert.match(rows[0], /^CHANNEL\s+PERIOD\s+PEAK\s+PEAK AT \(UTC\)/);
    assert.match(rows.at(-1), /^demo\s+total\s+5\s+\d{4}-\d\d-\d\d \d\d:\d\d\s/);
    const csv = run(['report', '--database', db, '--since', '10m', '--channel', 'demo', '--format', 'csv']);
    assert.equal(csv.stdout.split('\n')[0], 'channel,start,peak,peak_at,average,viewer_minutes,live_minutes,distinct_viewers');
    assert.match(csv.stdout.split('\n')[1], /^demo,\d{4}-\d\d-\d\dT00:00:00Z,5,/);
    assert.equal(run(['report', '--database', db, '--by', 'week']).status, 2);
    assert.equal(run(['report', '--database', db, '--channel', '../etc']).status, 2);
  });

  test('the history API serves the same samples as CSV and JSON', async () => {
    const csv = await (await fetch(`${base}/api/channels/demo/history?since=10m&format=csv`)).text();
    const json = await getJson(`${base}/api/channels/demo/history?since=10m`);
    assertSameSamples(csv, json.points);
    assert.equal((await fetch(`${base}/api/channels/nope/history`)).status, 404);
    assert.equal((await fetch(`${base}/api/channels/demo/history?since=forever`)).status, 400);
  });

  test('/metrics speaks Prometheus and counts the ticks', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /^headcount_ticks_total\{result="ok"\} [1-9]\d*$/m);
    assert.match(text, /^headcount_channel_viewers\{channel="demo"\} \d+$/m);
  });

  test('docs/grafana/headcount.json queries what /metrics exports; promtool accepts /metrics', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const dashboard = JSON.parse(readFileSync(new URL('../../docs/grafana/headcount.json', import.meta.url), 'utf8'));
    assert.ok(dashboardQueries(dashboard).length >= 10, 'the dashboard has its panels');
    assert.deepEqual(checkDashboard(dashboard, text), []);
    // The check itself catches a misspelled metric and a label no series has.
    const broken = {
      panels: [
        { title: 'a', targets: [{ expr: 'sum(headcount_channel_viewer)' }] },
        { title: 'b', targets: [{ expr: 'sum by (chanel) (headcount_channel_viewers)' }] },
      ],
    };
    const problems = checkDashboard(broken, text).join('\n');
    assert.match(problems, /panel "a": headcount_channel_viewer is not a metric the server exports/);
    assert.match(problems, /panel "b": label "chanel" is on none of headcount_channel_viewers/);
    // Debian's prometheus package (scripts/setup) brings promtool: names,
    // units, _total counters and HELP text by Prometheus's own lint.
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(lint.error, undefined, 'promtool is installed (scripts/setup)');
    assert.equal(lint.status, 0, lint.stdout + lint.stderr);
  });

  test('SIGTERM stops serve cleanly', async () => {
    const { code } = await serve.stop('SIGTERM');
    assert.equal(code, 0, serve.output.slice(-2000));
    assert.match(serve.output, /stopped/);
  });
});
