// What bench/tick and bench/coldstart share: starting the IVS emulator and
// dynalite, running a function as Lambda would (a Runtime API emulator in
// front of both), measuring a process (wall, CPU, peak RSS with GNU time),
// stopping everything they started (also on failure), and formatting tables.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchWriteItemCommand, CreateTableCommand, DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { RuntimeApiEmulator } from '../../tests/lambda/runtime_api_emulator.mjs';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const BUILD = process.env.HEADCOUNT_BENCH_BUILD ?? join(ROOT, 'build/release');
export const QUICK = process.env.HEADCOUNT_BENCH_QUICK === '1';
export const HEADCOUNT = join(BUILD, 'headcount');
export const EMULATOR = join(BUILD, 'headcount-ivs-emulator');
export const GNU_TIME = '/usr/bin/time';

// The only credentials the emulator accepts, and what every client is given.
export const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: 'us-west-2',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/nonexistent',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
};

const started = new Set();

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}

// Starts a server that prints "listening on <url>" as its first stdout line;
// resolves to { child, url }. Its stdin is a pipe that stays open (dynalite
// exits when it closes).
export async function startServer(name, cmd, args, env = process.env) {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  started.add(child);
  child.on('exit', () => started.delete(child));
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}: ${stderr}`)));
  });
  child.stdout.resume();
  return { child, url: line.replace(/^listening on /, '').trim() };
}

export async function stop(server) {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

// Stops every server this process started (call it in `finally` and on signals).
export async function stopAll() {
  await Promise.all([...started].map((child) => stop({ child })));
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => { await stopAll(); process.exit(130); });
}

// headcount-ivs-emulator with `channels` live channels; quotas on (the IVS
// defaults) or off.
export function startEmulator(channels, { quotas = false } = {}) {
  const args = ['--listen', '127.0.0.1:0', '--channels', String(channels), '--offline-fraction', '0',
    '--viewers', 'random:100:5', '--metadata-log-capacity', '1000', '--threads', '2', '--log-level', 'error'];
  if (!quotas) args.push('--put-metadata-tps-per-channel', '0', '--put-metadata-tps-per-account', '0');
  return startServer('ivs-emulator', EMULATOR, args, { ...process.env, ...AWS_ENV });
}

// dynalite, counting the requests it answers (bench/tick/dynalite.mjs).
export function startDynalite() {
  return startServer('dynalite', process.execPath, [join(ROOT, 'bench/tick/dynalite.mjs')]);
}

// The table both implementations use: channel (S) / time (N), as the seed's.
export async function createTable(endpoint, name = 'headcount') {
  const client = new DynamoDBClient({ ...clientConfig(endpoint) });
  try {
    await client.send(new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'channel', AttributeType: 'S' }, { AttributeName: 'time', AttributeType: 'N' }],
      KeySchema: [{ AttributeName: 'channel', KeyType: 'HASH' }, { AttributeName: 'time', KeyType: 'RANGE' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
  } finally {
    client.destroy();
  }
}

// Sends dynalite a few writes and reads on a table of its own, so that its
// JIT is warm before a measurement starts: DynamoDB itself has no cold
// start, and a cold dynalite would add the same tens of milliseconds to
// both implementations' first requests.
export async function warmUpDynalite(endpoint, rounds = 30) {
  await createTable(endpoint, 'warmup');
  const client = new DynamoDBClient({ ...clientConfig(endpoint) });
  try {
    for (let i = 0; i < rounds; i++) {
      await client.send(new BatchWriteItemCommand({ RequestItems: { warmup: [{ PutRequest: { Item: {
        channel: { S: `warmup-${i % 3}` }, time: { N: String(i) }, count: { N: '1' } } } }] } }));
      await client.send(new QueryCommand({ TableName: 'warmup', KeyConditionExpression: '#c = :c',
        ExpressionAttributeNames: { '#c': 'channel' }, ExpressionAttributeValues: { ':c': { S: `warmup-${i % 3}` } } }));
    }
  } finally {
    client.destroy();
  }
}

// The table a Lambda function under test writes to (startLambdaSandbox).
export const LAMBDA_TABLE = 'headcount';

// What headcount needs, as a Lambda function, to run the seed's pipeline
// against a sandbox: its settings, pacing off.
export const HEADCOUNT_LAMBDA_ENV = {
  HEADCOUNT_SOURCE: 'ivs', HEADCOUNT_STORE: 'dynamodb', HEADCOUNT_DYNAMODB_TABLE: LAMBDA_TABLE,
  HEADCOUNT_IVS_ACCOUNT_TPS: '0', HEADCOUNT_IVS_CHANNEL_TPS: '0', HEADCOUNT_LOG_LEVEL: 'warn',
};

// The baseline as a Lambda function: the seed's handler under
// bench/baseline/bootstrap.mjs on this node.
export const BASELINE_LAMBDA = {
  cmd: process.execPath, args: [join(ROOT, 'bench/baseline/bootstrap.mjs')], cwd: join(ROOT, 'bench/baseline'),
  env: { LAMBDA_TASK_ROOT: join(ROOT, 'bench/baseline'), TABLE_NAME: LAMBDA_TABLE },
};

// Where a Lambda function runs for a benchmark: a fresh IVS emulator with
// `channels` live channels (pacing off), a fresh dynalite holding
// LAMBDA_TABLE and warmed up, and a Runtime API emulator (`rt`, invocations
// due `deadlineMs` after hand-out). Resolves to { emulator, dynalite, rt, env,
// spawn, close }: `env` is what Lambda sets plus the two endpoints;
// spawn(cmd, args, options) starts the function (one per sandbox) as
// child_process.spawn does; close() kills it (SIGKILL, and waits for its
// exit) and stops the rest: call it in `finally`. If setting up fails, what
// was started is stopped and the error is thrown.
export async function startLambdaSandbox(channels, { deadlineMs }) {
  const emulator = await startEmulator(channels);
  const dynalite = await startDynalite();
  const rt = new RuntimeApiEmulator({ deadlineMs });
  let child = null;
  const sandbox = {
    emulator, dynalite, rt, env: null,
    spawn(cmd, args, options) {
      child = spawn(cmd, args, options);
      return child;
    },
    async close() {
      if (child && child.exitCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await gone;
      }
      await rt.close();
      await stop(dynalite);
      await stop(emulator);
    },
  };
  try {
    await createTable(dynalite.url, LAMBDA_TABLE);
    await warmUpDynalite(dynalite.url);
    const api = await rt.start();
    // Only what Lambda sets, plus the function's own settings.
    sandbox.env = {
      PATH: '/usr/local/bin:/usr/bin:/bin', ...AWS_ENV, AWS_LAMBDA_RUNTIME_API: api,
      AWS_ENDPOINT_URL_IVS: emulator.url, AWS_ENDPOINT_URL_DYNAMODB: dynalite.url,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256', TZ: ':UTC', LANG: 'en_US.UTF-8',
    };
  } catch (e) {
    await sandbox.close();
    throw e;
  }
  return sandbox;
}

// Peak resident set of a live process, MiB (VmHWM), or NaN.
export function peakRssMb(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch { return NaN; }
}

// CPU time (user + sys) a live process has used so far, ms, or NaN; counted
// in clock ticks (CLK_TCK, 100 per second on Linux), so 10 ms steps.
export function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) in parentheses;
    // utime and stime are the 14th and 15th of the line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch { return NaN; }
}
const CLOCK_TICKS_PER_SECOND = 100;

function clientConfig(endpoint) {
  return { endpoint, region: AWS_ENV.AWS_REGION,
    credentials: { accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: AWS_ENV.AWS_SECRET_ACCESS_KEY } };
}

export async function getJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

// Requests per IVS operation and throttled calls, from the emulator's stats.
export async function ivsCounts(emulatorUrl) {
  const s = await getJson(`${emulatorUrl}/_emulator/stats`);
  const op = (name) => s.operations?.[name] ?? { requests: 0, errors: 0 };
  return {
    listChannels: op('ListChannels').requests,
    listStreams: op('ListStreams').requests,
    getStream: op('GetStream').requests,
    putMetadata: op('PutMetadata').requests,
    putMetadataErrors: op('PutMetadata').errors,
    throttled: s.throttled ?? 0,
  };
}

// Runs `cmd args` under GNU time in its own process group and resolves to
// { code, signal, timedOut, wall_s, user_s, sys_s, cpu_s, rss_mb, stdout, stderr }.
// Wall time is node's clock from spawn to exit; CPU and peak RSS come from
// wait4's rusage as GNU time reports it (%U %S %M, RSS in KiB), for the
// measured process and the children it waited for. After timeoutMs the
// whole group is killed and timedOut is true.
export async function measure(cmd, args, { env = process.env, timeoutMs = 600000 } = {}) {
  const dir = tempDir('headcount-bench-time-');
  const out = join(dir, 'time.txt');
  try {
    // Wall time from here to the exit (GNU time's %e counts in 10 ms steps,
    // too coarse for a tick of a few tens of milliseconds); CPU time and
    // peak RSS from GNU time.
    const started = performance.now();
    const child = spawn(GNU_TIME, ['-f', '%e %U %S %M', '-o', out, cmd, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20000); });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }, timeoutMs);
    const kill = () => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } };
    process.once('exit', kill);
    const [code, signal] = await new Promise((resolve) => child.once('close', (c, s) => resolve([c, s])));
    const wall = (performance.now() - started) / 1000;
    clearTimeout(timer);
    process.removeListener('exit', kill);
    let user = NaN; let sys = NaN; let rss = NaN;
    try {
      const last = readFileSync(out, 'utf8').trim().split('\n').pop();
      [, user, sys, rss] = last.split(/\s+/).map(Number);
    } catch { /* killed before GNU time wrote it */ }
    return { code, signal, timedOut, wall_s: wall, user_s: user, sys_s: sys, cpu_s: user + sys,
      rss_mb: rss / 1024, stdout, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The last line of `text` that parses as a JSON object, or null.
export function lastJson(text) {
  const lines = text.trim().split('\n').reverse();
  for (const line of lines) {
    try { const v = JSON.parse(line); if (v && typeof v === 'object') return v; } catch { /* not JSON */ }
  }
  return null;
}

export const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export function fmt(x, digits = 2) {
  if (x === null || x === undefined || (typeof x === 'number' && !Number.isFinite(x))) return '—';
  if (typeof x !== 'number') return String(x);
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
export const int = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');

// A markdown table from a header row and rows of cells.
export function table(header, rows) {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((h, i) => (i ? '---:' : '---')).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}
