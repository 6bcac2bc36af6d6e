// Test harness for headcount's integration tests: starts the real processes
// (ffmpeg, headcount serve, headcount viewers), waits for conditions, and
// stops everything it started, even when a test fails.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BIN = process.env.HEADCOUNT_BIN ?? new URL('../../build/ci/headcount', import.meta.url).pathname;
export const IVS_EMULATOR_BIN =
  process.env.HEADCOUNT_IVS_EMULATOR_BIN ?? new URL('../../build/ci/headcount-ivs-emulator', import.meta.url).pathname;

// HEADCOUNT_LONG_TESTS=1 runs the soak and crash loops at their long size
// (docs/operations.md); scripts/test runs them sized for CI.
export const LONG_TESTS = process.env.HEADCOUNT_LONG_TESTS === '1';

// A test's size knob: the environment variable `name` when set (a positive
// number), else `long` under HEADCOUNT_LONG_TESTS=1, else `ci`.
export function sized(name, { ci, long }) {
  const text = process.env[name];
  if (text === undefined || text === '') return LONG_TESTS ? long : ci;
  const n = Number(text);
  if (!(n > 0)) throw new Error(`${name}=${text}: expected a positive number`);
  return n;
}

export function tempDir(prefix = 'headcount-it-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `probe` until it returns a truthy value; fails with `what` after `timeoutMs`.
export async function waitFor(what, probe, { timeoutMs = 20000, intervalMs = 200 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last?.stack ?? JSON.stringify(last)}`);
}

// A child process whose output is kept (for failure messages) and which is
// killed when the test run ends.
export class Proc {
  constructor(name, cmd, args, opts = {}) {
    this.name = name;
    this.output = '';
    this.stdout = '';  // stdout alone (output has both streams)
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    const keep = (d) => {
      this.output += d.toString();
      if (this.output.length > 200000) this.output = this.output.slice(-100000);
    };
    this.child.stdout.on('data', (d) => {
      if (this.stdout.length < 1000000) this.stdout += d.toString();
    });
    this.child.stdout.on('data', keep);
    this.child.stderr.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => resolve({ code, signal }));
      // A program that could not start (ENOENT: not built) never exits:
      // its output says why, and whoever waits for its exit goes on.
      this.child.on('error', (error) => {
        if (this.child.pid !== undefined) return;
        this.output += `${name}: cannot start ${cmd}: ${error.message}\n`;
        resolve({ code: null, signal: null, error });
      });
    });
    Proc.all.add(this);
  }

  // Sends `signal` and waits for the exit; SIGKILL after `graceMs`.
  async stop(signal = 'SIGTERM', graceMs = 10000) {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const result = await this.exited;
    clearTimeout(timer);
    Proc.all.delete(this);
    return result;
  }

  static all = new Set();
  static async stopAll() {
    await Promise.all([...Proc.all].map((p) => p.stop('SIGKILL')));
  }
}

// ffmpeg writing a live HLS test stream (1 s segments with program date-time)
// into <root>/<channel>/stream.m3u8, as scripts/demo does. `fmp4`: fMP4
// segments (init.mp4 and seg_N.m4s, -hls_segment_type fmp4) instead of TS;
// `programDateTime: false`: no EXT-X-PROGRAM-DATE-TIME (so no DATERANGE).
export async function startTestStream(root, channel, { fmp4 = false, programDateTime = true } = {}) {
  const dir = join(root, channel);
  mkdirSync(dir, { recursive: true });
  const flags = ['delete_segments', programDateTime && 'program_date_time', 'independent_segments', 'temp_file', 'omit_endlist'];
  const segments = fmp4
    ? ['-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', 'init.mp4', '-hls_segment_filename', join(dir, 'seg_%05d.m4s')]
    : ['-hls_segment_filename', join(dir, 'seg_%05d.ts')];
  const p = new Proc(`ffmpeg ${channel}`, 'ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=15',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
    '-g', '15', '-keyint_min', '15', '-sc_threshold', '0', '-c:a', 'aac',
    '-f', 'hls', '-hls_time', '1', '-hls_list_size', '6',
    '-hls_flags', flags.filter(Boolean).join('+'), ...segments, join(dir, 'stream.m3u8'),
  ]);
  await waitFor(`ffmpeg to write ${channel}/stream.m3u8`, () => existsSync(join(dir, 'stream.m3u8')));
  return p;
}

// `headcount serve` on `port` (default: a free one) over <dir>/hls and
// <dir>/headcount.db, answering /healthz: { proc, port, base }. `extraArgs`
// are added flags; `env`, when given, is its whole environment; `hlsRoot`
// serves another folder than <dir>/hls; `upstream` (a URL template) serves
// that upstream HLS server instead of a folder (proxy mode).
export async function startServe(dir, { tickSeconds = 2, idleTimeoutSeconds = 4, extraArgs = [], port, env, hlsRoot, upstream } = {}) {
  port ??= await freePort();
  const base = `http://127.0.0.1:${port}`;
  const source = upstream ? ['--upstream', upstream] : ['--hls-root', hlsRoot ?? join(dir, 'hls')];
  const proc = new Proc('serve', BIN, [
    'serve', '--listen', `127.0.0.1:${port}`, ...source,
    '--database', join(dir, 'headcount.db'), '--tick-interval', `${tickSeconds}s`,
    '--session-idle-timeout', `${idleTimeoutSeconds}s`, ...extraArgs,
  ], env ? { env } : {});
  await waitFor('serve to answer /healthz', async () => (await fetch(`${base}/healthz`)).ok);
  return { proc, port, base };
}

// Debian's nginx, unprivileged, one process (master_process off, so any
// signal stops it and no worker is left holding the port or the test's
// pipes), its config, pid, logs and temp folders under `confDir`; `http`:
// the inside of its http block, for `port`. { proc, port, base }.
export async function runNginx(name, confDir, port, http) {
  mkdirSync(confDir, { recursive: true });
  const temp = (folder) => `${folder}_temp_path ${join(confDir, folder)};`;
  writeFileSync(join(confDir, 'nginx.conf'), `daemon off;
master_process off;
pid ${confDir}/nginx.pid;
error_log ${confDir}/error.log warn;
events { worker_connections 1024; }
http {
  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}
${http}
}
`);
  const proc = new Proc(name, 'nginx', ['-e', join(confDir, 'error.log'), '-p', confDir, '-c', join(confDir, 'nginx.conf')]);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${name} to answer`, async () => (await fetch(`${base}/`)).status > 0);
  return { proc, port, base };
}

// Debian's nginx serving `root` statically on 127.0.0.1:`port` (default: a
// free one), each request logged to <confDir>/access.log as "<status>
// <uri>". { proc, port, base, accessLog }.
export async function startNginx(root, confDir, { port } = {}) {
  port ??= await freePort();
  const accessLog = join(confDir, 'access.log');
  const nginx = await runNginx('nginx', confDir, port, `  log_format upstream_test '$status $request_uri';
  access_log ${accessLog} upstream_test;
  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; video/iso.segment m4s; video/mp4 mp4; }
  server { listen 127.0.0.1:${port}; root ${root}; }`);
  return { ...nginx, accessLog };
}

// Debian's nginx as a reverse proxy in front of 127.0.0.1:`originPort`, as
// sites put one in front of headcount: HTTP/1.1 keep-alive to the origin,
// X-Forwarded-For, and nginx's defaults otherwise (response buffering on).
// { proc, port, base }.
export async function startNginxProxy(confDir, originPort) {
  const port = await freePort();
  return runNginx('nginx proxy', confDir, port, `  access_log off;
  upstream origin { server 127.0.0.1:${originPort}; keepalive 8; }
  server {
    listen 127.0.0.1:${port};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    location / { proxy_pass http://origin; }
  }`);
}

// Debian's nginx as a caching CDN in front of 127.0.0.1:`originPort`, as
// README's "Behind a CDN" sets one up: /hls/ cached as the origin's
// Cache-Control says (misses and refreshes of one URL collapsed into one
// origin request, served stale while updating), with request-mode CMCD
// (?CMCD=) left out of the cache key; /api/ passed on; X-Forwarded-For.
// { proc, port, base }.
export async function startNginxCdn(confDir, originPort) {
  const port = await freePort();
  return runNginx('nginx cdn', confDir, port, `  access_log off;
  proxy_cache_path ${join(confDir, 'cache')} levels=1:2 keys_zone=hls:10m max_size=200m inactive=10m use_temp_path=off;
  # README "Behind a CDN": the cache key leaves request-mode CMCD out.
  map $args $args_without_cmcd {
    default                           $args;
    "~^CMCD=[^&]*&?(?<b>.*)$"         $b;
    "~^(?<a>.*)&CMCD=[^&]*(?<b>.*)$"  $a$b;
  }
  upstream origin { server 127.0.0.1:${originPort}; keepalive 8; }
  server {
    listen 127.0.0.1:${port};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    # One origin request per expiry: the lock collapses the misses of a new
    # entry; the refresh of an expired one runs in the background while the
    # stale copy is served, for as long as the origin's
    # stale-while-revalidate allows (README: no "proxy_cache_use_stale updating").
    location /hls/ {
      proxy_pass http://origin; proxy_cache hls; proxy_cache_lock on;
      proxy_cache_background_update on;
      proxy_cache_key $scheme$proxy_host$uri?$args_without_cmcd;
    }
    location /api/ { proxy_pass http://origin; }
  }`);
}

// `headcount viewers`: `count` simulated players of `url`, all there after `ramp`.
export function startViewers(url, count, { ramp = '1s' } = {}) {
  return new Proc(`viewers x${count}`, BIN, ['viewers', '--url', url, '--count', String(count), '--ramp', ramp, '--log-level', 'warn']);
}

export function run(args, opts = {}) {
  return spawnSync(BIN, args, { encoding: 'utf8', timeout: 60000, ...opts });
}

export async function getJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

// A channel's viewers as /api/channels gives them (undefined: not listed).
export async function viewersOf(base, channel) {
  const { channels } = await getJson(`${base}/api/channels`);
  return channels.find((c) => c.id === channel)?.viewers;
}

// A channel's counted CMCD sids, from /metrics (0 when it has none).
export async function cmcdSidsOf(base, channel) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^headcount_cmcd_active_sids\\{channel="${channel}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

// The media playlist at `url` as a player gets it: a request with no session
// is answered with a one-variant multivariant playlist whose variant URI
// carries one; that URI is followed (playlists alone never make a viewer).
export async function fetchMediaPlaylist(url) {
  const first = await (await fetch(url)).text();
  if (!first.includes('#EXT-X-STREAM-INF')) return { text: first, url };
  const variant = first.split('\n').find((l) => l && !l.startsWith('#'));
  const variantUrl = new URL(variant, url).href;
  return { text: await (await fetch(variantUrl)).text(), url: variantUrl, wrapper: first };
}

// The headcount DATERANGE of a playlist, decoded: { id, startDate, payload }.
export function headcountDateRanges(playlist) {
  const out = [];
  for (const line of playlist.split('\n')) {
    if (!line.startsWith('#EXT-X-DATERANGE:')) continue;
    const attrs = {};
    for (const m of line.slice('#EXT-X-DATERANGE:'.length).matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) {
      attrs[m[1]] = m[2].startsWith('"') ? m[2].slice(1, -1) : m[2];
    }
    if (attrs.CLASS !== 'com.headcount.viewers') continue;
    out.push({
      id: attrs.ID,
      startDate: attrs['START-DATE'],
      payload: JSON.parse(Buffer.from(attrs['X-HEADCOUNT'], 'base64').toString('utf8')),
    });
  }
  return out;
}

// headcount-ivs-emulator on a free port with `channels` channels (a fifth
// offline with offlineFraction 0.2), each with `viewers` viewers, accepting
// only the given credentials: { proc, url }. `viewers` is a count, or an
// emulator --viewers model such as 'random:50:5'.
export async function startIvsEmulator({ channels = 30, offlineFraction = 0.2, viewers = 7,
  accessKeyId, secretAccessKey, extra = [] } = {}) {
  if (!existsSync(IVS_EMULATOR_BIN)) {
    throw new Error(`no IVS emulator at ${IVS_EMULATOR_BIN}: build it (scripts/build asan headcount-ivs-emulator) or set HEADCOUNT_IVS_EMULATOR_BIN`);
  }
  const proc = new Proc('ivs-emulator', IVS_EMULATOR_BIN, [
    '--listen', '127.0.0.1:0', '--channels', String(channels), '--offline-fraction', String(offlineFraction),
    '--viewers', typeof viewers === 'number' ? `fixed:${viewers}` : viewers, '--access-key-id', accessKeyId, '--secret-access-key', secretAccessKey,
    ...extra,
  ]);
  const first = await new Promise((resolve, reject) => {
    createInterface({ input: proc.child.stdout }).once('line', resolve);
    proc.child.once('error', reject);  // e.g. ENOENT: not built
    proc.child.once('exit', (code) => reject(new Error(`ivs emulator exited ${code}: ${proc.output}`)));
  });
  return { proc, url: first.replace('listening on ', '').trim() };
}

// dynalite (a DynamoDB implementation, from node_modules) on a free port: { proc, url }.
export async function startDynalite() {
  const port = await freePort();
  const proc = new Proc('dynalite', process.execPath, [
    new URL('../../node_modules/dynalite/cli.js', import.meta.url).pathname,
    '--port', String(port), '--createTableMs', '0', '--deleteTableMs', '0', '--updateTableMs', '0',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('dynalite', async () => (await fetch(url, { method: 'POST' })).status > 0);
  return { proc, url };
}

// PostgreSQL (Debian's initdb and postgres, the newest under
// /usr/lib/postgresql or HEADCOUNT_PG_BINDIR) in a fresh temp dir on a free
// loopback port, its unix socket in that dir, run as `nobody` when the
// tests run as root (PostgreSQL refuses root; CI runs as root). TCP logins
// need the password (scram-sha-256). Throws, never skips, when PostgreSQL is
// not installed. The same recipe as the C++ tests' PostgresServer
// (src/store/postgres/testing/postgres_server.h); a server a later test
// needs (Redis) follows it. Returns { url(database, password), sql(query,
// database), stop(), start(), port, password, dir }: stop() is a fast
// shutdown (SIGINT; clients are disconnected), start() starts it again on
// the same port and data; stop() it before the test's Proc.stopAll().
export async function startPostgres() {
  const bindir = process.env.HEADCOUNT_PG_BINDIR ?? (() => {
    const root = '/usr/lib/postgresql';
    const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres'))) : [];
    versions.sort((a, b) => Number(a) - Number(b));
    return versions.length ? join(root, versions.at(-1), 'bin') : null;
  })();
  if (!bindir || !existsSync(join(bindir, 'initdb'))) {
    throw new Error('PostgreSQL is not installed (apt-get install postgresql; scripts/setup installs it, or set HEADCOUNT_PG_BINDIR)');
  }
  const dir = tempDir('headcount-pg-');
  const user = 'headcount';
  const password = 'pg-it-s3cret';
  let ids = {};
  if (process.getuid() === 0) {
    const id = (flag) => Number(spawnSync('id', [flag, 'nobody'], { encoding: 'utf8' }).stdout.trim());
    ids = { uid: id('-u'), gid: id('-g') };
    chownSync(dir, ids.uid, ids.gid);
  }
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`);
  chmodSync(pwfile, 0o644);
  const initdb = spawnSync(join(bindir, 'initdb'), [
    '-D', join(dir, 'data'), '-U', user, `--pwfile=${pwfile}`, '--auth-local=trust',
    '--auth-host=scram-sha-256', '--no-locale', '--encoding=UTF8', '--no-sync',
  ], { encoding: 'utf8', ...ids });
  if (initdb.status !== 0) throw new Error(`initdb failed: ${initdb.error ?? ''}${initdb.stdout}${initdb.stderr}`);
  const port = await freePort();
  let proc = null;
  const pg = {
    port, password, dir,
    url: (database = 'postgres', pass = password) => `postgresql://${user}:${pass}@127.0.0.1:${port}/${database}`,
    // psql over the unix socket (trust): the first column of each row, as text.
    sql: (query, database = 'postgres') => {
      const r = spawnSync(join(bindir, 'psql'), ['-h', dir, '-p', String(port), '-U', user, '-d', database,
        '-v', 'ON_ERROR_STOP=1', '-Atc', query], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`psql ${query}: ${r.stderr}`);
      return r.stdout.trim();
    },
    async start() {
      // Durability off: a test database need not survive a power cut.
      proc = new Proc('postgres', join(bindir, 'postgres'), [
        '-D', join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1',
        '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=16MB',
      ], ids);
      await waitFor('postgres to accept connections', () => {
        if (proc.child.exitCode !== null) throw new Error(`postgres exited: ${proc.output}`);
        return spawnSync(join(bindir, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)]).status === 0;
      }, { timeoutMs: 30000, intervalMs: 100 });
    },
    async stop() {
      if (proc) await proc.stop('SIGINT');
      proc = null;
    },
    output: () => proc?.output ?? '',
  };
  await pg.start();
  return pg;
}

// Debian's redis-server on a free loopback port, in a temporary folder, with
// no persistence (--save '' --appendonly no: a restart loses every key, the
// worst case a cluster must survive), for the cluster tests. Returns { url,
// port, dir, stop(), start(), kill() }: stop() is SIGTERM, kill() SIGKILL,
// start() again on the same port; stop() it before the test's
// Proc.stopAll(). The C++ tests' twin is cluster/testing/redis_server.h.
// With `tls`, TLS only on that port (url rediss://localhost:<port>), its
// certificate for localhost made here by the openssl CLI and its own CA
// (caFile); clients are not asked for certificates. `password` sets
// requirepass (and goes into url).
export async function startRedis({ tls = false, password = '' } = {}) {
  const bin = '/usr/bin/redis-server';
  if (!existsSync(bin)) {
    throw new Error('redis-server is not installed (apt-get install redis-server; scripts/setup installs it)');
  }
  const dir = tempDir('headcount-redis-');
  const port = await freePort();
  const caFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  if (tls) {
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
      '-nodes', '-keyout', keyFile, '-out', caFile, '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost', '-addext', 'basicConstraints=critical,CA:TRUE'], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`openssl req failed: ${made.stderr}`);
  }
  let proc = null;
  const ping = () => new Promise((resolve) => {
    const auth = password ? `AUTH ${password}\r\n` : '';
    const onConnect = () => socket.write(`${auth}PING\r\n`);
    const socket = tls
      ? tlsConnect({ host: '127.0.0.1', servername: 'localhost', port, ca: readFileSync(caFile) }, onConnect)
      : createConnection({ host: '127.0.0.1', port }, onConnect);
    let text = '';
    socket.on('data', (d) => {
      text += d.toString();
      if (text.includes('PONG') || text.includes('-')) { socket.destroy(); resolve(text.includes('+PONG')); }
    });
    socket.on('error', () => resolve(false));
  });
  const userInfo = password ? `:${encodeURIComponent(password)}@` : '';
  const redis = {
    port, dir, caFile,
    url: tls ? `rediss://${userInfo}localhost:${port}` : `redis://${userInfo}127.0.0.1:${port}`,
    async start() {
      const listen = tls
        ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', caFile, '--tls-key-file', keyFile,
          '--tls-ca-cert-file', caFile, '--tls-auth-clients', 'no']
        : ['--port', String(port)];
      proc = new Proc('redis', bin, [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--dir', dir, '--daemonize', 'no', ...(password ? ['--requirepass', password] : [])]);
      await waitFor('redis-server to answer PING', () => {
        if (proc.child.exitCode !== null) throw new Error(`redis-server exited: ${proc.output}`);
        return ping();
      }, { timeoutMs: 20000, intervalMs: 50 });
    },
    async stop() {
      if (proc) await proc.stop('SIGTERM');
      proc = null;
    },
    async kill() {
      if (proc) await proc.stop('SIGKILL');
      proc = null;
    },
  };
  await redis.start();
  return redis;
}

export function cleanup(dir) {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
