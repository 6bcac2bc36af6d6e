// bench/tick: one tick at scale, headcount (SQLite and DynamoDB) against the
// seed's design in Node.js (bench/baseline, DynamoDB), every process run on
// its own against a fresh headcount-ivs-emulator and a fresh dynalite on
// loopback, measured with GNU time; plus the floor (bench/tick/floor.cc).
//   node tick.mjs OUT_DIR     prints the tables, writes OUT_DIR/tick.md
// HEADCOUNT_BENCH_QUICK=1: 100 and 1,000 channels only. Then the seed's own
// size at defaults (HEADCOUNT_BENCH_TICK_SEED, 20 channels) and warm ticks in
// one Lambda process (bench/tick/warm.mjs, HEADCOUNT_BENCH_WARM_SIZES).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  AWS_ENV, BUILD, HEADCOUNT, QUICK, ROOT, createTable, fmt, int, ivsCounts, getJson, lastJson, measure,
  startDynalite, startEmulator, stop, stopAll, table, tempDir, warmUpDynalite,
} from './lib.mjs';
import { WARM_SIZES, runWarm, warmSection } from './warm.mjs';

const outDir = process.argv[2];
if (!outDir) { console.error('usage: node tick.mjs OUT_DIR'); process.exit(2); }

// HEADCOUNT_BENCH_TICK_SIZES=100,1000 and HEADCOUNT_BENCH_TICK_PACED=N (0: no
// paced runs) narrow a run while working on one case.
const SIZES = process.env.HEADCOUNT_BENCH_TICK_SIZES?.split(',').map(Number)
  ?? (QUICK ? [100, 1000] : [100, 1000, 10000, 50000]);
const PACED_SIZE = Number(process.env.HEADCOUNT_BENCH_TICK_PACED ?? (QUICK ? 1000 : 10000));
// The seed's own size (issue 18, point 5): its 20 live channels, every
// setting at its default (quotas on), DynamoDB; HEADCOUNT_BENCH_TICK_SEED=0
// skips it. Small and noisy, so the median of SEED_REPS runs.
const SEED_SIZE = Number(process.env.HEADCOUNT_BENCH_TICK_SEED ?? 20);
const SEED_REPS = 5;
// One run's cap: a run that takes longer is killed and reported as such.
const RUN_TIMEOUT_S = Number(process.env.HEADCOUNT_BENCH_RUN_TIMEOUT ?? (QUICK ? 120 : 300));
const repsFor = (n) => (n <= 1000 ? 3 : 1);
const TABLE = 'headcount';

// --- one measured tick ------------------------------------------------------

async function runOnce({ impl, store, channels, paced, seed = false }) {
  const emulator = await startEmulator(channels, { quotas: paced });
  let dynalite = null;
  const dir = tempDir('headcount-bench-tick-');
  try {
    const env = { ...process.env, ...AWS_ENV, AWS_ENDPOINT_URL_IVS: emulator.url };
    if (store === 'dynamodb') {
      dynalite = await startDynalite();
      // As in bench/coldstart: DynamoDB has no JIT to warm up, dynalite does,
      // and a cold one adds the same tens of milliseconds to both sides.
      await warmUpDynalite(dynalite.url);
      await createTable(dynalite.url, TABLE);
      env.AWS_ENDPOINT_URL_DYNAMODB = dynalite.url;
    }
    let cmd; let args;
    if (impl === 'headcount') {
      cmd = HEADCOUNT;
      args = ['tick', '--source', 'ivs', '--log-level', 'warn', '--timeout', `${RUN_TIMEOUT_S}s`];
      args.push(...(store === 'dynamodb'
        ? ['--store', 'dynamodb', '--table', TABLE, '--create-table', 'false']
        : ['--store', 'sqlite', '--database', join(dir, 'headcount.db')]));
      if (!paced) args.push('--ivs-account-tps', '0', '--ivs-channel-tps', '0');
    } else {
      cmd = process.execPath;
      args = [join(ROOT, 'bench/baseline/run-tick.mjs')];
      env.TABLE_NAME = TABLE;
    }
    // dynalite's requests so far (the warm-up's) are not the run's.
    const ddbBefore = dynalite ? await getJson(`${dynalite.url}/_bench/stats`) : {};
    const m = await measure(cmd, args, { env, timeoutMs: RUN_TIMEOUT_S * 1000 });
    const report = lastJson(m.stdout) ?? {};
    const ivs = await ivsCounts(emulator.url);
    const ddb = dynalite ? await getJson(`${dynalite.url}/_bench/stats`) : {};
    for (const [target, n] of Object.entries(ddbBefore)) ddb[target] -= n;
    const ddbRequests = Object.values(ddb).reduce((a, b) => a + b, 0);
    const ivsRequests = ivs.listChannels + ivs.listStreams + ivs.getStream + ivs.putMetadata;
    const result = {
      impl, store, channels, paced, seed, timedOut: m.timedOut, code: m.code,
      wall_s: m.wall_s, tick_s: (report.duration_ms ?? NaN) / 1000, cpu_s: m.cpu_s, rss_mb: m.rss_mb,
      ivs, ivsRequests, ddb, ddbRequests,
      published: ivs.putMetadata - ivs.putMetadataErrors,
      skipped: Array.isArray(report.skipped) ? report.skipped.length : undefined,
      failed: Array.isArray(report.failed) ? report.failed.length : undefined,
      ok: !m.timedOut && m.code === 0 && report.ok === true,
      error: report.error,
    };
    if (m.timedOut) result.wall_s = NaN;
    if (!m.timedOut && m.code !== 0 && !paced) {
      console.error(`bench/tick: ${impl} ${store} ${channels}: exit ${m.code}: ${m.stdout.slice(0, 600)}\n${m.stderr.slice(-1500)}`);
    }
    return result;
  } finally {
    await stop(dynalite);
    await stop(emulator);
    rmSync(dir, { recursive: true, force: true });
  }
}

// The median run (by wall time) of `reps` runs.
async function run(spec) {
  const runs = [];
  for (let i = 0; i < (spec.reps ?? repsFor(spec.channels)); i++) {
    const r = await runOnce(spec);
    runs.push(r);
    const what = `${spec.impl} ${spec.store} ${spec.channels}${spec.seed ? ' seed size, defaults' : spec.paced ? ' paced' : ''}`;
    console.error(`  ${what}: ${r.timedOut ? `killed after ${RUN_TIMEOUT_S} s` : `${fmt(r.wall_s)} s wall, ${fmt(r.cpu_s)} s CPU, ${fmt(r.rss_mb, 1)} MiB`}`);
    if (r.timedOut) break;
  }
  runs.sort((a, b) => (a.wall_s || Infinity) - (b.wall_s || Infinity));
  const median = runs[Math.floor((runs.length - 1) / 2)];
  median.walls = runs.map((r) => r.wall_s);
  return median;
}

// --- the floor: parse + SQLite write, no HTTP --------------------------------

function floor() {
  const bin = [join(BUILD, 'bench/bench_tick_floor'), join(BUILD, 'bench_tick_floor')].find(existsSync);
  if (!bin) return null;
  const out = execFileSync(bin, SIZES.map(String), { encoding: 'utf8', timeout: 600000 });
  return out.trim().split('\n').map((l) => JSON.parse(l));
}

// --- main ---------------------------------------------------------------------

const results = [];
const warmRuns = [];
let floors = null;
try {
  for (const channels of SIZES) {
    for (const [impl, store] of [['headcount', 'sqlite'], ['headcount', 'dynamodb'], ['baseline', 'dynamodb']]) {
      results.push(await run({ impl, store, channels, paced: false }));
    }
  }
  for (const [impl, store] of [['headcount', 'sqlite'], ['headcount', 'dynamodb'], ['baseline', 'dynamodb']]) {
    if (PACED_SIZE > 0) results.push(await run({ impl, store, channels: PACED_SIZE, paced: true }));
  }
  for (const impl of ['headcount', 'baseline']) {
    if (SEED_SIZE > 0) {
      results.push(await run({ impl, store: 'dynamodb', channels: SEED_SIZE, paced: true, seed: true, reps: SEED_REPS }));
    }
  }
  floors = floor();
  for (const channels of WARM_SIZES) {
    for (const impl of ['headcount', 'baseline']) warmRuns.push(await runWarm(impl, channels));
  }
} finally {
  await stopAll();
}

// --- report -------------------------------------------------------------------

const find = (impl, store, channels, paced = false, seed = false) =>
  results.find((r) => r.impl === impl && r.store === store && r.channels === channels && r.paced === paced
    && r.seed === seed);
const name = (r) => (r.impl === 'headcount' ? `headcount, ${r.store === 'sqlite' ? 'SQLite' : 'DynamoDB'}` : 'baseline (Node.js seed), DynamoDB');
const wallCell = (r, digits = 2) => (r.timedOut ? `did not finish in ${RUN_TIMEOUT_S} s` : fmt(r.wall_s, digits));
// Whether the tick did its whole job: every channel stored, read back and published.
const outcome = (r) => {
  if (r.timedOut) return 'killed';
  if (r.ok) return 'ok';
  if (r.impl === 'headcount') return `${int(r.failed ?? NaN)} failed, ${int(r.skipped ?? NaN)} skipped`;
  return `failed (${r.error ?? `exit ${r.code}`})`;
};
const reqCell = (r) => `${int(r.ivsRequests)} / ${r.store === 'dynamodb' ? int(r.ddbRequests) : '—'}`;
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN);
const ratioCell = (x) => (Number.isFinite(x) ? `${fmt(x, 1)}×` : '—');

const mainRows = results.filter((r) => !r.paced).map((r) => [int(r.channels), name(r), wallCell(r), fmt(r.tick_s),
  r.timedOut ? '—' : fmt(r.cpu_s), r.timedOut ? '—' : fmt(r.rss_mb, 1), reqCell(r), int(r.published), outcome(r)]);
const mainTable = table(['channels', 'implementation', 'wall s', 'tick s (own clock)', 'CPU s', 'peak RSS MiB',
  'requests IVS / DynamoDB', 'PutMetadata accepted', 'outcome'], mainRows);

const ratioRows = SIZES.map((n) => {
  const b = find('baseline', 'dynamodb', n);
  const hd = find('headcount', 'dynamodb', n);
  const hs = find('headcount', 'sqlite', n);
  // * : one of the two did not complete its tick (see "outcome" above).
  const mark = (h) => (b.ok && h.ok ? '' : ' *');
  return [int(n), ratioCell(ratio(b.wall_s, hd.wall_s)) + mark(hd), ratioCell(ratio(b.cpu_s, hd.cpu_s)) + mark(hd),
    ratioCell(ratio(b.rss_mb, hd.rss_mb)) + mark(hd), ratioCell(ratio(b.wall_s, hs.wall_s)) + mark(hs),
    ratioCell(ratio(b.cpu_s, hs.cpu_s)) + mark(hs), ratioCell(ratio(b.rss_mb, hs.rss_mb)) + mark(hs)];
});
const ratioTable = table(['channels', 'wall (DynamoDB)', 'CPU (DynamoDB)', 'peak RSS (DynamoDB)', 'wall (vs SQLite)',
  'CPU (vs SQLite)', 'peak RSS (vs SQLite)'], ratioRows);

const pacedRows = results.filter((r) => r.paced && !r.seed).map((r) => [int(r.channels), name(r), wallCell(r),
  r.timedOut ? '—' : fmt(r.cpu_s), r.timedOut ? '—' : fmt(r.rss_mb, 1), int(r.ivs.putMetadata), int(r.published), int(r.ivs.throttled),
  r.impl === 'headcount' ? int(r.skipped) : '—']);
const pacedTable = table(['channels', 'implementation', 'wall s', 'CPU s', 'peak RSS MiB', 'PutMetadata sent',
  'accepted', 'throttled (429)', 'skipped (reported)'], pacedRows);

// The seed's own size: the runs, and headcount against the baseline.
const seedRows = results.filter((r) => r.seed).map((r) => [int(r.channels), name(r), wallCell(r, 3),
  r.timedOut ? '—' : fmt(r.cpu_s), r.timedOut ? '—' : fmt(r.rss_mb, 1), reqCell(r), int(r.published),
  int(r.ivs.throttled), r.walls.map((w) => fmt(w, 3)).join(', ')]);
const seedTable = table(['channels', 'implementation', 'wall s', 'CPU s', 'peak RSS MiB', 'requests IVS / DynamoDB',
  'PutMetadata accepted', 'throttled (429)', 'wall s of each run'], seedRows);
const sb = find('baseline', 'dynamodb', SEED_SIZE, true, true);
const sh = find('headcount', 'dynamodb', SEED_SIZE, true, true);
const seedSpeed = sb && sh ? ratio(sb.wall_s, sh.wall_s) : NaN;
const seedCpu = sb && sh ? ratio(sb.cpu_s, sh.cpu_s) : NaN;

let floorTable = '(bench_tick_floor was not built: configure with -DHEADCOUNT_BUILD_BENCH=ON)';
if (floors) {
  floorTable = table(['channels', 'parse ListStreams ms', 'SQLite write ms', 'floor ms', 'headcount SQLite tick ms (own clock)', 'tick / floor'],
    floors.map((f) => {
      const t = find('headcount', 'sqlite', f.channels);
      const tickMs = t ? t.tick_s * 1000 : NaN;
      return [int(f.channels), fmt(f.parse_ms), fmt(f.write_ms), fmt(f.parse_ms + f.write_ms), fmt(tickMs), ratioCell(ratio(tickMs, f.parse_ms + f.write_ms))];
    }));
}

// Targets, at 10,000 channels (1,000 in a quick run, which only smoke-tests them).
const T = SIZES.includes(10000) ? 10000 : Math.max(...SIZES);
const tb = find('baseline', 'dynamodb', T);
const thd = find('headcount', 'dynamodb', T);
const ths = find('headcount', 'sqlite', T);
const speedD = ratio(tb.wall_s, thd.wall_s);
const speedS = ratio(tb.wall_s, ths.wall_s);
const memD = ratio(tb.rss_mb, thd.rss_mb);
const memS = ratio(tb.rss_mb, ths.rss_mb);
// The same target for the steady state: the last warm tick (bench/tick/warm.mjs).
const warmLast = (impl) => warmRuns.find((r) => r.impl === impl && r.channels === T)?.ticks.at(-1);
const twb = warmLast('baseline');
const twh = warmLast('headcount');
const speedWarm = twb && twh ? ratio(twb.ms, twh.ms) : NaN;
const verdict = (x, target, complete) => {
  if (!Number.isFinite(x)) return 'not measured';
  const v = x >= target ? `**met** (${fmt(x, 1)}×)` : `**missed** (${fmt(x, 1)}×)`;
  return complete ? v : `${v}, but a tick did not complete`;
};

let notes = '';
try { notes = readFileSync(join(ROOT, 'bench/tick/notes.md'), 'utf8'); } catch { /* none */ }

const md = `## Tick at scale

One tick of \`headcount tick --source ivs\` (IVS \`ListStreams\` → store → last 5
minutes → \`PutMetadata\` per channel) against \`headcount-ivs-emulator\` on
loopback with every channel live, with SQLite and with DynamoDB (dynalite, in
memory), next to the baseline: the seed's Lambda function in Node.js 20 with the
AWS SDK for JavaScript v3 (\`bench/baseline/\`: \`ListChannels\` + \`ListStreams\`,
\`BatchWriteItem\`, a \`Query\` per channel, a \`PutMetadata\` per channel), run as
a process against the same kind of endpoints. Every run is a new process
against a fresh emulator and a fresh dynalite (an empty table, so each
channel's window holds one item), its JIT warmed up first with a few writes
and reads on a table of its own, as in bench/coldstart (DynamoDB has no cold
start of its own; those requests are not counted below). Wall time is from
spawn to exit on the benchmark's clock (1 ms steps); CPU time (user + system)
and peak RSS are GNU time's (\`/usr/bin/time -f '%U %S %M'\`, from \`wait4\`); "tick s"
is the program's own measure of the tick, without process start. Requests are
counted by the emulator (\`/_emulator/stats\`) and inside dynalite's process
(\`bench/tick/dynalite.mjs\`). Quota pacing is off here (the emulator's quotas
and headcount's \`--ivs-account-tps 0 --ivs-channel-tps 0\`); the paced runs
follow. ${QUICK ? 'Quick run: one to three runs per size, the median shown.' : 'Up to 1,000 channels the median of 3 runs is shown; above, one run.'}
Each run is capped at ${RUN_TIMEOUT_S} s.

${mainTable}

Baseline ÷ headcount (higher is better for headcount; * marks a pair where
one side did not complete its tick, see "outcome"):

${ratioTable}

### With quota pacing on (${int(PACED_SIZE)} channels)

The IVS default PutMetadata quotas (155 TPS per account, 5 per channel), in the
emulator and in headcount's pacing. headcount stops starting calls at nine
tenths of the tick interval (54 s) and reports the rest as skipped (the next
tick starts with them); the seed's design has no pacing, so its calls are
throttled and the SDK's retries give up.

${pacedTable}

${SEED_SIZE > 0 ? `### The seed's own size (${int(SEED_SIZE)} channels, every setting at its default)

The seed's deployment: ${int(SEED_SIZE)} live channels, DynamoDB, the emulator's
quotas on, and \`headcount tick --source ivs --store dynamodb\` with no other
setting (\`ivs.burst\`: 139 calls at once, nine tenths of a second's quota,
then 155 TPS). Whole process: wall time in 1 ms steps, CPU (user + system)
from GNU time in steps of 10 ms, so the CPU ratio is coarse here; the median of ${SEED_REPS} runs, each on a
fresh emulator and dynalite.

${seedTable}

Baseline ÷ headcount: ${ratioCell(seedSpeed)} in wall time, ${ratioCell(seedCpu)} in CPU time.
Target, at least 10× faster (wall): ${sb && sh ? verdict(seedSpeed, 10, sb.ok && sh.ok) : 'not measured'}.
` : ''}
### Floor

\`bench_tick_floor\` (bench/tick/floor.cc): the ListStreams pages of the same
emulator, captured in memory, parsed by headcount's own \`IvsSource\` (through
\`AwsClient\`, with signing, over a transport that replays the captured
bytes) and written to a fresh SQLite file by \`SqliteStore::Record\`: no
HTTP. The median of several runs. The difference between the tick and the
floor is the HTTP exchanges (${int(T)} PutMetadata calls at ${int(T)} channels), the
window read and the payloads.

${floorTable}

### Targets (${int(T)} channels${QUICK ? ', quick run: the targets are for 10,000' : ''})

| target | DynamoDB (same endpoints) | SQLite |
|---|---|---|
| tick ≥ 20× faster than the baseline (wall) | ${verdict(speedD, 20, tb.ok && thd.ok)} | ${verdict(speedS, 20, tb.ok && ths.ok)} |
| peak memory ≥ 5× lower than the baseline | ${verdict(memD, 5, tb.ok && thd.ok)} | ${verdict(memS, 5, tb.ok && ths.ok)} |
| warm tick (a Lambda process's last of several, see below) ≥ 20× faster than the baseline's | ${verdict(speedWarm, 20, Boolean(twb?.ok && twh?.ok))} | — |

${notes}
${warmSection(warmRuns)}`;

writeFileSync(join(outDir, 'tick.md'), md);
writeFileSync(join(outDir, 'tick.json'), JSON.stringify({ results, floors, warm: warmRuns }, null, 1));
console.log(md);
