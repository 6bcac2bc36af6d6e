// Stand-ins for the HLS servers that gate playback with sessions of their
// own (none is packaged here), serving ffmpeg's live TS output
// (<root>/<channel>/stream.m3u8 and seg_N.ts) as each does, from their code:
//  - mediamtx: MediaMTX >= 1.18, internal/servers/hls/http_server.go,
//    muxer.go, muxer_instance.go. index.m3u8 without ?cookieCheck=1: 302 to
//    it with Set-Cookie cookieCheck=1 (Secure, Partitioned); with it: a new
//    session (a UUID bound to the client's address), as a hlsSession cookie
//    when the cookieCheck cookie came back, else as ?session= on every URI
//    of every playlist. Anything else without a live session from the same
//    address (cookie first, then ?session=): 401. A session closes after
//    30 s without requests. With cdnSecret, `Authorization: Bearer <it>`
//    skips sessions (one CDN session, no redirect).
//  - ome: OvenMediaEngine, src/projects/publishers/llhls/llhls_publisher.cpp
//    (outside OriginMode): the master llhls.m3u8 opens a session (id and key)
//    and its chunklist URIs carry ?session=<id>_<key>, as do the segment URIs
//    of the chunklist; a chunklist or segment without a known id and its key: 401.
//  - srs: SRS with hls_ctx on, trunk/src/app/srs_app_http_static.cpp:
//    <stream>.m3u8 without a known hls_ctx answers a one-variant playlist whose
//    URI is its own path, path-absolute, with ?hls_ctx=<ctx> (the ctx given,
//    or a new random one) and the request's other query after '&'; with a
//    known one, the media playlist with ?hls_ctx=<ctx> on its .ts URIs.
//    .ts files are served whatever their ctx.
// Common options: requireQuery ('name=value' every request must carry, else
// 403: an upstream's token auth); state.rejectAll = true refuses every
// session (401; for SRS, as its on_play hook refusing everyone).
// restart() closes every connection and forgets every session, on the same port.
// Every request is recorded: { path, query, status, cookie, authorization }.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

// MediaMTX's sessionCloseAfter.
export const MEDIAMTX_SESSION_CLOSE_AFTER_MS = 30000;

const M3U8 = 'application/vnd.apple.mpegurl';

function cookiesOf(req) {
  const out = {};
  for (const pair of (req.headers.cookie ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

// ffmpeg's media playlist with `query` appended to every URI line.
function mediaPlaylist(dir, { query = '', prefix = '' } = {}) {
  const text = readFileSync(join(dir, 'stream.m3u8'), 'utf8');
  return text.split('\n').map((line) => (line && !line.startsWith('#') ? `${prefix}${line}${query}` : line)).join('\n');
}

const MULTIVARIANT = (uri) => `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.42c01e,mp4a.40.2"\n${uri}\n`;

export async function startGatedUpstream(root, mode, {
  cdnSecret = '', requireQuery = '', sessionCloseAfterMs = MEDIAMTX_SESSION_CLOSE_AFTER_MS,
} = {}) {
  const state = {
    requests: [],
    secrets: new Set(),   // every session secret, key or ctx handed out
    sessions: new Map(),  // mediamtx: secret -> { ip, last }; ome: id -> key; srs: ctx -> true
    cdnSessions: 0,
    nextOmeId: 1,
    rejectAll: false,
  };
  const sockets = new Set();

  const send = (res, status, body = '', headers = {}) => {
    res.writeHead(status, { 'Content-Length': Buffer.byteLength(body), ...headers });
    res.end(body);
    return status;
  };
  const sendFile = (res, file) => {
    if (!existsSync(file)) return send(res, 404);
    const bytes = readFileSync(file);
    res.writeHead(200, { 'Content-Type': 'video/mp2t', 'Content-Length': bytes.length });
    res.end(bytes);
    return 200;
  };

  function mediamtx(req, res, url) {
    const [, channel, name] = url.pathname.split('/');
    const dir = join(root, channel ?? '');
    if (!channel || !name || !existsSync(join(dir, 'stream.m3u8'))) return send(res, 404);
    const ip = req.socket.remoteAddress;
    const isCdn = cdnSecret !== '' && req.headers.authorization === `Bearer ${cdnSecret}`;
    if (name === 'index.m3u8') {
      if (isCdn) {
        state.cdnSessions = 1;
        return send(res, 200, MULTIVARIANT('stream.m3u8'), { 'Content-Type': M3U8 });
      }
      if (url.searchParams.get('cookieCheck') !== '1') {
        url.searchParams.set('cookieCheck', '1');
        return send(res, 302, '', {
          Location: `${url.pathname}?${url.searchParams}`,
          'Set-Cookie': 'cookieCheck=1; HttpOnly; Secure; SameSite=None; Partitioned',
        });
      }
      if (state.rejectAll) return send(res, 401);
      const secret = randomUUID();
      state.secrets.add(secret);
      state.sessions.set(secret, { ip, last: Date.now() });
      if (cookiesOf(req).cookieCheck === '1') {
        return send(res, 200, MULTIVARIANT('stream.m3u8'), {
          'Content-Type': M3U8,
          'Set-Cookie': `hlsSession=${secret}; HttpOnly; Secure; SameSite=None; Partitioned`,
        });
      }
      return send(res, 200, MULTIVARIANT(`stream.m3u8?session=${secret}`), { 'Content-Type': M3U8 });
    }
    let secret = null;
    if (isCdn) {
      if (!state.cdnSessions) return send(res, 401);
    } else {
      const byCookie = cookiesOf(req).hlsSession;
      secret = byCookie ?? url.searchParams.get('session');
      const session = state.sessions.get(secret);
      if (state.rejectAll || !session || session.ip !== ip) return send(res, 401);
      session.last = Date.now();
      // The muxer repeats the request's query on the URIs it writes.
      if (byCookie) secret = null;
    }
    if (name === 'stream.m3u8') {
      const query = secret ? `?session=${secret}` : '';
      return send(res, 200, mediaPlaylist(dir, { query }), { 'Content-Type': M3U8 });
    }
    return sendFile(res, join(dir, name));
  }

  function ome(req, res, url) {
    const [, app, channel, name] = url.pathname.split('/');
    const dir = join(root, channel ?? '');
    if (app !== 'app' || !channel || !name || !existsSync(join(dir, 'stream.m3u8'))) return send(res, 404);
    if (name === 'llhls.m3u8') {
      if (state.rejectAll) return send(res, 401);
      const id = state.nextOmeId++;
      const key = randomBytes(8).toString('hex');
      state.sessions.set(id, key);
      state.secrets.add(`${id}_${key}`);
      return send(res, 200, MULTIVARIANT(`chunklist_0_video_llhls.m3u8?session=${id}_${key}`), { 'Content-Type': M3U8 });
    }
    const idKey = (url.searchParams.get('session') ?? '').split('_');
    if (idKey.length !== 2) return send(res, 401);
    const key = state.sessions.get(Number(idKey[0]));
    if (state.rejectAll || key === undefined || key !== idKey[1]) return send(res, 401);
    if (name === 'chunklist_0_video_llhls.m3u8') {
      return send(res, 200, mediaPlaylist(dir, { query: `?session=${idKey[0]}_${idKey[1]}` }), { 'Content-Type': M3U8 });
    }
    return sendFile(res, join(dir, name));
  }

  function srs(req, res, url) {
    const [, app, name] = url.pathname.split('/');
    if (app !== 'live' || !name) return send(res, 404);
    // SRS itself never answers 401 to HLS; its http hooks (on_play) can
    // refuse every client.
    if (state.rejectAll) return send(res, 401);
    if (name.endsWith('.m3u8')) {
      const channel = name.slice(0, -'.m3u8'.length);
      const dir = join(root, channel);
      if (!existsSync(join(dir, 'stream.m3u8'))) return send(res, 404);
      let ctx = url.searchParams.get('hls_ctx') ?? '';
      let status;
      if (ctx && state.sessions.has(ctx)) {
        const text = mediaPlaylist(dir, { prefix: `${channel}-` }).replaceAll('.ts\n', `.ts?hls_ctx=${ctx}\n`);
        status = send(res, 200, text, { 'Content-Type': M3U8 });
      } else {
        if (!ctx) ctx = randomBytes(4).toString('hex');
        state.secrets.add(ctx);
        const raw = url.search.slice(1);
        const rest = raw && !url.searchParams.has('hls_ctx') ? `&${raw}` : '';
        status = send(res, 200, `#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,AVERAGE-BANDWIDTH=1\n${url.pathname}?hls_ctx=${ctx}${rest}\n`, { 'Content-Type': M3U8 });
      }
      state.sessions.set(ctx, true);  // alive(ctx)
      return status;
    }
    const dash = name.indexOf('-');
    if (dash < 0) return send(res, 404);
    return sendFile(res, join(root, name.slice(0, dash), name.slice(dash + 1)));
  }

  const handlers = { mediamtx, ome, srs };
  if (!handlers[mode]) throw new Error(`unknown stand-in ${mode}`);
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://upstream');
    const record = {
      path: url.pathname, query: url.search, cookie: req.headers.cookie ?? '',
      authorization: req.headers.authorization ?? '', status: 0,
    };
    state.requests.push(record);
    if (name(requireQuery) && url.searchParams.get(name(requireQuery)) !== value(requireQuery)) {
      record.status = send(res, 403);
      return;
    }
    record.status = handlers[mode](req, res, url);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const sweep = setInterval(() => {
    if (mode !== 'mediamtx') return;
    const now = Date.now();
    for (const [secret, s] of state.sessions) if (now - s.last > sessionCloseAfterMs) state.sessions.delete(secret);
  }, Math.min(sessionCloseAfterMs / 3, 10000));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const base = `http://127.0.0.1:${port}`;

  return {
    base,
    state,
    get requests() { return state.requests; },
    // Kills every connection, forgets every session, listens again.
    async restart() {
      await new Promise((resolve) => {
        server.close(resolve);
        for (const s of sockets) s.destroy();
      });
      state.sessions.clear();
      state.cdnSessions = 0;
      await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    close: async () => {
      clearInterval(sweep);
      await new Promise((resolve) => {
        server.close(resolve);
        for (const s of sockets) s.destroy();
      });
    },
  };
}

function name(pair) { return pair ? pair.slice(0, pair.indexOf('=')) : ''; }
function value(pair) { return pair.slice(pair.indexOf('=') + 1); }
