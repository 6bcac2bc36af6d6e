// Three `headcount serve` nodes on loopback, one cluster (#17): one Redis
// and one PostgreSQL the test starts (harness.mjs startRedis,
// startPostgres), one HLS root and one session key file. Simulated viewers
// are spread over the nodes, a third of them through an nginx load balancer
// that sends every request to the next node (they switch node on every
// reload and segment). Every node's /api/channels, playlists and event
// stream show the one true total; heartbeat tokens and CMCD sids whose
// reports go to the nodes in turn count from their second report, probes
// never; SIGKILL of the lease holder and a Redis
// restart mid-run: the count converges within one session idle timeout, and
// PostgreSQL holds exactly one sample per bucket, none missing while a node
// was up. Then two nodes over rediss:// (a Redis that speaks only TLS,
// its CA given by --cluster-ca-file) share one count; a node without that CA
// refuses the certificate and says so. Fails, never skips, where
// redis-server, openssl or PostgreSQL is missing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import {
  BIN, Proc, cleanup, fetchMediaPlaylist, freePort, getJson, headcountDateRanges, run, runNginx, sleep, startPostgres,
  startRedis, startTestStream, startViewers, tempDir, waitFor,
} from './harness.mjs';

const TICK_SECONDS = 2;
const IDLE_SECONDS = 4;
const PER_NODE = 2;   // viewers that stay on one node
const SWITCHING = 3;  // viewers through the load balancer: a third of them all

async function startNode(dir, name, { redis, pg, extra = [] }) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = new Proc(`serve ${name}`, BIN, [
    'serve', '--listen', `127.0.0.1:${port}`, '--hls-root', join(dir, 'hls'),
    '--store', 'postgres', '--postgres-url', pg.url(), '--cluster', redis.url,
    '--session-key-file', join(dir, 'session.key'),
    '--tick-interval', `${TICK_SECONDS}s`, '--session-idle-timeout', `${IDLE_SECONDS}s`, '--cmcd', 'on',
    '--log-level', 'debug', ...extra,
  ]);
  await waitFor(`${name} to answer /healthz`, async () => (await fetch(`${base}/healthz`)).ok);
  return { name, proc, port, base };
}

// nginx sending each request to the next of `ports` (round robin), as a
// load balancer without stickiness does; a dead node's requests go to the next.
async function startBalancer(confDir, ports) {
  const port = await freePort();
  return runNginx('nginx balancer', confDir, port, `  access_log off;
  upstream nodes { ${ports.map((p) => `server 127.0.0.1:${p} max_fails=0;`).join(' ')} }
  server {
    listen 127.0.0.1:${port};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_connect_timeout 1s;
    location / { proxy_pass http://nodes; }
  }`);
}

const viewersOn = async (node) => (await getJson(`${node.base}/api/channels`)).channels.find((c) => c.id === 'demo')?.viewers;
const allShow = async (live, n) => {
  const counts = await Promise.all(live.map(viewersOn));
  return counts.every((c) => c === n) ? counts : false;
};

// Stops a describe block's nodes, PostgreSQL and Redis (whichever started)
// and removes their folders.
async function stopCluster({ nodes, pg, redis, dir }) {
  for (const node of nodes ?? []) await node.proc.stop();
  if (pg) await pg.stop();
  if (redis) await redis.stop();
  await Proc.stopAll();
  cleanup(dir);
  if (pg) cleanup(pg.dir);
  if (redis) cleanup(redis.dir);
}

describe('a cluster of three nodes', () => {
  let dir;
  let redis;
  let pg;
  let nodes;

  // The node that ran the newest tick under the lease, by its log.
  const leaseHolder = (live) => {
    let newest = null;
    for (const node of live) {
      for (const m of node.proc.output.matchAll(/cluster: tick (\S+) runs on this node \(it holds the lease\)/g)) {
        if (!newest || m[1] > newest.bucket) newest = { bucket: m[1], node };
      }
    }
    return newest?.node;
  };

  before(async () => {
    dir = tempDir();
    [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
    await startTestStream(join(dir, 'hls'), 'demo');
    await startTestStream(join(dir, 'hls'), 'hb');  // heartbeat viewers only
    nodes = [];
    for (const name of ['a', 'b', 'c']) nodes.push(await startNode(dir, name, { redis, pg }));
    const balancer = await startBalancer(join(dir, 'nginx'), nodes.map((n) => n.port));
    for (const node of nodes) startViewers(`${node.base}/hls/demo/stream.m3u8`, PER_NODE);
    startViewers(`${balancer.base}/hls/demo/stream.m3u8`, SWITCHING);
  });

  after(() => stopCluster({ nodes, pg, redis, dir }));

  test('every node shows the true total, in its API, playlists and event stream', async () => {
    const total = 3 * PER_NODE + SWITCHING;
    await waitFor(`${total} viewers on every node`, () => allShow(nodes, total), { timeoutMs: 40000 });
    // One tick per bucket across the cluster: each bucket ran on one node.
    // (The count can agree after two ticks already: wait for a third.)
    const ticksRun = () => {
      const runs = new Map();
      for (const node of nodes) {
        for (const m of node.proc.output.matchAll(/cluster: tick (\S+) runs on this node \(it holds the lease\)/g)) {
          runs.set(m[1], (runs.get(m[1]) ?? 0) + 1);
        }
      }
      return runs;
    };
    await waitFor('three ticks run', () => ticksRun().size >= 3, { timeoutMs: 3 * TICK_SECONDS * 1000 + 10000 });
    const runs = ticksRun();
    assert.deepEqual([...runs.values()].filter((n) => n !== 1), [], `a bucket ran on two nodes: ${[...runs]}`);
    // The same payload in every node's playlists (a tick may land between
    // two fetches: then the next try agrees).
    await waitFor('one payload in every node\'s playlist', async () => {
      const payloads = await Promise.all(nodes.map(async (node) => {
        const { text } = await fetchMediaPlaylist(`${node.base}/hls/demo/stream.m3u8`);
        return JSON.stringify(headcountDateRanges(text).at(-1)?.payload);
      }));
      return payloads.every((p) => p === payloads[0]) && JSON.parse(payloads[0])?.m?.at(-1) === total;
    }, { timeoutMs: 10000, intervalMs: 100 });
    // Each node pushes the shared tick on its event stream.
    for (const node of nodes) {
      const controller = new AbortController();
      const res = await fetch(`${node.base}/api/events?channel=demo`, { signal: controller.signal });
      const reader = res.body.getReader();
      let text = '';
      while (!/data: .*\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      const data = JSON.parse(text.match(/data: (.*)\n/)[1]);
      assert.equal(data.channels[0].viewers, total, `${node.name}'s event stream`);
    }
    // Each node merges the sketch of the viewers it saw into PostgreSQL: a
    // viewer whose requests went to all three is one distinct viewer, not three.
    await waitFor(`distinct_viewers ${total} on every node's summary`, async () => {
      const docs = await Promise.all(nodes.map((n) => getJson(`${n.base}/api/channels/demo/summary?since=1h`)));
      return docs.every((d) => d.total.distinct_viewers === total);
    }, { timeoutMs: 20000 });
  });

  // A player's reports spread over the nodes in turn (as a load balancer
  // without stickiness sends them): each node hears each viewer less often
  // than its expiry, and the cluster counts it from its second report; a
  // one-shot probe never counts. Channel hb has no origin sessions, so its
  // count is the heartbeat viewers'.
  test('heartbeat tokens and CMCD sids whose reports go round-robin count from their second report, a probe never', async () => {
    const viewersOfHb = async (node) => (await getJson(`${node.base}/api/channels`)).channels.find((c) => c.id === 'hb')?.viewers;
    const allShowHb = async (n) => {
      const counts = await Promise.all(nodes.map(viewersOfHb));
      return counts.every((c) => c === n) ? counts : false;
    };
    const post = async (node, route, body, type) => {
      const res = await fetch(`${node.base}/api/channels/hb/${route}`, { method: 'POST', headers: { 'content-type': type }, body });
      return { status: res.status, json: res.status === 201 ? await res.json() : null };
    };
    const report = (node, sid) => post(node, 'cmcd', `e=t,sid="${sid}",sta=p,ts=${Date.now()}`, 'application/cmcd');
    const beat = (node, token) => post(node, 'heartbeat', JSON.stringify({ token }), 'application/json');
    await waitFor('channel hb on every node', async () => (await Promise.all(nodes.map(viewersOfHb))).every((c) => c === 0),
      { timeoutMs: 20000 });

    // Two sids, each reporting to a, b and c in turn; a probe sid reports once.
    for (let round = 0; round < 3; round++) {
      for (const [i, sid] of ['sid-0', 'sid-1'].entries()) assert.equal((await report(nodes[(round + i) % 3], sid)).status, 204);
    }
    assert.equal((await report(nodes[0], 'probe-sid')).status, 204);
    await waitFor('2 CMCD viewers of hb on every node', () => allShowHb(2), { timeoutMs: 15000 });

    // Three tokens, each beating to the next node every 5.5 s (the server
    // ignores a beat sooner than half its 10 s interval); a probe token once.
    const tokens = [];
    for (let i = 0; i < 3; i++) tokens.push((await post(nodes[i], 'viewers', '', 'application/json')).json.token);
    const probe = (await post(nodes[0], 'viewers', '', 'application/json')).json.token;
    assert.equal((await beat(nodes[1], probe)).status, 204);
    for (let round = 0; round < 3; round++) {
      if (round > 0) await sleep(5500);
      for (const [i, token] of tokens.entries()) assert.equal((await beat(nodes[(round + i) % 3], token)).status, 204);
    }
    await waitFor('3 heartbeat viewers of hb on every node', () => allShowHb(3), { timeoutMs: 15000 });
    // The probes never join: two more ticks, still 3 (2 sids, 3 tokens).
    await sleep(2 * TICK_SECONDS * 1000 + 1000);
    assert.deepEqual(await Promise.all(nodes.map(viewersOfHb)), [3, 3, 3]);
  });

  test('the lease holder killed, the others tick on and count its viewers out', async () => {
    const holder = leaseHolder(nodes);
    assert.ok(holder, 'no node logged a tick under the lease');
    await holder.proc.stop('SIGKILL');
    const live = nodes.filter((n) => n !== holder);
    nodes = live.concat(); // the killed node is not stopped again
    // Its direct viewers are gone (their node is); the balanced ones move on.
    const total = 2 * PER_NODE + SWITCHING;
    const killedAt = Date.now();
    await waitFor(`${total} viewers on the two nodes left`, () => allShow(live, total), { timeoutMs: 30000 });
    assert.ok(Date.now() - killedAt < (IDLE_SECONDS + 3 * TICK_SECONDS) * 1000 + 2000,
      `converged in ${Date.now() - killedAt} ms`);
    assert.ok(leaseHolder(live), 'no node left took the lease');
  });

  test('a Redis restart: degraded meanwhile, then one count again', async () => {
    const live = nodes;
    const total = 2 * PER_NODE + SWITCHING;
    await redis.kill();
    await waitFor('/healthz degraded on every node', async () => {
      const health = await Promise.all(live.map((n) => getJson(`${n.base}/healthz`)));
      return health.every((h) => h.status === 'degraded' && /Redis at 127\.0\.0\.1/.test(h.degraded));
    }, { timeoutMs: 10000, intervalMs: 100 });
    // Media is still served.
    for (const node of live) assert.equal((await fetch(`${node.base}/hls/demo/stream.m3u8`)).status, 200);
    await sleep(1000);
    await redis.start();
    const back = Date.now();
    await waitFor('/healthz ok on every node', async () => {
      const health = await Promise.all(live.map((n) => getJson(`${n.base}/healthz`)));
      return health.every((h) => h.status === 'ok');
    }, { timeoutMs: 15000 });
    await waitFor(`${total} viewers on every node again`, () => allShow(live, total), { timeoutMs: 30000 });
    assert.ok(Date.now() - back < (IDLE_SECONDS + 3 * TICK_SECONDS) * 1000 + 2000, `converged in ${Date.now() - back} ms`);
    for (const node of live) {
      assert.match(node.proc.output, /cluster: degraded, counting this node's viewers only/);
      assert.match(node.proc.output, /cluster: Redis answers again; shared counting resumes/);
    }
  });

  test('PostgreSQL holds exactly one sample per bucket, none missing', async () => {
    await sleep(2 * TICK_SECONDS * 1000);
    assert.equal(pg.sql('SELECT count(*) = count(DISTINCT (channel, bucket)) FROM headcount_samples'), 't');
    const buckets = pg.sql(`SELECT extract(epoch FROM bucket)::bigint FROM headcount_samples
      WHERE channel = 'demo' ORDER BY bucket`).split('\n').map(Number);
    assert.ok(buckets.length >= 6, `${buckets.length} buckets stored`);
    const missing = [];
    for (let t = buckets[0]; t <= buckets.at(-1); t += TICK_SECONDS) if (!buckets.includes(t)) missing.push(t);
    assert.deepEqual(missing, [], 'buckets missing while nodes were up');
  });
});

describe('two nodes over rediss://', () => {
  const PASSWORD = 'tls-s3cret-42';
  let dir;
  let redis;
  let pg;
  let nodes = [];

  before(async () => {
    dir = tempDir();
    [redis, pg] = await Promise.all([startRedis({ tls: true, password: PASSWORD }), startPostgres()]);
    assert.match(redis.url, /^rediss:\/\//);
    await startTestStream(join(dir, 'hls'), 'demo');
    for (const name of ['a', 'b']) {
      nodes.push(await startNode(dir, name, { redis, pg, extra: ['--cluster-ca-file', redis.caFile] }));
    }
    for (const node of nodes) startViewers(`${node.base}/hls/demo/stream.m3u8`, PER_NODE);
  });

  after(() => stopCluster({ nodes, pg, redis, dir }));

  test('both nodes show both nodes\' viewers, and never log the password', async () => {
    await waitFor(`${2 * PER_NODE} viewers on both nodes`, () => allShow(nodes, 2 * PER_NODE), { timeoutMs: 40000 });
    for (const node of nodes) {
      assert.equal((await getJson(`${node.base}/healthz`)).status, 'ok', node.name);
      assert.ok(!node.proc.output.includes(PASSWORD), `${node.name} logged the password`);
    }
  });

  test('a node with only the system\'s CAs refuses the certificate and says why', async () => {
    const node = await startNode(dir, 'no-ca', { redis, pg });
    nodes.push(node);
    await waitFor('/healthz degraded with the certificate\'s reason', async () => {
      const health = await getJson(`${node.base}/healthz`);
      return health.status === 'degraded' && /certificate verify failed/.test(health.degraded) ? health : false;
    }, { timeoutMs: 10000, intervalMs: 100 });
    assert.ok(!node.proc.output.includes(PASSWORD), 'the node logged the password');
  });

  test('a CA file that cannot be loaded stops the node at start', async () => {
    const port = await freePort();
    const r = run(['serve', '--listen', `127.0.0.1:${port}`, '--hls-root', join(dir, 'hls'),
      '--store', 'postgres', '--postgres-url', pg.url(), '--cluster', redis.url,
      '--cluster-ca-file', join(dir, 'no-such-ca.pem'), '--session-key-file', join(dir, 'session.key')]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /cluster\.redis: .*no-such-ca\.pem/);
    assert.ok(!r.stderr.includes(PASSWORD), 'the node logged the password');
  });
});
