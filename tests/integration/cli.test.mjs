// The command line as a user meets it: --help everywhere, and bad input or
// bad configuration is refused with exit code 2 and a message naming the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { cleanup, run, tempDir } from './harness.mjs';

test('--help explains every subcommand', () => {
  const top = run(['--help']);
  assert.equal(top.status, 0);
  for (const sub of ['serve', 'tick', 'history', 'report', 'viewers']) assert.match(top.stdout, new RegExp(sub));
  for (const sub of ['serve', 'tick', 'history', 'report', 'viewers']) {
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

test('--config works after the subcommand too, and wins over HEADCOUNT_CONFIG', () => {
  const dir = tempDir();
  try {
    const typo = join(dir, 'typo.toml');
    writeFileSync(typo, '[store]\nretenion = "7d"\n');
    const r = run(['serve', '--config', typo]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /store\.retenion \(file .*typo\.toml\): unknown setting/);

    const good = join(dir, 'good.toml');
    writeFileSync(good, `[store]\ndatabase = "${join(dir, 'from-file.db')}"\n`);
    const h = run(['history', '--config', good, '--channel', 'demo'], {
      env: { ...process.env, HEADCOUNT_CONFIG: typo },
    });
    assert.equal(h.status, 1, h.stderr); // the file's database, which does not exist
    assert.match(h.stderr, /from-file\.db/);
  } finally {
    cleanup(dir);
  }
});

// README.md's configuration table: { flag: { key, env, default } }, backticks removed.
function readmeSettings() {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Configuration\n'));
  assert.ok(section, 'README.md has a Configuration section');
  const rows = {};
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const [key, env, flag, def] = line.split('|').slice(1, 5).map((c) => c.replaceAll('`', '').trim());
    rows[flag] = { key, env, default: def };
  }
  return rows;
}

// The settings `headcount <sub> --help` lists: { flag: { env, default } }.
function helpSettings(sub) {
  const r = run([sub, '--help']);
  assert.equal(r.status, 0);
  // CLI11 puts a long flag's description on the next line: join them.
  const lines = r.stdout.replace(/\n {20,}/g, ' ').split('\n');
  const out = {};
  for (const line of lines) {
    const m = line.match(/^\s*(--[\w-]+) \S+\s+.*\(default (.*)\) \[env (HEADCOUNT_\w+)\]$/);
    if (m && m[3] !== 'HEADCOUNT_CONFIG') out[m[1]] = { env: m[3], default: m[2] };
  }
  return out;
}

test('--help and README.md give every setting the same variable and default', () => {
  const readme = readmeSettings();
  assert.ok(Object.keys(readme).length >= 20, 'README.md lists the settings');
  const serve = helpSettings('serve');
  assert.deepEqual(Object.keys(serve).sort(), Object.keys(readme).sort(), 'serve takes every setting');
  for (const sub of ['serve', 'tick', 'history', 'report']) {
    for (const [flag, help] of Object.entries(helpSettings(sub))) {
      assert.ok(readme[flag], `${sub} ${flag} is in README.md`);
      assert.equal(help.env, readme[flag].env, `${sub} ${flag}: variable`);
      assert.equal(help.default, readme[flag].default, `${sub} ${flag}: default`);
    }
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
