// The player at /watch/{channel} (web/watch.html, started by watch.js once
// hls.js, the global Hls, is loaded): plays /hls/{channel}/<playlist> with
// hls.js and shows, over the video, the viewer payload that rides in the
// stream itself, never from the API: the EXT-X-DATERANGE of class
// com.headcount.viewers (read from hls.js's level details and its metadata
// cues) or the ID3 TXXX frame the origin puts in each segment (a metadata cue
// too: hls.js parses it from the TS metadata stream or the fMP4 emsg,
// FRAG_PARSING_METADATA). Both go through the one decoder, payload.js, and
// the newest bucket wins whichever carried it. Goes "offline" when the video or the playlist stops moving, and keeps
// retrying until the stream is back (playback.js).
//
// It is counted as any page would be: when the server collects CMCD
// (GET /api/channels/{id}/cmcd says so; on with --count heartbeats), by
// hls.js's own CMCD v2 event reports pointed at the collector (the
// standard, not a protocol of ours); otherwise, or without hls.js (Safari),
// by headcount.js's heartbeats.
import { HEADCOUNT_ATTRIBUTE, HEADCOUNT_CLASS, payloadOfCue } from './cues.js';
import { decodePayload } from './payload.js';
import { accept, reject } from './overlay.js';
import { createPlaybackWatch } from './playback.js';
import { countViewer } from './headcount.js';

const DEFAULT_PLAYLIST = 'stream.m3u8';
// The interval of hls.js's time-interval reports (e=t), as README tells
// sites to set it.
const CMCD_INTERVAL_S = 10;
// A live playlist that has not changed for this long (or 3 target durations,
// whichever is longer) belongs to a stream that stopped.
const STALE_PLAYLIST_MS = 10000;

const $ = (id) => document.getElementById(id);
const video = $('video');

const channel = location.pathname.match(/^\/watch\/([A-Za-z0-9_-]{1,64})$/)?.[1] ?? null;
const playlistName = new URLSearchParams(location.search).get('playlist') ?? DEFAULT_PLAYLIST;
const playlistOk = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}\.m3u8$/.test(playlistName);

// Player state, changed only by the functions below.
let hls = null;
let lastPlaylistChangeAt = performance.now();
let lastEndSn = null;
let targetDurationMs = 0;
let mediaRecoveries = 0;
// The collector's URL when the server collects CMCD; null otherwise.
let cmcdCollector = null;
// The page's CMCD session id, the same for every hls.js it starts (after an
// outage too), so that it stays one viewer.
const cmcdSid = crypto.randomUUID?.()
  ?? Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

const watch = createPlaybackWatch({
  start: startPlayer,
  isStale: (now) => now - lastPlaylistChangeAt > Math.max(STALE_PLAYLIST_MS, 3 * targetDurationMs),
  onBackOnline: () => { mediaRecoveries = 0; },
});

// --- reading the payload from the stream ------------------------------------

// hls.js level details: every DATERANGE of the playlist, by ID. The newest
// headcount one wins.
function readDateRanges(details) {
  const ranges = Object.values(details?.dateRanges ?? {})
    .filter((dr) => dr?.class === HEADCOUNT_CLASS && typeof dr.attr?.[HEADCOUNT_ATTRIBUTE] === 'string')
    .sort((a, b) => (a.startDate?.getTime() ?? 0) - (b.startDate?.getTime() ?? 0));
  const newest = ranges.at(-1);
  if (!newest) return;
  const r = decodePayload(newest.attr[HEADCOUNT_ATTRIBUTE], { base64: true });
  if (r.ok) accept(r.payload, newest.id, 'daterange');
  else reject(r.error, 'DATERANGE');
}

// A metadata cue (cues.js): the overlay notes which one it showed
// (data-source "daterange" or "id3").
function readCue(cue) {
  const r = payloadOfCue(cue);
  if (!r) return;
  if (r.ok) accept(r.payload, r.key, r.source);
  else reject(r.error, r.source);
}

function watchTextTrack(track) {
  if (track.kind !== 'metadata' || track.headcountWatched) return;
  track.headcountWatched = true;
  track.mode = 'hidden';  // cues fire, nothing is drawn
  track.addEventListener('cuechange', () => {
    for (const cue of Array.from(track.activeCues ?? [])) readCue(cue);
  });
}

// --- playback ------------------------------------------------------------------

const source = () => `/hls/${encodeURIComponent(channel)}/${encodeURIComponent(playlistName)}`;

function onLevelUpdated(_event, data) {
  const details = data?.details;
  if (!details) return;
  targetDurationMs = (details.targetduration ?? 0) * 1000;
  if (lastEndSn !== null && details.endSN !== lastEndSn) lastPlaylistChangeAt = performance.now();
  lastEndSn = details.endSN;
  readDateRanges(details);
}

function onHlsError(_event, data) {
  if (!data?.fatal) return;  // hls.js retries these itself
  if (data.type === Hls.ErrorTypes.MEDIA_ERROR && mediaRecoveries < 2) {
    mediaRecoveries += 1;
    hls.recoverMediaError();
    return;
  }
  watch.goOffline(data.type === Hls.ErrorTypes.NETWORK_ERROR ? 'The stream cannot be reached.' : 'The stream broke off.');
}

function startPlayer({ afterOutage }) {
  stopPlayer();
  lastEndSn = null;
  // After an outage only a playlist that moves again means the stream is back.
  lastPlaylistChangeAt = afterOutage ? -Infinity : performance.now();
  if (window.Hls?.isSupported()) {
    hls = new Hls({
      enableWorker: true, enableDateRangeMetadataCues: true, liveDurationInfinity: true, backBufferLength: 30,
      ...(cmcdCollector ? { cmcd: cmcdConfig() } : {}),
    });
    hls.on(Hls.Events.LEVEL_UPDATED, onLevelUpdated);
    hls.on(Hls.Events.ERROR, onHlsError);
    hls.on(Hls.Events.MANIFEST_PARSED, () => play());
    hls.attachMedia(video);
    hls.loadSource(source());
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    // Safari plays HLS itself and turns DATERANGE tags into metadata cues.
    video.src = source();
    lastPlaylistChangeAt = Infinity;  // no playlist events: judge by the picture alone
    play();
  } else {
    watch.setState('error', 'This browser cannot play HLS streams.');
  }
}

// hls.js's CMCD v2 config: an event target at the collector for play-state
// changes and a report every CMCD_INTERVAL_S; no request-mode CMCD, so the
// media URLs stay the same for every viewer (a CDN's cache key).
function cmcdConfig() {
  return {
    version: 2,
    sessionId: cmcdSid,
    contentId: channel,
    includeKeys: [],
    eventTargets: [{ url: cmcdCollector, events: ['ps', 't', 'e'], interval: CMCD_INTERVAL_S }],
  };
}

// A closed page sends nothing of itself: on pagehide, one last report says
// the player quit (sta=q), so it leaves the count at once.
function reportQuit() {
  if (!hls || !cmcdCollector) return;
  navigator.sendBeacon?.(cmcdCollector, `e=ps,sid="${cmcdSid}",sta=q,ts=${Date.now()},v=2\n`);
}

// Whether the server collects CMCD for the channel (false on any failure).
async function serverCollectsCmcd() {
  try {
    const r = await fetch(`/api/channels/${encodeURIComponent(channel)}/cmcd`, { cache: 'no-store' });
    return r.ok && (await r.json()).collecting === true;
  } catch {
    return false;
  }
}

function stopPlayer() {
  if (hls) {
    hls.destroy();
    hls = null;
  }
}

function play() {
  video.muted = true;
  video.play().catch(() => {
    // Autoplay refused: the controls are there; say so.
    if (watch.state === 'loading') watch.setState('loading', 'Press play to start the stream.');
  });
}

export async function main() {
  if (!channel || !playlistOk) {
    watch.setState('error', channel ? `"${playlistName}" is not a playlist name.` : 'No channel in this address.');
    return;
  }
  document.title = `${channel} — headcount`;
  $('title').textContent = channel;
  video.setAttribute('aria-label', `Live stream of ${channel}`);
  video.textTracks.addEventListener('addtrack', (e) => watchTextTrack(e.track));
  for (const track of Array.from(video.textTracks)) watchTextTrack(track);
  video.addEventListener('timeupdate', () => watch.timeUpdate(video.currentTime));
  // Counted by its CMCD reports or its heartbeats too (with --count
  // heartbeats, by those alone; a channel counts the larger of sessions,
  // heartbeat tokens and CMCD sids, so never twice).
  if (window.Hls?.isSupported() && await serverCollectsCmcd()) {
    cmcdCollector = `${location.origin}/api/channels/${encodeURIComponent(channel)}/cmcd`;
    window.addEventListener('pagehide', reportQuit);
  } else {
    countViewer(video, { channel, server: location.origin });
  }
  watch.run();
}
