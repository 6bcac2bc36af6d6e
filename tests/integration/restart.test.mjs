// Restarts and crashes of `headcount serve`: viewers keep counting once across
// a restart (the session key is kept beside the database), and SIGKILL at
// random moments, during ticks and writes, loses and duplicates nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';

import {
  Proc, cleanup, getJson, sized, sleep, startServe, startTestStream, startViewers, tempDir, waitFor,
} from './harness.mjs';

const TICK_SECONDS = 1;
// 20 in CI, 50 with HEADCOUNT_LONG_TESTS=1; HEADCOUNT_RESTART_KILLS sets it.
const KILLS = sized('HEADCOUNT_RESTART_KILLS', { ci: 20, long: 50 });

function sql(db, query) {
  const r = spawnSync('sqlite3', ['-batch', '-noheader', db, query], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

describe('serve restarts and crashes', () => {
  let dir;
  let port;
  before(async () => {
    dir = tempDir();
    await startTestStream(join(dir, 'hls'), 'demo');
  });
  after(async () => {
    await Proc.stopAll();
    cleanup(dir);
  });

  test('viewers still count once after a restart', async () => {
    let serve = await startServe(dir, { tickSeconds: TICK_SECONDS });
    port = serve.port;
    const key = statSync(join(dir, 'headcount.db.session-key'));
    assert.equal(key.mode & 0o777, 0o600, 'the session key is private');
    const viewers = startViewers(`${serve.base}/hls/demo/stream.m3u8`, 3);
    const demo = async () => (await getJson(`${serve.base}/api/channels`)).channels.find((c) => c.id === 'demo');
    await waitFor('3 viewers', async () => (await demo())?.viewers === 3, { timeoutMs: 20000 });

    assert.equal((await serve.proc.stop('SIGTERM')).code, 0);
    serve = await startServe(dir, { tickSeconds: TICK_SECONDS, port });
    // The players come back with the ids they had; with a new key every
    // reload would mint a new id and one player would count many times.
    await waitFor('3 viewers after the restart', async () => (await demo())?.viewers === 3, { timeoutMs: 20000 });
    for (let i = 0; i < 4; i++) {
      await sleep(TICK_SECONDS * 1000);
      assert.equal((await demo()).viewers, 3);
    }
    await viewers.stop('SIGINT');
    assert.equal((await serve.proc.stop('SIGTERM')).code, 0);
  });

  test(`${KILLS} SIGKILLs during ticks lose and duplicate nothing`, async () => {
    const db = join(dir, 'headcount.db');
    const storedBefore = new Set();
    for (let i = 0; i < KILLS; i++) {
      const serve = await startServe(dir, { tickSeconds: TICK_SECONDS, port });
      // Somewhere in the next tick or two: before, during or after a write.
      await sleep(Math.floor(Math.random() * 1500));
      const history = await getJson(`${serve.base}/api/channels/demo/history?since=1h`).catch(() => null);
      for (const p of history?.points ?? []) storedBefore.add(p.start);
      serve.proc.child.kill('SIGKILL');
      await serve.proc.exited;
    }
    assert.equal(sql(db, 'PRAGMA integrity_check;'), 'ok');
    assert.equal(sql(db, 'SELECT COUNT(*) FROM (SELECT channel, bucket FROM samples GROUP BY 1, 2 HAVING COUNT(*) > 1);'), '0');
    const stored = new Set(sql(db, "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', bucket, 'unixepoch') FROM samples WHERE channel = 'demo';").split('\n'));
    for (const start of storedBefore) assert.ok(stored.has(start), `bucket ${start} was stored before a kill and is gone`);

    // Ticks resume at the next boundary after a restart.
    const serve = await startServe(dir, { tickSeconds: TICK_SECONDS, port });
    const started = Date.now();
    const last = (await getJson(`${serve.base}/healthz`)).last_tick;
    await waitFor('a tick after the restart', async () => {
      const h = await getJson(`${serve.base}/healthz`);
      return h.last_tick && h.last_tick !== last;
    }, { timeoutMs: 5000 });
    assert.ok(Date.now() - started < (TICK_SECONDS * 1000) + 1500);
    assert.equal((await serve.proc.stop('SIGTERM')).code, 0);
  });
});
