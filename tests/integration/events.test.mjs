// GET /api/events against a real `headcount serve` with a stream and
// simulated viewers: each tick arrives as an event (the /api/channels
// document of that moment) as soon as it is recorded, with no polling; a
// change of audience shows in an event within a tick or two; a client that
// reconnects with Last-Event-ID gets exactly the ticks it missed; streams
// past --max-event-streams get 503 until one closes; the events pass at once
// through nginx with its default response buffering (X-Accel-Buffering: no);
// a page of another origin may reconnect (its Last-Event-ID is preflighted).
// The keep-alive comments: src/server/http_stream_test.cc.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import {
  Proc, cleanup, getJson, startNginxProxy, startServe, startTestStream, startViewers, tempDir, waitFor,
} from './harness.mjs';

const TICK_SECONDS = 2;
const MAX_STREAMS = 3;
const VIEWERS = 4;
const PAGE = 'https://page.example';
const hasNginx = spawnSync('nginx', ['-v']).status === 0;

// A client of an event stream: the events as they arrive (parsed as
// EventSource does, with the time each came), until close().
async function openEvents(url, headers = {}) {
  const abort = new AbortController();
  const response = await fetch(url, { headers, signal: abort.signal });
  const client = { response, events: [], comments: 0, retry: null, ended: false };
  if (response.ok) {
    (async () => {
      const decoder = new TextDecoder();
      let text = '';
      try {
        for await (const chunk of response.body) {
          text += decoder.decode(chunk, { stream: true });
          let end;
          while ((end = text.indexOf('\n\n')) >= 0) {
            const block = text.slice(0, end);
            text = text.slice(end + 2);
            const event = { at: Date.now() };
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) client.comments++;
              else if (line.startsWith('retry: ')) client.retry = Number(line.slice(7));
              else if (line.startsWith('id: ')) event.id = line.slice(4);
              else if (line.startsWith('event: ')) event.type = line.slice(7);
              else if (line.startsWith('data: ')) event.data = JSON.parse(line.slice(6));
            }
            if (event.id !== undefined) client.events.push(event);
          }
        }
      } catch {
        // closed by us
      }
      client.ended = true;
    })();
  }
  client.close = () => abort.abort();
  // The first event (after `from` events) that `predicate` accepts.
  client.next = (what, predicate = () => true, from = 0) => waitFor(what,
    () => client.events.slice(from).find(predicate) ?? false, { timeoutMs: 6 * TICK_SECONDS * 1000, intervalMs: 20 });
  return client;
}

describe('GET /api/events: each tick pushed as it happens', () => {
  let dir;
  let base;
  let proxy;
  const open = [];
  const events = async (path = '/api/events', headers = {}, server = base) => {
    const c = await openEvents(`${server}${path}`, headers);
    open.push(c);
    return c;
  };

  before(async () => {
    dir = tempDir('headcount-events-');
    await startTestStream(join(dir, 'hls'), 'live');
    ({ base } = await startServe(dir, {
      tickSeconds: TICK_SECONDS,
      extraArgs: ['--max-event-streams', String(MAX_STREAMS), '--cors-origins', PAGE],
    }));
    if (hasNginx) proxy = await startNginxProxy(join(dir, 'nginx'), Number(new URL(base).port));
  });
  after(async () => {
    for (const c of open) c.close();
    await Proc.stopAll();
    cleanup(dir);
  });

  test('a stream starts with the newest tick, then gets every tick as the API shows it', async () => {
    const c = await events();
    assert.equal(c.response.status, 200);
    assert.equal(c.response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(c.response.headers.get('cache-control'), 'no-store');
    assert.equal(c.response.headers.get('x-accel-buffering'), 'no');
    const first = await c.next('the newest tick at once');
    assert.equal(first.type, 'tick');
    assert.equal(c.retry, 3000);
    // The next ones follow one per tick, ids (their buckets) one interval apart.
    const third = await c.next('two more ticks', () => true, 2);
    const ids = c.events.slice(0, 3).map((e) => Number(e.id));
    assert.deepEqual(ids, [ids[0], ids[0] + TICK_SECONDS, ids[0] + 2 * TICK_SECONDS]);
    // Each is the /api/channels document of its tick.
    const [event, api] = await waitFor('an event and /api/channels of the same tick', async () => {
      const doc = await getJson(`${base}/api/channels`);
      const e = c.events.find((x) => x.data.updated === doc.updated);
      return e ? [e, doc] : false;
    });
    assert.deepEqual(event.data, api);
    assert.equal(third.data.bucket_seconds, TICK_SECONDS);
    c.close();
  });

  test('a change of audience shows in an event within a tick or two, for ?channel= alone', async () => {
    const c = await events('/api/events?channel=live');
    await c.next('the newest tick');
    const from = c.events.length;
    const viewers = startViewers(`${base}/hls/live/stream.m3u8`, VIEWERS, { ramp: '0s' });
    const started = Date.now();
    const seen = await c.next(`an event counting ${VIEWERS} viewers`,
      (e) => e.data.channels[0]?.viewers === VIEWERS, from);
    assert.ok(seen.at - started <= 3 * TICK_SECONDS * 1000, `came ${seen.at - started} ms after the viewers started`);
    assert.deepEqual(seen.data.channels.map((ch) => ch.id), ['live'], 'narrowed to the channel asked for');
    assert.equal(seen.data.channels[0].live, true);
    await viewers.stop();
    c.close();
  });

  test('a client that reconnects with Last-Event-ID gets exactly the ticks it missed', async () => {
    const c = await events();
    const seen = await c.next('a tick');
    c.close();
    // Away for two ticks or more.
    await waitFor('two ticks to pass', async () => Date.parse((await getJson(`${base}/api/channels`)).updated) / 1000
      >= Number(seen.id) + 2 * TICK_SECONDS, { timeoutMs: 5 * TICK_SECONDS * 1000 });
    const back = await events('/api/events', { 'Last-Event-ID': seen.id });
    await back.next('the missed ticks');
    const ids = back.events.map((e) => Number(e.id));
    assert.equal(ids[0], Number(seen.id) + TICK_SECONDS, 'starts right after the last one seen');
    ids.forEach((id, i) => assert.equal(id, ids[0] + i * TICK_SECONDS, 'no tick missing, none twice'));
    // A client that missed nothing gets nothing until the next tick.
    const latest = back.events.at(-1).id;
    back.close();
    const upToDate = await events('/api/events', { 'Last-Event-ID': latest });
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(upToDate.events.every((e) => Number(e.id) > Number(latest)));
    upToDate.close();
  });

  test(`streams past --max-event-streams ${MAX_STREAMS} get 503 until one closes`, async () => {
    await waitFor('earlier streams to be closed', async () => {
      const probe = await fetch(`${base}/api/events`, { method: 'HEAD' });
      return probe.status === 200;
    });
    const held = [];
    for (let i = 0; i < MAX_STREAMS; i++) held.push(await events());
    assert.ok(held.every((c) => c.response.status === 200));
    const refused = await events();
    assert.equal(refused.response.status, 503);
    assert.ok(Number(refused.response.headers.get('retry-after')) > 0);
    assert.match((await refused.response.json()).error, /too many event streams/);
    held[0].close();
    const again = await waitFor('a stream to be taken again', async () => {
      const c = await events();
      return c.response.status === 200 ? c : (c.close(), false);
    });
    again.close();
    for (const c of held) c.close();
  });

  test('a page of another origin may open and resume the stream (Last-Event-ID preflighted)', async () => {
    const pre = await fetch(`${base}/api/events`, {
      method: 'OPTIONS',
      headers: { Origin: PAGE, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'last-event-id' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), PAGE);
    assert.match(pre.headers.get('access-control-allow-headers'), /Last-Event-ID/i);
    const other = await fetch(`${base}/api/events`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://elsewhere.example', 'Access-Control-Request-Method': 'GET' },
    });
    assert.equal(other.status, 403);
    const c = await events('/api/events', { Origin: PAGE });
    assert.equal(c.response.headers.get('access-control-allow-origin'), PAGE);
    c.close();
  });

  test('through nginx with its default buffering, each event passes at once', { skip: !hasNginx && 'nginx is not installed (nginx-light)' }, async () => {
    await waitFor('a stream slot', async () => (await fetch(`${base}/api/events`, { method: 'HEAD' })).status === 200);
    const direct = await events();
    const proxied = await events('/api/events', {}, proxy.base);
    assert.equal(proxied.response.status, 200);
    await direct.next('a tick directly');
    const from = direct.events.length;
    const tick = await direct.next('the next tick directly', () => true, from);
    const through = await proxied.next(`tick ${tick.id} through nginx`, (e) => e.id === tick.id);
    assert.ok(through.at - tick.at < 1000, `through nginx ${through.at - tick.at} ms later`);
    direct.close();
    proxied.close();
  });
});
