// The player page (/watch/{channel}): plays /hls/{channel}/<playlist> with
// hls.js and shows, over the video, the viewer payload that rides in the
// stream itself (the EXT-X-DATERANGE of class com.headcount.viewers, read
// from hls.js's level details and from the metadata cues), never from the
// API. Goes "offline" when the video or the playlist stops moving, and keeps
// retrying until the stream is back.
import { decodePayload } from './payload.js';
import { accept, reject } from './overlay.js';

const HEADCOUNT_CLASS = 'com.headcount.viewers';
const HEADCOUNT_ATTRIBUTE = 'X-HEADCOUNT';
const DEFAULT_PLAYLIST = 'stream.m3u8';
// No new video for this long: the stream is offline.
const STALL_MS = 8000;
// A live playlist that has not changed for this long (or 3 target durations,
// whichever is longer) belongs to a stream that stopped.
const STALE_PLAYLIST_MS = 10000;
// Connecting for this long without a picture counts as offline.
const CONNECT_TIMEOUT_MS = 15000;
// While offline, the player is rebuilt after these delays (then the last, again and again).
const RETRY_DELAYS_MS = [2000, 4000, 8000, 15000];
const WATCHDOG_MS = 1000;

const $ = (id) => document.getElementById(id);
const video = $('video');
const overlay = $('overlay');
const statusBox = $('status');
const statusText = $('status-text');
const retryButton = $('retry');

const channel = location.pathname.match(/^\/watch\/([A-Za-z0-9_-]{1,64})$/)?.[1] ?? null;
const playlistName = new URLSearchParams(location.search).get('playlist') ?? DEFAULT_PLAYLIST;
const playlistOk = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}\.m3u8$/.test(playlistName);

// Player state, changed only by the functions below.
let hls = null;
let state = 'loading';  // loading | playing | offline | error
let stateSince = performance.now();
let lastProgressAt = performance.now();
let lastTime = -1;
let lastPlaylistChangeAt = performance.now();
let lastEndSn = null;
let targetDurationMs = 0;
let retries = 0;
let nextRetryAt = Infinity;
let mediaRecoveries = 0;

function setState(next, message) {
  if (next !== state) {
    state = next;
    stateSince = performance.now();
  }
  overlay.dataset.state = next;
  statusBox.dataset.state = next;
  statusText.textContent = message;
  retryButton.hidden = next !== 'offline';
}

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

// A metadata cue: hls.js makes one per DATERANGE attribute ({key, data}) and
// one per ID3 frame (e.g. TXXX, how IVS delivers timed metadata; plain text in
// either format).
function readCue(cue) {
  const value = cue?.value;
  if (!value || typeof value !== 'object') return;
  let r;
  if (value.key === HEADCOUNT_ATTRIBUTE) r = decodePayload(value.data, { base64: true });
  else if (value.key === 'TXXX' || value.key === 'PRIV') {
    r = decodePayload(typeof value.data === 'string' ? value.data : value.info ?? value.data);
  } else return;
  if (r.ok) accept(r.payload, cue.id || `cue-${cue.startTime}`, 'cue');
  else reject(r.error, 'cue');
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
  goOffline(data.type === Hls.ErrorTypes.NETWORK_ERROR ? 'The stream cannot be reached.' : 'The stream broke off.');
}

function startPlayer({ afterOutage }) {
  stopPlayer();
  lastEndSn = null;
  lastTime = -1;
  // After an outage only a playlist that moves again means the stream is back.
  lastPlaylistChangeAt = afterOutage ? -Infinity : performance.now();
  if (window.Hls?.isSupported()) {
    hls = new Hls({ enableWorker: true, enableDateRangeMetadataCues: true, liveDurationInfinity: true, backBufferLength: 30 });
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
    setState('error', 'This browser cannot play HLS streams.');
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
    if (state === 'loading') setState('loading', 'Press play to start the stream.');
  });
}

function goOffline(message) {
  if (state !== 'offline') {
    retries = 0;
    nextRetryAt = performance.now() + RETRY_DELAYS_MS[0];
  }
  setState('offline', `Offline: ${message} Retrying…`);
}

function retryNow() {
  retries += 1;
  nextRetryAt = performance.now() + RETRY_DELAYS_MS[Math.min(retries, RETRY_DELAYS_MS.length - 1)];
  startPlayer({ afterOutage: true });
}

function watchdog() {
  const now = performance.now();
  const stalled = now - lastProgressAt > STALL_MS;
  const stale = now - lastPlaylistChangeAt > Math.max(STALE_PLAYLIST_MS, 3 * targetDurationMs);
  if (state === 'playing' && (stalled || stale)) {
    goOffline(stale ? 'the stream stopped.' : 'no new video.');
  } else if (state === 'offline') {
    if (!stalled && !stale) {
      mediaRecoveries = 0;
      setState('playing', 'Live.');
    } else if (now >= nextRetryAt) {
      retryNow();
    }
  } else if (state === 'loading' && now - stateSince > CONNECT_TIMEOUT_MS) {
    goOffline('the stream does not start.');
  }
}

function onProgress() {
  if (video.currentTime === lastTime) return;
  lastTime = video.currentTime;
  lastProgressAt = performance.now();
  if (state === 'loading') setState('playing', 'Live.');
}

function main() {
  if (!channel || !playlistOk) {
    setState('error', channel ? `"${playlistName}" is not a playlist name.` : 'No channel in this address.');
    return;
  }
  document.title = `${channel} — headcount`;
  $('title').textContent = channel;
  video.setAttribute('aria-label', `Live stream of ${channel}`);
  video.textTracks.addEventListener('addtrack', (e) => watchTextTrack(e.track));
  for (const track of Array.from(video.textTracks)) watchTextTrack(track);
  video.addEventListener('timeupdate', onProgress);
  retryButton.addEventListener('click', () => retryNow());
  setState('loading', 'Connecting to the stream…');
  startPlayer({ afterOutage: false });
  setInterval(watchdog, WATCHDOG_MS);
}

main();
