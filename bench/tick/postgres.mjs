// bench/tick/postgres.mjs: one tick of `headcount tick --source ivs` at
// scale with the PostgreSQL store next to SQLite (issue 17: tick time at
// 10,000 channels), against a fresh headcount-ivs-emulator, quota pacing
// off, as bench/tick/tick.mjs runs its ticks. PostgreSQL 15 is started for
// the run (tests/integration/harness.mjs startPostgres: a temp dir, loopback,
// fsync off) and every run gets a fresh database, as every SQLite run a fresh
// file: each channel's window holds one sample. Wall, CPU and peak RSS are
// the headcount process's (GNU time); "tick s" its own clock, without process
// start, store open and schema creation. PostgreSQL's own CPU is not counted.
//   node bench/tick/postgres.mjs OUT_DIR    writes OUT_DIR/tick-postgres.md
// Needs a build with the store (HEADCOUNT_POSTGRES=ON; the static release
// build leaves it out) in HEADCOUNT_BENCH_BUILD: bench/tick/run makes one.
// HEADCOUNT_BENCH_TICK_SIZES=1000,10000 (the default) narrows or widens it.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AWS_ENV, HEADCOUNT, fmt, int, lastJson, measure, startEmulator, stop, stopAll, table, tempDir,
} from './lib.mjs';
import { Proc, startPostgres } from '../../tests/integration/harness.mjs';

const outDir = process.argv[2];
if (!outDir) { console.error('usage: node bench/tick/postgres.mjs OUT_DIR'); process.exit(2); }
const SIZES = process.env.HEADCOUNT_BENCH_TICK_SIZES?.split(',').map(Number) ?? [1000, 10000];
const REPS = 3;
const RUN_TIMEOUT_S = 300;

let pg = null;
let databases = 0;

async function runOnce(store, channels) {
  const emulator = await startEmulator(channels);
  const dir = tempDir('headcount-bench-pg-');
  try {
    const args = ['tick', '--source', 'ivs', '--log-level', 'warn', '--timeout', `${RUN_TIMEOUT_S}s`,
      '--ivs-account-tps', '0', '--ivs-channel-tps', '0'];
    if (store === 'postgres') {
      const database = `bench_${++databases}`;
      pg.sql(`CREATE DATABASE ${database}`);
      args.push('--store', 'postgres', '--postgres-url', pg.url(database));
    } else {
      args.push('--store', 'sqlite', '--database', join(dir, 'headcount.db'));
    }
    const env = { ...process.env, ...AWS_ENV, AWS_ENDPOINT_URL_IVS: emulator.url };
    const m = await measure(HEADCOUNT, args, { env, timeoutMs: RUN_TIMEOUT_S * 1000 });
    const report = lastJson(m.stdout) ?? {};
    if (m.code !== 0) console.error(`${store} ${channels}: exit ${m.code}: ${m.stderr.slice(-800)}`);
    return {
      store, channels, ok: m.code === 0 && report.ok === true, wall_s: m.wall_s, cpu_s: m.cpu_s, rss_mb: m.rss_mb,
      tick_s: (report.duration_ms ?? NaN) / 1000, stored: report.stored,
    };
  } finally {
    await stop(emulator);
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
try {
  pg = await startPostgres();
  for (const channels of SIZES) {
    for (const store of ['sqlite', 'postgres']) {
      const runs = [];
      for (let i = 0; i < REPS; i++) runs.push(await runOnce(store, channels));
      runs.sort((a, b) => a.tick_s - b.tick_s);
      const median = runs[Math.floor(runs.length / 2)];
      console.error(`  ${store} ${channels}: tick ${fmt(median.tick_s)} s, wall ${fmt(median.wall_s)} s`);
      results.push({ ...median, ticks: runs.map((r) => r.tick_s) });
    }
  }
} finally {
  if (pg) await pg.stop();
  await Proc.stopAll();
  await stopAll();
  if (pg) rmSync(pg.dir, { recursive: true, force: true });
}

const rows = results.map((r) => [int(r.channels), r.store === 'sqlite' ? 'SQLite' : 'PostgreSQL 15 (loopback)',
  fmt(r.tick_s), r.ticks.map((t) => fmt(t)).join(', '), fmt(r.wall_s), fmt(r.cpu_s), fmt(r.rss_mb, 1), int(r.stored),
  r.ok ? 'ok' : 'failed']);
const md = table(['channels', 'store', 'tick s (own clock, median)', 'tick s of each run', 'wall s', 'CPU s',
  'peak RSS MiB', 'stored', 'outcome'], rows);
const section = `
### PostgreSQL next to SQLite

\`headcount tick --source ivs\` as above (quota pacing off, a fresh emulator
each run), storing in SQLite or in PostgreSQL 15 on loopback (started for the
benchmark by \`startPostgres\` of tests/integration/harness.mjs: a temporary
cluster, \`fsync\` off), a fresh file or database each run, so each channel's
window holds one sample. A release build with the store
(\`-DHEADCOUNT_POSTGRES=ON\`: libpqxx linked in, libpq dynamically). Wall, CPU
and peak RSS are the headcount process's (GNU time); PostgreSQL's own CPU is
not counted. "tick s" is the tick's own clock (no process start, store open
or schema creation); the median of ${REPS} runs.

${md}
`;
writeFileSync(join(outDir, 'tick-postgres.md'), section);
console.log(md);
