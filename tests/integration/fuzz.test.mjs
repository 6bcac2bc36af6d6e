// Malformed and mutated HTTP requests against `headcount serve` (loopback
// only, bounded in count and time): the server must keep answering /healthz
// promptly, never serve a file from outside the HLS root, and never crash.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

import { Proc, cleanup, startServe, startTestStream, tempDir } from './harness.mjs';

const MUTATIONS = 1500;
const SECRET = 'HEADCOUNT-FUZZ-SECRET-7f3a';

// A fixed corpus of requests real clients and attackers send.
const CORPUS = [
  'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /hls/demo/stream.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /hls/demo/stream.m3u8?hcs=AAAA HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /api/channels HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n',
  'GET /api/channels/demo/history?since=1h&format=csv HTTP/1.1\r\nHost: x\r\n\r\n',
  'POST /api/tick HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
  'GET /hls/../secret.ts HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /hls/%2e%2e/secret.ts HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /hls/demo/%2e%2e%2f%2e%2e%2fsecret.ts HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /hls/demo/seg%00.ts HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET //etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET http://x/hls/demo/stream.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n',
  'POST /api/channels HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\nA\r\n',
  'POST /api/tick HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'GET /watch/demo HTTP/1.0\r\n\r\n',
  // CMCD v2 event reports (issue #22): mutations hit the collector's parser.
  cmcdPost('bl=(3200),br=(0),cid="demo",e=ps,mtp=(16400),sf=h,sid="9e235017",sn=3,st=l,sta=p,ts=1796614091739,v=2\n'),
  cmcdPost('sid="a\\"b\\\\c",br=(1 2;x=3);y,pr=1.25,d=:aGk=:,ts=@17,bg,su=?0\ne=t,sid="x",sta=a\n'),
  'GARBAGE\r\n\r\n',
  '\r\n\r\n\r\n',
  `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20000)}\r\n\r\n`,
];

// A POST of `body` to the CMCD collector of channel demo.
function cmcdPost(body) {
  return `POST /api/channels/demo/cmcd HTTP/1.1\r\nHost: x\r\nContent-Type: application/cmcd\r\nContent-Length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}`;
}

function mutate(text, rng) {
  const bytes = Buffer.from(text, 'latin1');
  const out = [...bytes];
  const edits = 1 + Math.floor(rng() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rng() * (out.length + 1));
    switch (Math.floor(rng() * 5)) {
      case 0: out.splice(at, 1); break;  // delete
      case 1: out.splice(at, 0, Math.floor(rng() * 256)); break;  // insert random byte
      case 2: out[at] = Math.floor(rng() * 256); break;  // flip
      case 3: out.splice(at, 0, ...Buffer.from(['%00', '..', '\r\n', '%', '?', '/..', ':', '\u0000'][Math.floor(rng() * 8)], 'latin1')); break;
      default: out.splice(at, Math.floor(rng() * 8)); break;  // truncate a run
    }
  }
  return Buffer.from(out);
}

// Sends `data`, reads what comes back for at most `ms`, then closes.
function exchange(port, data, ms = 300) {
  return new Promise((resolve) => {
    let got = '';
    const s = connect(port, '127.0.0.1');
    const done = () => { s.destroy(); resolve(got); };
    s.setTimeout(ms, done);
    s.on('data', (d) => { got += d.toString('latin1'); });
    s.on('error', done);
    s.on('close', done);
    s.write(data, () => s.end());
  });
}

function mulberry32(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('HTTP fuzzing of serve', () => {
  let dir;
  let serve;
  before(async () => {
    dir = tempDir();
    await startTestStream(join(dir, 'hls'), 'demo');
    writeFileSync(join(dir, 'secret.ts'), SECRET);  // beside the HLS root, never to be served
    serve = await startServe(dir, { tickSeconds: 1, extraArgs: ['--cmcd', 'on'] });  // the collector too
  });
  after(async () => {
    await Proc.stopAll();
    cleanup(dir);
  });

  test('the corpus: every answer is HTTP, nothing leaks', async () => {
    for (const req of CORPUS) {
      const res = await exchange(serve.port, Buffer.from(req, 'latin1'));
      assert.ok(!res.includes(SECRET), `leaked the file outside the root for ${JSON.stringify(req.slice(0, 60))}`);
      if (res) assert.match(res, /^HTTP\/1\.[01] \d{3} /, `not an HTTP answer to ${JSON.stringify(req.slice(0, 60))}`);
    }
  });

  test(`${MUTATIONS} mutated requests, then /healthz still answers promptly`, async () => {
    const seed = Number(process.env.HEADCOUNT_FUZZ_SEED ?? Date.now() % 1e9);
    const rng = mulberry32(seed);
    const deadline = Date.now() + 60000;
    let sent = 0;
    for (; sent < MUTATIONS && Date.now() < deadline; sent += 10) {
      const batch = [];
      for (let i = 0; i < 10; i++) {
        batch.push(exchange(serve.port, mutate(CORPUS[Math.floor(rng() * CORPUS.length)], rng), 200));
      }
      for (const res of await Promise.all(batch)) {
        assert.ok(!res.includes(SECRET), `leaked the file outside the root (seed ${seed})`);
      }
    }
    assert.ok(sent >= 500, `only ${sent} requests in a minute`);
    const started = Date.now();
    const health = await fetch(`http://127.0.0.1:${serve.port}/healthz`);
    assert.equal(health.status, 200);
    assert.ok(Date.now() - started < 1000, `/healthz took ${Date.now() - started} ms (seed ${seed})`);
    assert.equal(serve.proc.child.exitCode, null, `serve died (seed ${seed}): ${serve.proc.output.slice(-2000)}`);
    assert.doesNotMatch(serve.proc.output, /AddressSanitizer|runtime error/, `sanitizer report (seed ${seed})`);
  });
});
