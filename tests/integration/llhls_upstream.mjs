// An LL-HLS upstream for the proxy tests (no LL-HLS server is packaged
// here): serves ffmpeg's live fMP4 output (stream.m3u8, init.mp4,
// seg_N.m4s under <root>/<channel>/) as a Low-Latency HLS media playlist
// (RFC 8216bis): each segment also as two parts, byte ranges of its file,
// a preload hint for the next segment, and blocking playlist reloads
// (_HLS_msn, _HLS_part) held until the segment exists or 3 target
// durations passed. Files are served with Range support. Every request is
// recorded (`requests`: { path, query }).
import { createServer } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const PART_TARGET = 0.5;
const POLL_MS = 50;

// ffmpeg's playlist: { target, sequence, segments: [{ uri, duration, pdt }] }.
function readFfmpegPlaylist(file) {
  const out = { target: 1, sequence: 0, segments: [], map: null };
  let duration = null;
  let pdt = null;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('#EXT-X-TARGETDURATION:')) out.target = Number(line.split(':')[1]);
    else if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) out.sequence = Number(line.split(':')[1]);
    else if (line.startsWith('#EXT-X-MAP:')) out.map = line;
    else if (line.startsWith('#EXTINF:')) duration = Number(line.slice(8).split(',')[0]);
    else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pdt = line;
    else if (line && !line.startsWith('#')) {
      out.segments.push({ uri: line.trim(), duration, pdt });
      duration = null;
      pdt = null;
    }
  }
  return out;
}

function lowLatencyPlaylist(dir, p) {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:9', `#EXT-X-TARGETDURATION:${p.target}`,
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${3 * PART_TARGET}`,
    `#EXT-X-PART-INF:PART-TARGET=${PART_TARGET}`, `#EXT-X-MEDIA-SEQUENCE:${p.sequence}`];
  if (p.map) lines.push(p.map);
  for (const s of p.segments) {
    if (s.pdt) lines.push(s.pdt);
    const size = statSync(join(dir, s.uri)).size;
    const half = Math.floor(size / 2);
    lines.push(`#EXT-X-PART:DURATION=${(s.duration / 2).toFixed(3)},URI="${s.uri}",BYTERANGE="${half}@0",INDEPENDENT=YES`);
    lines.push(`#EXT-X-PART:DURATION=${(s.duration / 2).toFixed(3)},URI="${s.uri}",BYTERANGE="${size - half}@${half}"`);
    lines.push(`#EXTINF:${s.duration.toFixed(3)},`, s.uri);
  }
  const next = p.sequence + p.segments.length;
  lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg_${String(next).padStart(5, '0')}.m4s"`);
  return `${lines.join('\n')}\n`;
}

export async function startLowLatencyUpstream(root) {
  const requests = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://upstream');
    requests.push({ path: url.pathname, query: url.search });
    const [, channel, name] = url.pathname.split('/');
    const dir = join(root, channel ?? '');
    if (!channel || !name || name.includes('..') || !existsSync(join(dir, 'stream.m3u8'))) {
      res.writeHead(404).end();
      return;
    }
    if (name === 'll.m3u8') {
      let p = readFfmpegPlaylist(join(dir, 'stream.m3u8'));
      const msn = url.searchParams.get('_HLS_msn');
      if (msn !== null) {
        const wanted = Number(msn);
        const last = () => p.sequence + p.segments.length - 1;
        if (!(wanted >= 0) || wanted > last() + 2) {
          res.writeHead(400).end();
          return;
        }
        const deadline = Date.now() + 3 * p.target * 1000;
        while (last() < wanted && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, POLL_MS));
          p = readFfmpegPlaylist(join(dir, 'stream.m3u8'));
        }
      }
      res.writeHead(200, { 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': 'no-cache' });
      res.end(lowLatencyPlaylist(dir, p));
      return;
    }
    const file = join(dir, name);
    if (!existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    const bytes = readFileSync(file);
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), bytes.length - 1) : bytes.length - 1;
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${bytes.length}`, 'Content-Type': 'video/iso.segment' });
      res.end(bytes.subarray(start, end + 1));
      return;
    }
    res.writeHead(200, { 'Content-Type': name.endsWith('.mp4') ? 'video/mp4' : 'video/iso.segment' });
    res.end(bytes);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return { server, base, requests, close: () => new Promise((r) => server.close(r)) };
}
