// The Lambda zip (scripts/package-lambda): unzipped into an empty directory,
// it must run with nothing from the system but the kernel: bootstrap at the
// root, every library the binary needs (libc and the loader included) in lib/,
// and nothing resolving outside the directory. Then `bootstrap` itself runs
// against the Runtime API emulator, the IVS emulator and dynalite, with only
// the variables Lambda sets.
//
// Packages HEADCOUNT_LAMBDA_BIN, else HEADCOUNT_BIN, when one is set
// (scripts/test: the unsanitized CI build, the kind of binary that is
// deployed), else builds the release binary; a zip newer than that binary and
// the script is reused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { Proc, cleanup, getJson, startDynalite, startIvsEmulator, tempDir } from '../integration/harness.mjs';
import { RuntimeApiEmulator } from './runtime_api_emulator.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const SCRIPT = join(ROOT, 'scripts/package-lambda');
const OUT = join(ROOT, 'build/lambda');
const ZIP = join(OUT, 'lambda.zip');

function packageZip() {
  const binary = process.env.HEADCOUNT_LAMBDA_BIN ?? process.env.HEADCOUNT_BIN;
  if (binary && existsSync(ZIP) && existsSync(join(OUT, 'binary.txt'))) {
    const zipTime = statSync(ZIP).mtimeMs;
    const fresh = readFileSync(join(OUT, 'binary.txt'), 'utf8').trim() === realpathSync(binary)
      && zipTime > statSync(binary).mtimeMs && zipTime > statSync(SCRIPT).mtimeMs;
    if (fresh) return;
  }
  const env = { ...process.env };
  if (binary) env.HEADCOUNT_PACKAGE_BINARY = realpathSync(binary);
  execFileSync(SCRIPT, { env, stdio: ['ignore', 'inherit', 'inherit'], timeout: 30 * 60 * 1000 });
}

const needed = (file) => execFileSync('readelf', ['-d', file], { encoding: 'utf8', env: { LC_ALL: 'C', PATH: process.env.PATH } })
  .split('\n').map((l) => /\(NEEDED\)\s+Shared library: \[(.+)\]/.exec(l)?.[1]).filter(Boolean);

describe('lambda.zip', () => {
  let dir;
  let loader;
  let hasLambda;

  before(() => {
    packageZip();
    dir = tempDir('headcount-zip-');
    execFileSync('unzip', ['-q', ZIP, '-d', dir]);
    loader = readdirSync(join(dir, 'lib')).find((f) => /^ld-linux-.*\.so\.\d$/.test(f));
    assert.ok(loader, 'lib/ has the dynamic loader');
    loader = join(dir, 'lib', loader);
    // `headcount lambda` is in the source tree: the packaged binary must have it.
    hasLambda = existsSync(join(ROOT, 'src/cli/lambda.cc'));
    if (hasLambda) assert.match(runBundled(['--help']).stdout, /^\s+lambda\s/m, 'the binary has `headcount lambda`');
  });
  after(async () => {
    await Proc.stopAll();
    cleanup(dir);
  });

  // Runs bin/headcount through the bundled loader with an empty environment.
  function runBundled(args, env = {}) {
    return spawnSync('/usr/bin/env', ['-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      loader, '--library-path', join(dir, 'lib'), join(dir, 'bin/headcount'), ...args], { encoding: 'utf8', timeout: 30000 });
  }

  test('layout: bootstrap (executable) at the root, bin/headcount, lib/, arch.txt', () => {
    const entries = execFileSync('unzip', ['-Z1', ZIP], { encoding: 'utf8' }).trim().split('\n');
    assert.ok(entries.includes('bootstrap'), entries.join(' '));
    assert.ok(entries.includes('bin/headcount'));
    for (const e of entries) assert.match(e, /^(bootstrap|bin\/headcount|lib\/[^/]+)$/);
    assert.deepEqual([...entries].sort(), entries, 'sorted entries');
    for (const f of ['bootstrap', 'bin/headcount', `lib/${loader.split('/').pop()}`]) {
      assert.ok(statSync(join(dir, f)).mode & 0o100, `${f} is executable`);
    }
    const bootstrap = readFileSync(join(dir, 'bootstrap'), 'utf8');
    assert.match(bootstrap, /^#!\/bin\/sh\n/);
    assert.match(bootstrap, /exec "\$LAMBDA_TASK_ROOT\/lib\/ld-linux-[^"]+" --library-path "\$LAMBDA_TASK_ROOT\/lib" "\$LAMBDA_TASK_ROOT\/bin\/headcount" lambda/);
    assert.match(readFileSync(join(OUT, 'arch.txt'), 'utf8'), /^(x86_64|aarch64)\n$/);
  });

  test('every NEEDED library, of the binary and of each library, is in lib/', () => {
    const libs = new Set(readdirSync(join(dir, 'lib')));
    const files = [join(dir, 'bin/headcount'), ...[...libs].map((l) => join(dir, 'lib', l))];
    for (const f of files) {
      for (const n of needed(f)) assert.ok(libs.has(n), `${f} needs ${n}, not in lib/`);
    }
    assert.ok(needed(join(dir, 'bin/headcount')).includes('libc.so.6'));
    assert.ok(libs.has('libc.so.6'));
  });

  // The release build links everything but glibc in (HEADCOUNT_STATIC), so
  // a cold start loads nothing else.
  test('the binary needs only glibc: libc, libm and the loader', () => {
    const loaderName = loader.split('/').pop();
    assert.deepEqual(needed(join(dir, 'bin/headcount')).filter((n) => n !== loaderName).sort(),
      ['libc.so.6', 'libm.so.6']);
    assert.deepEqual(readdirSync(join(dir, 'lib')).sort(), ['libc.so.6', 'libm.so.6', loaderName].sort());
  });

  test('the bundled loader resolves every library inside the directory', () => {
    const list = spawnSync('/usr/bin/env', ['-i', loader, '--library-path', join(dir, 'lib'), '--list', join(dir, 'bin/headcount')],
      { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    const resolved = list.stdout.split('\n').map((l) => /=>\s+(\S+)/.exec(l)?.[1]).filter(Boolean);
    assert.ok(resolved.length >= 3, list.stdout);
    for (const p of resolved) assert.ok(p.startsWith(`${dir}/`), `${p} resolves outside the zip:\n${list.stdout}`);
    assert.doesNotMatch(list.stdout, /not found/);
  });

  test('runs with an empty environment; LD_DEBUG shows only files from the zip', () => {
    const r = runBundled(['--version'], { LD_DEBUG: 'libs' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\d+\.\d+/);
    const loaded = r.stderr.split('\n').map((l) => /calling init: (\S+)/.exec(l)?.[1]).filter(Boolean);
    assert.ok(loaded.length >= 3, r.stderr.slice(0, 2000));
    for (const p of loaded) assert.ok(p.startsWith(`${dir}/`), `${p} loaded from outside the zip`);
  });

  test('bootstrap with no AWS_LAMBDA_RUNTIME_API: a clear error, non-zero exit', (t) => {
    if (!hasLambda) return t.skip('no `headcount lambda` in src/ yet');
    const r = spawnSync('/usr/bin/env', ['-i', `LAMBDA_TASK_ROOT=${dir}`, join(dir, 'bootstrap')], { encoding: 'utf8', timeout: 30000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stdout + r.stderr, /AWS_LAMBDA_RUNTIME_API/);
  });

  describe('bootstrap against the Runtime API emulator', () => {
    const ACCESS_KEY_ID = 'AKIDHEADCOUNTZIP';
    const SECRET = 'hcZipSecret123/NeverPrinted+xyz';
    const emulators = [];
    let ivs;
    let dynamo;

    // Only what Lambda sets (plus the emulators' endpoints and our settings).
    async function startBootstrap(extraEnv = {}) {
      const rt = new RuntimeApiEmulator();
      emulators.push(rt);
      const env = {
        LAMBDA_TASK_ROOT: dir, AWS_LAMBDA_RUNTIME_API: await rt.start(), _HANDLER: 'bootstrap',
        AWS_REGION: 'us-west-2', AWS_ACCESS_KEY_ID: ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET,
        AWS_LAMBDA_FUNCTION_NAME: 'headcount', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
        AWS_ENDPOINT_URL_IVS: ivs.url, AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
        HEADCOUNT_SOURCE: 'ivs', HEADCOUNT_STORE: 'dynamodb', HEADCOUNT_DYNAMODB_TABLE: 'zip-viewers',
        HEADCOUNT_DYNAMODB_CREATE_TABLE: 'true', HEADCOUNT_TICK_INTERVAL: '10s', ...extraEnv,
      };
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
      const proc = new Proc('bootstrap', join(dir, 'bootstrap'), [], { env, cwd: dir });
      return { rt, proc };
    }

    before(async () => {
      if (!hasLambda) return;
      ivs = await startIvsEmulator({ channels: 5, offlineFraction: 0.2, viewers: 3, accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET });
      dynamo = await startDynalite();
    });
    after(async () => {
      await Proc.stopAll();
      for (const rt of emulators) await rt.close();
    });

    test('two invocations: two tick reports, PutMetadata for every live channel', async (t) => {
      if (!hasLambda) return t.skip('no `headcount lambda` in src/ yet');
      const { rt, proc } = await startBootstrap();
      rt.invoke(2);
      await rt.waitUntil('2 responses', (s) => s.responses.length === 2 || s.initErrors.length > 0, 60000)
        .catch((e) => { throw new Error(`${e.message}\n${proc.output}`); });
      assert.deepEqual(rt.initErrors, [], proc.output);
      assert.deepEqual(rt.errors, [], proc.output);
      for (const r of rt.responses) assert.equal(r.json.ok, true, r.body);
      const sent = await getJson(`${ivs.url}/_emulator/metadata`);
      assert.ok(sent.length >= 2 * 4, JSON.stringify(sent).slice(0, 500));
      assert.doesNotMatch(proc.output, new RegExp(SECRET.replace(/[+/]/g, '\\$&')));
      await proc.stop();
    });

    test('bad configuration: init/error, non-zero exit', async (t) => {
      if (!hasLambda) return t.skip('no `headcount lambda` in src/ yet');
      const { rt, proc } = await startBootstrap({ HEADCOUNT_SOURCE: undefined });
      const { code } = await proc.exited;
      assert.notEqual(code, 0, proc.output);
      assert.equal(rt.initErrors.length, 1, proc.output);
    });
  });
});
