// bench/tick, warm: ticks in one long-lived Lambda process, as a scheduled
// function runs once its sandbox is warm. headcount's `headcount lambda` and
// the baseline's handler (bench/baseline/bootstrap.mjs) each get TICKS
// invocations from the Runtime API emulator (tests/lambda/runtime_api_emulator.mjs),
// against a fresh IVS emulator and dynalite, pacing off; per tick: the time
// from hand-out to response, CPU, and the requests each endpoint answered.
//   node warm.mjs OUT_DIR      prints the section, writes OUT_DIR/warm.md
// Also imported by tick.mjs (runWarm, warmSection), which puts the section
// into tick.md. HEADCOUNT_BENCH_WARM_SIZES=1000,10000 picks the sizes
// (empty: none); HEADCOUNT_BENCH_WARM_TICKS the invocations per process.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  BASELINE_LAMBDA, HEADCOUNT, HEADCOUNT_LAMBDA_ENV, QUICK, ROOT, fmt, getJson, int, ivsCounts, peakRssMb,
  startLambdaSandbox, stopAll, table,
} from './lib.mjs';

export const WARM_SIZES = (process.env.HEADCOUNT_BENCH_WARM_SIZES ?? (QUICK ? '1000' : '1000,10000'))
  .split(',').filter((s) => s.trim() !== '').map(Number);
// headcount answers a window from memory once its process wrote every bucket
// of it, after the bucket it started in (a previous process may have written
// that one): with 5-bucket windows, from its 6th tick in consecutive buckets.
export const WARM_TICKS = Number(process.env.HEADCOUNT_BENCH_WARM_TICKS ?? 6);
// The tick interval (= bucket length) headcount runs with: longer than its
// slowest (cold) tick at that size, so that every tick lands in the next
// bucket. The tick interval must divide a minute.
const INTERVAL_S = { 100: 5, 1000: 10, 10000: 30, 50000: 60 };
const intervalFor = (n) => INTERVAL_S[n] ?? 60;
// Invocations are handed out this long after a bucket starts.
const AFTER_BOUNDARY_MS = 300;
const CLK_TCK = 100;  // USER_HZ: /proc/<pid>/stat counts CPU time in these

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// CPU seconds (user + system, every thread) of a live process, or NaN.
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;  // utime, stime
  } catch { return NaN; }
}

const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
const diff = (after, before) => Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));

// One process, `ticks` invocations; resolves to { impl, channels, interval_s, ticks: [...], rss_mb }.
export async function runWarm(impl, channels, ticks = WARM_TICKS) {
  const interval = intervalFor(channels);
  const sandbox = await startLambdaSandbox(channels, { deadlineMs: 300000 });
  const { emulator, dynalite, rt } = sandbox;
  try {
    const fn = impl === 'headcount'
      ? { cmd: HEADCOUNT, args: ['lambda'], cwd: ROOT,
        env: { ...HEADCOUNT_LAMBDA_ENV, HEADCOUNT_TICK_INTERVAL: `${interval}s` } }
      : BASELINE_LAMBDA;
    const child = sandbox.spawn(fn.cmd, fn.args,
      { env: { ...sandbox.env, ...fn.env }, cwd: fn.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
    const logs = [];  // headcount's tick lines
    createInterface({ input: child.stdout }).on('line', (line) => {
      try { const j = JSON.parse(line); if (j.msg === 'tick') logs.push(j); } catch { /* not ours */ }
    });
    let exited = null;
    const exit = new Promise((resolve) => child.once('exit', (code) => { exited = code; resolve(); }));

    const out = [];
    for (let i = 0; i < ticks; i++) {
      // headcount: at the start of the next bucket, so ticks fill consecutive
      // buckets. The baseline has no buckets: it is invoked as soon as its
      // previous invocation returned.
      if (impl === 'headcount') {
        const ms = interval * 1000;
        await sleep(Math.ceil(Date.now() / ms) * ms + AFTER_BOUNDARY_MS - Date.now());
      }
      const ddbBefore = await getJson(`${dynalite.url}/_bench/stats`);
      const ivsBefore = await ivsCounts(emulator.url);
      const cpuBefore = cpuSeconds(child.pid);
      rt.invoke(1);
      await Promise.race([exit, rt.waitUntil(`response ${i + 1}`, (r) => r.responses.length + r.errors.length > i,
        interval * 1000 * 10 + 300000)]);
      if (exited !== null) throw new Error(`${impl} ${channels}: exited ${exited}: ${stderr}`);
      const cpu = cpuSeconds(child.pid) - cpuBefore;
      const ddb = diff(await getJson(`${dynalite.url}/_bench/stats`), ddbBefore);
      const ivs = diff(await ivsCounts(emulator.url), ivsBefore);
      const response = rt.responses[i] ?? rt.errors[i];
      const report = response?.json ?? {};
      out.push({
        ms: response.ms, cpu_s: cpu, ddb, ddbRequests: sum(ddb),
        ivsRequests: ivs.listChannels + ivs.listStreams + ivs.getStream + ivs.putMetadata, ivs,
        ok: rt.errors.length === 0 && (impl !== 'headcount' || report.ok === true),
        tick_ms: report.duration_ms, bucket: report.bucket, failed: report.failed?.length,
      });
      console.error(`  warm ${impl} ${channels} tick ${i + 1}: ${fmt(response.ms, 0)} ms, `
        + `${int(sum(ddb))} DynamoDB requests (${int(ddb.Query ?? 0)} Query), ${int(out[i].ivsRequests)} IVS`);
    }
    for (let i = 0; i < logs.length && i < out.length; i++) {
      out[i].window_from_memory = logs[i].window_from_memory;
      out[i].window_from_store = logs[i].window_from_store;
    }
    return { impl, channels, interval_s: impl === 'headcount' ? interval : null, ticks: out, rss_mb: peakRssMb(child.pid) };
  } finally {
    await sandbox.close();
  }
}

// Whether headcount's ticks filled consecutive buckets (else its memory could not answer).
function consecutive(run) {
  const b = run.ticks.map((t) => Date.parse(t.bucket) / 1000);
  return b.every((x, i) => i === 0 || x - b[i - 1] === run.interval_s);
}

// The markdown section for `runs` (from runWarm).
export function warmSection(runs) {
  if (!runs.length) return '';
  const find = (impl, n) => runs.find((r) => r.impl === impl && r.channels === n);
  const sizes = [...new Set(runs.map((r) => r.channels))];
  const name = { headcount: 'headcount (`headcount lambda`)', baseline: 'baseline (Node.js seed, `bootstrap.mjs`)' };
  const last = (r) => r.ticks[r.ticks.length - 1];
  const rows = [];
  for (const n of sizes) {
    for (const impl of ['headcount', 'baseline']) {
      const r = find(impl, n);
      if (!r) continue;
      const t = last(r);
      rows.push([int(n), name[impl], fmt(r.ticks[0].ms / 1000), fmt(t.ms / 1000), fmt(t.cpu_s),
        `${int(t.ivsRequests)} / ${int(t.ddbRequests)}`, int(t.ddb.Query ?? 0),
        impl === 'headcount' ? `${int(t.window_from_memory)} / ${int(t.window_from_store)}` : '—',
        fmt(r.rss_mb, 1), t.ok ? 'ok' : `${int(t.failed ?? NaN)} failed`]);
    }
  }
  const ratioRows = sizes.filter((n) => find('headcount', n) && find('baseline', n)).map((n) => {
    const h = last(find('headcount', n)); const b = last(find('baseline', n));
    const h0 = find('headcount', n).ticks[0]; const b0 = find('baseline', n).ticks[0];
    return [int(n), `${fmt(b0.ms / h0.ms, 1)}×`, `${fmt(b.ms / h.ms, 1)}×`, `${fmt(b.cpu_s / h.cpu_s, 1)}×`,
      `${fmt((b.ivsRequests + b.ddbRequests) / (h.ivsRequests + h.ddbRequests), 1)}×`];
  });
  const perTick = sizes.flatMap((n) => ['headcount', 'baseline'].map((impl) => find(impl, n)).filter(Boolean)
    .map((r) => `- ${int(r.channels)} channels, ${r.impl}: ${r.ticks.map((t) => `${fmt(t.ms / 1000)} s (${int(t.ddb.Query ?? 0)} Query)`).join(', ')}`));
  const notConsecutive = runs.filter((r) => r.impl === 'headcount' && !consecutive(r));
  const ticks = runs[0].ticks.length;
  return `## Warm ticks (one Lambda process, ${ticks} invocations)

A scheduled Lambda function runs in a sandbox that stays warm between
invocations (one a minute), and \`headcount serve\` is one process for good:
almost every tick in production is a warm one, in a process that ran the
previous tick, so the time of a warm tick is the number that matters. A cold
one-shot tick (above) happens once per sandbox. Here each implementation runs
as one Lambda process under the Runtime API emulator
(\`tests/lambda/runtime_api_emulator.mjs\`): headcount's \`headcount lambda\`,
and the baseline's handler under \`bench/baseline/bootstrap.mjs\`, each given
${ticks} invocations against a fresh IVS emulator (every channel live, the
viewer counts changing from tick to tick, pacing off) and a fresh dynalite
(warmed up first, as in bench/coldstart). Time is from the invocation's
hand-out to its response; CPU is the process's (all threads, from
\`/proc/<pid>/stat\`) during that tick; requests are what the IVS emulator
and dynalite answered during that tick.

headcount remembers what it wrote (\`src/core/window_cache.h\`) and reads a
channel's window from memory once its process wrote every bucket of that
window itself, after the bucket the process started in (another process may
have written that one): from its 6th tick in consecutive buckets on. So
headcount runs with a short tick interval (${sizes.map((n) => `${intervalFor(n)} s at ${int(n)} channels`).join(', ')},
longer than its cold tick) and is invoked ${AFTER_BOUNDARY_MS} ms after each bucket starts, so
the ${ticks} ticks fill ${ticks} consecutive buckets, as a rate(1 minute) schedule does with
1-minute buckets. The baseline has no buckets and always reads back with a
\`Query\` per channel; it is invoked as soon as it answered the previous
invocation. The last tick is the steady state.${notConsecutive.length ? `

**Not all of headcount's ticks landed in consecutive buckets** (${notConsecutive.map((r) => int(r.channels)).join(', ')} channels): a tick took longer than the interval, so its window was read from dynalite.` : ''}

${table(['channels', 'implementation', 'first tick s', 'last tick s', 'last tick CPU s',
    'last tick requests IVS / DynamoDB', 'of which Query', 'windows from memory / store', 'peak RSS MiB',
    'last tick'], rows)}

Baseline ÷ headcount:

${table(['channels', 'first tick (cold process)', 'last tick (warm)', 'last tick CPU', 'requests per warm tick'], ratioRows)}

Every tick, in order:

${perTick.join('\n')}

**Reading the numbers.** Once warm, headcount sends no \`Query\`: a tick is
then the IVS calls (the \`ListStreams\` pages and one \`PutMetadata\` per
channel: IVS has no batch form of it) and N/25 \`BatchWriteItem\` calls.
The IVS part is about what a one-shot SQLite tick costs (the table above),
which makes it the floor of a warm tick on this machine: the emulator
checks a SigV4 signature on every call, on the same two cores. The
baseline's warm tick still sends N \`Query\` calls, and dynalite's one thread
serving them is most of its time. Its warm ticks are also much faster than
its one-shot tick (the SDK and the JIT are warm, the sockets open), so the
warm ratio is the honest one to quote, and it is capped by the baseline's
warm tick over headcount's IVS floor. In production the saving is the read
capacity and 10,000 round trips a tick (docs/dynamodb.md); the tick itself
is already far inside its minute.
`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outDir = process.argv[2];
  if (!outDir) { console.error('usage: node warm.mjs OUT_DIR'); process.exit(2); }
  const runs = [];
  try {
    for (const n of WARM_SIZES) {
      for (const impl of ['headcount', 'baseline']) runs.push(await runWarm(impl, n));
    }
  } finally {
    await stopAll();
  }
  const md = warmSection(runs);
  writeFileSync(join(outDir, 'warm.md'), md);
  writeFileSync(join(outDir, 'warm.json'), JSON.stringify(runs, null, 1));
  console.log(md);
}
