// The command line as a user meets it: --help everywhere, and bad input or
// bad configuration is refused with exit code 2 and a message naming the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { cleanup, run, tempDir } from './harness.mjs';

test('--help explains every subcommand', () => {
  const top = run(['--help']);
  assert.equal(top.status, 0);
  for (const sub of ['serve', 'tick', 'history', 'viewers']) assert.match(top.stdout, new RegExp(sub));
  for (const sub of ['serve', 'tick', 'history', 'viewers']) {
    const r = run([sub, '--help']);
    assert.equal(r.status, 0, `${sub} --help`);
    assert.match(r.stdout, /--/);
  }
  assert.match(run(['serve', '--help']).stdout, /--tick-interval/);
});

test('a bad flag value exits 2 naming the key and the reason', () => {
  const r = run(['serve', '--tick-interval', '7s']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /tick\.interval \(flag --tick-interval\): must divide a minute/);
});

test('a bad environment value exits 2 naming the variable', () => {
  const r = run(['serve'], { env: { ...process.env, HEADCOUNT_LISTEN: 'nowhere' } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /server\.listen \(env HEADCOUNT_LISTEN\)/);
});

test('a config file typo exits 2 naming the key', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'headcount.toml'), '[store]\nretenion = "7d"\n');
    const r = run(['--config', join(dir, 'headcount.toml'), 'serve']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /store\.retenion .*unknown setting/);
  } finally {
    cleanup(dir);
  }
});

test('unknown subcommands and missing arguments exit 2', () => {
  assert.equal(run(['frobnicate']).status, 2);
  assert.equal(run(['history']).status, 2);
  assert.equal(run(['viewers', '--url', 'http://127.0.0.1:1/x.m3u8', '--count', '0']).status, 2);
});

test('history of a database that does not exist fails clearly', () => {
  const dir = tempDir();
  try {
    const r = run(['history', '--database', join(dir, 'missing.db'), '--channel', 'demo']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /missing\.db/);
  } finally {
    cleanup(dir);
  }
});

test('tick without a server says what to do', () => {
  const r = run(['tick', '--server', 'http://127.0.0.1:9', '--timeout', '5s']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /is `headcount serve` running/);
});
