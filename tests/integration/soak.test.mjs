// A long `headcount serve` run under load: ticks every second over two live
// channels while simulated viewers come and go and clients poll every route.
// It must stop on SIGTERM with exit 0. scripts/test runs this against the
// ASan+UBSan build, whose LeakSanitizer turns any leak at exit into a non-zero
// exit code (and a report that scripts/test prints), so this is the leak check
// of a long serve run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import {
  Proc, sized, cleanup, getJson, sleep, startServe, startTestStream, startViewers, tempDir, waitFor,
} from './harness.mjs';

// 20 s in CI, a minute with HEADCOUNT_LONG_TESTS=1; HEADCOUNT_SOAK_SECONDS sets it.
const RUN_SECONDS = sized('HEADCOUNT_SOAK_SECONDS', { ci: 20, long: 60 });
const TICK_SECONDS = 1;

describe('a long serve run', () => {
  let dir;
  before(async () => {
    dir = tempDir();
    await startTestStream(join(dir, 'hls'), 'alpha');
    await startTestStream(join(dir, 'hls'), 'beta');
  });
  after(async () => {
    await Proc.stopAll();
    cleanup(dir);
  });

  test(`${RUN_SECONDS} s of ticks, viewers and API polling end cleanly`, async () => {
    const serve = await startServe(dir, { tickSeconds: TICK_SECONDS, idleTimeoutSeconds: 3 });
    const channel = async (id) => (await getJson(`${serve.base}/api/channels`)).channels.find((c) => c.id === id);
    const steady = startViewers(`${serve.base}/hls/alpha/stream.m3u8`, 4);
    await waitFor('4 viewers on alpha', async () => (await channel('alpha'))?.viewers === 4, { timeoutMs: 30000 });

    const started = Date.now();
    let churned = 0;
    let polls = 0;
    const routes = [
      '/api/channels', '/api/channels/alpha/history?since=1h', '/api/channels/beta/history?since=1h&format=csv',
      '/metrics', '/healthz', '/', '/watch/alpha', '/hls/beta/stream.m3u8', '/hls/nope/stream.m3u8',
    ];
    while (Date.now() - started < RUN_SECONDS * 1000) {
      // Viewers that arrive, watch a few seconds and leave (their sessions expire).
      const passing = startViewers(`${serve.base}/hls/beta/stream.m3u8`, 3, { ramp: '500ms' });
      for (let i = 0; i < 8; i += 1) {
        const res = await fetch(`${serve.base}${routes[polls % routes.length]}`);
        await res.arrayBuffer();
        assert.ok(res.status < 500, `${routes[polls % routes.length]}: HTTP ${res.status}`);
        polls += 1;
        await sleep(250);
      }
      const stopped = await passing.stop('SIGINT');
      assert.equal(stopped.code, 0, passing.output);
      churned += 3;
    }

    const alpha = await channel('alpha');
    assert.equal(alpha.viewers, 4, 'the steady viewers are still counted once each');
    const history = await getJson(`${serve.base}/api/channels/alpha/history?since=1h`);
    assert.ok(history.points.length >= RUN_SECONDS / TICK_SECONDS / 2,
      `${history.points.length} stored minutes of alpha in a ${RUN_SECONDS} s run with a ${TICK_SECONDS} s tick`);

    await steady.stop('SIGINT');
    const exit = await serve.proc.stop('SIGTERM', 20000);
    assert.deepEqual(exit, { code: 0, signal: null },
      `serve after ${churned} passing viewers and ${polls} polls:\n${serve.proc.output.slice(-4000)}`);
    assert.doesNotMatch(serve.proc.output, /Sanitizer|runtime error:/);
  });
});
