// The player page for Amazon IVS (/watch?src=<IVS playback URL>): plays the
// stream muted with the Amazon IVS web player (bundled from npm at build
// time, the global IVSPlayer) and shows, over the video, the viewer payload
// that rides in the stream itself: IVS delivers each PutMetadata as an ID3
// TXXX frame in the segments, which the player raises as TEXT_METADATA_CUE.
// Same overlay and decoder as the hls.js page. Goes "offline" when the video
// stops moving or the stream is not there (IVS answers 404 for an offline
// channel), and keeps retrying until it is back.
import { decodePayload } from './payload.js';
import { accept, reject } from './overlay.js';
import { checkPlaybackUrl } from './source.js';

// The IVS player's worker and WebAssembly, served beside the page.
const WASM_WORKER = '/static/amazon-ivs-wasmworker.min.js';
const WASM_BINARY = '/static/amazon-ivs-wasmworker.min.wasm';
// No new video for this long: the stream is offline.
const STALL_MS = 8000;
// Connecting for this long without a picture counts as offline.
const CONNECT_TIMEOUT_MS = 15000;
// A forward step of the playhead longer than this is a seek (to the live
// edge, after a reload), not playback.
const MAX_PROGRESS_STEP_S = 2;
// While offline, the player is rebuilt after these delays (then the last, again and again).
const RETRY_DELAYS_MS = [2000, 4000, 8000, 15000];
const WATCHDOG_MS = 1000;

const $ = (id) => document.getElementById(id);
let video = $('video');  // replaced by a fresh one on every rebuild
const overlay = $('overlay');
const statusBox = $('status');
const statusText = $('status-text');
const retryButton = $('retry');

// Player state, changed only by the functions below.
let player = null;
let source = null;  // the checked playback URL
let state = 'loading';  // loading | playing | offline | error
let stateSince = performance.now();
let lastProgressAt = performance.now();
let lastTime = -1;
let retries = 0;
let nextRetryAt = Infinity;

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

// A TEXT_METADATA_CUE: `text` is the PutMetadata payload, in either format.
// Cues carry no id: one is made from the cue's time and text.
function onMetadataCue(cue) {
  if (typeof cue?.text !== 'string') return;
  const r = decodePayload(cue.text);
  if (r.ok) accept(r.payload, `ivs-${cue.startTime}-${cue.text}`, 'ivs-cue');
  else reject(r.error, 'IVS cue');
}

function onPlayerError(error) {
  // 404 (NOT_AVAILABLE, or a network error with code 404 for a playlist that
  // went away) is how IVS says the channel is offline; the player
  // stops (IDLE) after any error it raises, so the watchdog rebuilds it.
  const { ErrorType } = window.IVSPlayer;
  const why = error?.type === ErrorType.NOT_AVAILABLE || error?.code === 404 ? 'the stream is not live.'
    : error?.type === ErrorType.NETWORK || error?.type === ErrorType.NETWORK_IO ? 'the stream cannot be reached.'
      : 'the stream broke off.';
  // Loggable detail without the URL's query (it may hold a playback token).
  console.info(`headcount: IVS player: ${error?.type ?? 'error'} ${error?.code ?? ''} ${error?.message ?? ''}`.trim());
  goOffline(why);
}

// A new player for `source`, in place of the old one: after an error the IVS
// player stays stopped, so a retry starts from scratch, as the hls.js page does.
function startPlayer({ afterOutage }) {
  stopPlayer();
  // A fresh <video> too: one that an IVS player was attached to and deleted
  // from does not play for the next one.
  const fresh = video.cloneNode(false);
  video.replaceWith(fresh);
  video = fresh;
  video.addEventListener('timeupdate', onProgress);
  lastTime = -1;
  if (afterOutage) lastProgressAt = -Infinity;  // only new video means it is back
  const { create, PlayerEventType } = window.IVSPlayer;
  player = create({ wasmWorker: new URL(WASM_WORKER, location.href).href, wasmBinary: new URL(WASM_BINARY, location.href).href });
  player.setLogLevel?.('error');
  player.attachHTMLVideoElement(video);
  player.addEventListener(PlayerEventType.TEXT_METADATA_CUE, onMetadataCue);
  player.addEventListener(PlayerEventType.ERROR, onPlayerError);
  player.setAutoplay(true);
  player.setMuted(true);
  player.load(source);
}

function stopPlayer() {
  if (player) {
    player.delete();
    player = null;
  }
}

function goOffline(message) {
  if (state === 'error') return;
  if (state !== 'offline') {
    retries = 0;
    nextRetryAt = performance.now() + RETRY_DELAYS_MS[0];
  }
  lastProgressAt = -Infinity;  // only new video means it is back
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
  if (state === 'playing' && stalled) {
    goOffline('no new video.');
  } else if (state === 'offline') {
    if (!stalled) setState('playing', 'Live.');
    else if (now >= nextRetryAt) retryNow();
  } else if (state === 'loading' && now - stateSince > CONNECT_TIMEOUT_MS) {
    goOffline('the stream does not start.');
  }
}

// Progress is the playhead moving forward a little between two time updates:
// a reload puts it back to 0 and then seeks to the live edge, neither of which
// is new video.
function onProgress() {
  const time = video.currentTime;
  const moved = lastTime >= 0 && time > lastTime && time - lastTime <= MAX_PROGRESS_STEP_S;
  lastTime = time;
  if (!moved) return;
  lastProgressAt = performance.now();
  if (state === 'loading') setState('playing', 'Live.');
}

function main() {
  const checked = checkPlaybackUrl(new URLSearchParams(location.search).get('src'));
  if (!checked.ok) {
    overlay.hidden = true;
    setState('error', checked.error);
    return;
  }
  source = checked.url;
  const host = new URL(source).host;
  document.title = `${host} — headcount`;
  $('title').textContent = `Live from ${host}`;
  video.setAttribute('aria-label', `Live stream from ${host}`);
  if (!window.IVSPlayer?.isPlayerSupported) {
    setState('error', 'This browser cannot run the IVS player (it needs WebAssembly and Media Source Extensions).');
    return;
  }
  retryButton.addEventListener('click', () => retryNow());
  setState('loading', 'Connecting to the stream…');
  startPlayer({ afterOutage: false });
  setInterval(watchdog, WATCHDOG_MS);
}

main();
