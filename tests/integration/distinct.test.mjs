// Distinct viewers in the audience summary, as a user checks them: N
// simulated players (`headcount viewers --count N`) and one hand-made viewer
// that leaves and comes back with its session id, across a restart of
// `headcount serve`; the summary API and `headcount report` must say N + 1,
// never counting the returning viewer twice.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import {
  Proc, cleanup, getJson, run, sleep, startServe, startTestStream, startViewers, tempDir, viewersOf, waitFor,
} from './harness.mjs';

const TICK_SECONDS = 2;
const IDLE_TIMEOUT_SECONDS = 4;
const SIMULATED = 5;

describe('distinct viewers: simulated players and a viewer who comes back', () => {
  let dir;
  let serve;
  const summary = () => getJson(`${serve.base}/api/channels/demo/summary?since=1h&by=hour`);

  // One viewer by hand: its session id (a new one when not given) and one
  // segment fetched with it, which makes it a viewer (again, once expired).
  async function watchOnce(base, id) {
    if (!id) {
      const wrapper = await (await fetch(`${base}/hls/demo/stream.m3u8`)).text();
      [, id] = wrapper.match(/hcs=([A-Za-z0-9_-]+)/);
    }
    const media = await (await fetch(`${base}/hls/demo/stream.m3u8?hcs=${id}`)).text();
    const segment = media.split('\n').find((l) => l && !l.startsWith('#'));
    assert.match(segment, new RegExp(`hcs=${id}`), 'segment URIs carry the session');
    const res = await fetch(new URL(segment, `${base}/hls/demo/stream.m3u8`));
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    return id;
  }

  before(async () => {
    dir = tempDir();
    await startTestStream(join(dir, 'hls'), 'demo');
    serve = await startServe(dir, { tickSeconds: TICK_SECONDS, idleTimeoutSeconds: IDLE_TIMEOUT_SECONDS });
  });

  after(async () => {
    await Proc.stopAll();
    cleanup(dir);
  });

  test(`${SIMULATED} simulated viewers and one who comes back count ${SIMULATED + 1}, before and after a restart`, async () => {
    const viewers = startViewers(`${serve.base}/hls/demo/stream.m3u8`, SIMULATED);
    await waitFor(`the ${SIMULATED} viewers counted`, async () => (await viewersOf(serve.base, 'demo')) === SIMULATED,
      { timeoutMs: 30000 });
    await viewers.stop('SIGTERM');

    const id = await watchOnce(serve.base);
    // Gone for longer than the idle timeout, then back with the same id:
    // a new session in the table, the same viewer in the sketch.
    await sleep((IDLE_TIMEOUT_SECONDS + 2) * 1000);
    await watchOnce(serve.base, id);
    const doc = await waitFor(`distinct_viewers ${SIMULATED + 1} in the summary`, async () => {
      const s = await summary();
      return s.total.distinct_viewers === SIMULATED + 1 ? s : null;
    }, { timeoutMs: 20000 });
    for (const p of doc.periods) assert.ok(p.distinct_viewers <= SIMULATED + 1, JSON.stringify(p));
    await sleep(2 * TICK_SECONDS * 1000);  // more ticks merge the same sketch again
    assert.equal((await summary()).total.distinct_viewers, SIMULATED + 1, 'merging again adds nobody');
    // /metrics says the sketches went into the store after the ticks and
    // nothing waits or was lost.
    const metric = async (series) => {
      const text = await (await fetch(`${serve.base}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    assert.ok(await metric('headcount_distinct_flushes_total{result="ok"}') >= 2);
    assert.equal(await metric('headcount_distinct_flushes_total{result="failed"}'), undefined);
    assert.equal(await metric('headcount_distinct_sketches_pending'), 0);
    assert.equal(await metric('headcount_distinct_sketches_dropped_total'), 0);

    // The node merges its sketch into the database when it stops; the next
    // one merges into what is stored, and the viewer coming back is no one new.
    assert.equal((await serve.proc.stop('SIGTERM')).code, 0);
    serve = await startServe(dir, { tickSeconds: TICK_SECONDS, idleTimeoutSeconds: IDLE_TIMEOUT_SECONDS, port: serve.port });
    await watchOnce(serve.base, id);
    const second = await watchOnce(serve.base);  // and one new viewer
    assert.notEqual(second, id);
    await waitFor(`distinct_viewers ${SIMULATED + 2} after the restart`, async () =>
      (await summary()).total.distinct_viewers === SIMULATED + 2, { timeoutMs: 20000 });
  });

  test('headcount report shows the same distinct viewers in JSON, CSV and the table', async () => {
    const db = join(dir, 'headcount.db');
    const expected = (await summary()).total.distinct_viewers;
    assert.equal(expected, SIMULATED + 2);
    const json = run(['report', '--database', db, '--since', '1h', '--by', 'hour', '--format', 'json']);
    assert.equal(json.status, 0, json.stderr);
    const { periods, total } = JSON.parse(json.stdout).channels[0];
    assert.equal(total.distinct_viewers, expected);
    // The CSV has no total: its rows are the JSON's periods (one, or two
    // when the test runs across a UTC hour).
    const csv = run(['report', '--database', db, '--since', '1h', '--by', 'hour', '--format', 'csv']);
    const [header, ...rows] = csv.stdout.trim().split('\n');
    assert.equal(header, 'channel,start,peak,peak_at,average,viewer_minutes,live_minutes,distinct_viewers');
    assert.deepEqual(rows.map((r) => Number(r.split(',').at(-1))), periods.map((p) => p.distinct_viewers));
    const table = run(['report', '--database', db, '--since', '1h']);
    assert.match(table.stdout.split('\n')[0], /LIVE-MIN\s+DISTINCT$/);
    assert.match(table.stdout.trim().split('\n').at(-1), new RegExp(`^demo\\s+total\\s.*\\s${expected}$`));
  });
});
