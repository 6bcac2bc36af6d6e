// The HTTP limits of `headcount serve`, from the outside, with its default
// settings: slow clients are dropped while others are served, one address
// cannot hold more than its share of connections, oversized requests get the
// status that names the limit, and pipelined requests are answered in order.
// (src/server/http_server_test.cc tests the same limits with small settings.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';

import { cleanup, sleep, startServe, tempDir } from './harness.mjs';

// The defaults of HttpServerOptions (src/server/http_server.h).
const READ_TIMEOUT_MS = 10_000;
const MAX_CONNECTIONS_PER_CLIENT = 256;

// Resolves after `ms` without keeping the test process alive.
const deadline = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

// A raw TCP client: what the server sent, and when it closed the connection.
function rawClient(port, { localAddress = '127.0.0.1' } = {}) {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  const client = { socket, received: '', closedAt: null, connected: null };
  client.connected = new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('data', (d) => { client.received += d.toString('latin1'); });
  socket.on('error', () => {});  // a reset is one way of being closed
  client.closed = new Promise((resolve) => socket.on('close', () => {
    client.closedAt = Date.now();
    resolve();
  }));
  return client;
}

async function exchange(port, text, { localAddress } = {}) {
  const c = rawClient(port, { localAddress });
  await c.connected;
  c.socket.write(text);
  await Promise.race([c.closed, deadline(5000)]);
  c.socket.destroy();
  return c.received;
}

async function healthzMs(base) {
  const t0 = Date.now();
  const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  await res.text();
  return Date.now() - t0;
}

describe('headcount serve limits, from outside', () => {
  let dir;
  let serve;
  before(async () => {
    dir = tempDir();
    serve = await startServe(dir, { tickSeconds: 60 });
  });
  after(async () => {
    await serve?.proc.stop();
    cleanup(dir);
  });

  test('slowloris clients are dropped after the read timeout while others are served', async () => {
    const started = Date.now();
    // Ten clients that send half a request and stop, ten that trickle a byte a second.
    const silent = [];
    const tricklers = [];
    for (let i = 0; i < 10; i += 1) {
      const s = rawClient(serve.port);
      await s.connected;
      s.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      silent.push(s);
      tricklers.push(rawClient(serve.port));
    }
    await Promise.all(tricklers.map((t) => t.connected));
    const request = `GET /${'t'.repeat(50)} HTTP/1.1\r\nHost: x\r\n\r\n`;
    let stop = false;
    const trickling = (async () => {
      for (let i = 0; i < request.length && !stop; i += 1) {
        for (const t of tricklers) if (!t.closedAt) t.socket.write(request[i]);
        await sleep(1000);
      }
    })();

    // Meanwhile everyone else is answered promptly.
    const latencies = [];
    while (Date.now() - started < READ_TIMEOUT_MS - 1000) {
      latencies.push(await healthzMs(serve.base));
      await sleep(500);
    }
    assert.ok(Math.max(...latencies) < 1000, `healthz while under slowloris: ${latencies.join(', ')} ms`);

    await Promise.race([
      Promise.all([...silent, ...tricklers].map((c) => c.closed)),
      deadline(READ_TIMEOUT_MS + 8000),
    ]);
    stop = true;
    await trickling;
    for (const c of [...silent, ...tricklers]) {
      assert.ok(c.closedAt, 'a slow client is still connected long after the read timeout');
      const heldMs = c.closedAt - started;
      assert.ok(heldMs >= READ_TIMEOUT_MS - 1500, `closed after ${heldMs} ms, before the read timeout`);
      assert.equal(c.received, '', 'a slow client got no response: its request never completed');
      c.socket.destroy();
    }
    assert.ok((await healthzMs(serve.base)) < 1000);
  });

  test('one address holds at most its share of connections; other addresses are served', async () => {
    // 127.0.0.3 is another client address on the loopback network.
    const hog = [];
    for (let i = 0; i < MAX_CONNECTIONS_PER_CLIENT + 20; i += 1) {
      const c = rawClient(serve.port, { localAddress: '127.0.0.3' });
      hog.push(c);
      await c.connected;
    }
    await sleep(1000);
    const cut = hog.filter((c) => c.closedAt).length;
    assert.equal(cut, 20, `${cut} of ${hog.length} connections from one address were closed`);
    // The hog's open connections still work; other addresses are not affected.
    const open = hog.find((c) => !c.closedAt);
    open.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(500);
    assert.match(open.received, /^HTTP\/1\.1 200 /);
    assert.match(await exchange(serve.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      { localAddress: '127.0.0.4' }), /^HTTP\/1\.1 200 /);
    for (const c of hog) c.socket.destroy();
  });

  test('oversized requests are refused with the status that names the limit', async () => {
    const status = (text) => Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1]);
    assert.equal(status(await exchange(serve.port, `GET /${'a'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n\r\n`)), 414);
    assert.equal(status(await exchange(serve.port,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20000)}\r\n\r\n`)), 431);
    assert.equal(status(await exchange(serve.port,
      `POST /api/tick HTTP/1.1\r\nHost: x\r\nContent-Length: ${200 * 1024}\r\n\r\n${'c'.repeat(1000)}`)), 413);
    const wrongMethod = await exchange(serve.port, 'DELETE /api/channels HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(status(wrongMethod), 405);
    assert.match(wrongMethod, /\r\nAllow: /i);
  });

  test('pipelined requests on one connection are answered in order', async () => {
    const paths = ['/healthz', '/api/channels', '/nope', '/healthz'];
    const text = paths.map((p, i) => `GET ${p} HTTP/1.1\r\nHost: x\r\n${i === paths.length - 1 ? 'Connection: close\r\n' : ''}\r\n`).join('');
    const answer = await exchange(serve.port, text);
    const statuses = [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [200, 200, 404, 200]);
  });
});
