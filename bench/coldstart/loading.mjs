// bench/coldstart/loading.mjs: where the start of a process goes before it
// does any work. Times (median wall clock of many spawns) an empty C++ main
// linked with nothing and with all of headcount's shared libraries;
// `headcount --version` through the Lambda zip's bundled
// loader; and node loading the two AWS SDK clients the baseline imports.
// Used by coldstart.mjs, which puts the table in docs/benchmarks.md.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QUICK, ROOT, fmt, median, table, tempDir } from '../tick/lib.mjs';

const RUNS = QUICK ? 15 : 41;

// The libraries `binary` names itself (DT_NEEDED), e.g. ["libsqlite3.so.0", ...].
function neededLibraries(binary) {
  const out = spawnSync('readelf', ['-d', binary], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`readelf -d ${binary}: ${out.stderr}`);
  return [...out.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
}

// How many shared objects the loader maps for `binary` (ldd's lines, minus vdso).
function loadedCount(binary) {
  const out = spawnSync('ldd', [binary], { encoding: 'utf8' });
  return out.stdout.split('\n').filter((l) => l.trim() && !l.includes('linux-vdso')).length;
}

// Median wall time in ms of running `cmd args` to its exit, RUNS times.
function startMs(cmd, args, options = {}) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: 'ignore', ...options });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

// Links an empty main() against `libraries` (sonames), kept even if unused.
function emptyProgram(dir, name, libraries) {
  const source = join(dir, 'empty.cc');
  writeFileSync(source, 'int main() { return 0; }\n');
  const out = join(dir, name);
  const libs = libraries.map((l) => `-l:${l}`);
  const r = spawnSync('g++', ['-O2', source, '-o', out, '-Wl,--no-as-needed', ...libs], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`g++ for ${name}: ${r.stderr}`);
  return out;
}

// The section's markdown, for the packaged task root `taskRoot`.
export function loadingSection(taskRoot) {
  const dir = tempDir('headcount-bench-loading');
  try {
    return measureLoading(taskRoot, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function measureLoading(taskRoot, dir) {
  const binary = join(taskRoot, 'bin/headcount');
  const needed = neededLibraries(binary).filter((l) => !/^lib(c|m|stdc\+\+|gcc_s)\.so/.test(l));
  const programs = [
    ['empty C++ program', emptyProgram(dir, 'plain', [])],
    [`empty program + headcount's libraries (${needed.join(', ')})`, emptyProgram(dir, 'all', needed)],
  ];
  const rows = programs.map(([what, program]) => [what, String(loadedCount(program)), fmt(startMs(program, []), 1)]);
  const loader = join(taskRoot, 'lib/ld-linux-x86-64.so.2');
  rows.push(['`headcount --version`, packaged (bundled loader and libraries)',
    String(loadedCount(binary)), fmt(startMs(loader, ['--library-path', join(taskRoot, 'lib'), binary, '--version']), 1)]);
  const sdk = "await import('@aws-sdk/client-ivs'); await import('@aws-sdk/client-dynamodb');";
  rows.push(['node loading the baseline\'s two SDK clients', '—',
    fmt(startMs(process.execPath, ['--input-type=module', '-e', sdk], { cwd: join(ROOT, 'bench/baseline') }), 1)]);
  console.error(rows.map((r) => `  ${r[0]}: ${r[2]} ms`).join('\n'));
  return `### Process start alone

What a process costs before it does any work: the median wall time of
${RUNS} runs of each program to its exit, spawned from node. Each shared
library costs the dynamic loader a map, relocations and symbol lookups
(libcurl, with its LDAP, Kerberos, SASL, RTMP, SSH and other libraries, left
the build in favour of src/http_client/). The empty
program's row is mostly what spawning a process from node costs; read the
other rows as differences from it.

${table(['program', 'shared objects loaded', 'start to exit ms'], rows)}
`;
}
