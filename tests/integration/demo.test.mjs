// scripts/demo as a new user runs it, on the binary under test
// (HEADCOUNT_DEMO_BIN skips the setup and the build): it says when its port
// is taken and exits non-zero, and a run leaves nothing behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { readdirSync } from 'node:fs';

import { BIN, Proc, cleanup, freePort, tempDir, waitFor } from './harness.mjs';

const DEMO = new URL('../../scripts/demo', import.meta.url).pathname;

after(() => Proc.stopAll());

function demo(port, tmp, extra = {}) {
  return new Proc('demo', DEMO, [], {
    env: {
      ...process.env,
      HEADCOUNT_DEMO_BIN: BIN,
      HEADCOUNT_DEMO_PORT: String(port),
      HEADCOUNT_DEMO_TICK: '1s',
      HEADCOUNT_DEMO_VIEWERS: '2',
      HEADCOUNT_DEMO_RAMP: '1s',
      TMPDIR: tmp,
      ...extra,
    },
  });
}

test('a taken port stops the demo with exit 1 and says so', { timeout: 60_000 }, async () => {
  const tmp = tempDir('headcount-demo-test-');
  const taken = createServer();
  await new Promise((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address();
  try {
    const p = demo(port, tmp, { HEADCOUNT_DEMO_DURATION: '20' });
    const { code } = await p.exited;
    assert.equal(code, 1, p.output);
    assert.match(p.output, new RegExp(`demo: 127\\.0\\.0\\.1:${port} is taken .*HEADCOUNT_DEMO_PORT`));
    assert.doesNotMatch(p.output, /demo is running/);
    assert.deepEqual(readdirSync(tmp), [], 'no temporary folder left');
  } finally {
    taken.close();
    cleanup(tmp);
  }
});

test('the demo serves on its port and removes its data folder on exit', { timeout: 60_000 }, async () => {
  const tmp = tempDir('headcount-demo-test-');
  const port = await freePort();
  try {
    const p = demo(port, tmp, { HEADCOUNT_DEMO_DURATION: '6' });
    await waitFor('the demo to say it is running', () => /demo is running/.test(p.stdout), { timeoutMs: 30000 });
    assert.match(p.stdout, new RegExp(`dashboard +http://127\\.0\\.0\\.1:${port}/`));
    assert.match(p.stdout, /Data \(segments, database, session key\) in .*headcount-demo\.\w+, removed on exit/);
    const channels = await (await fetch(`http://127.0.0.1:${port}/api/channels`)).json();
    assert.ok(Array.isArray(channels.channels));
    assert.equal(readdirSync(tmp).length, 1, 'one data folder while it runs');
    const { code } = await p.exited;
    assert.equal(code, 0, p.output);
    assert.deepEqual(readdirSync(tmp), [], 'the data folder is removed on exit');
  } finally {
    cleanup(tmp);
  }
});
