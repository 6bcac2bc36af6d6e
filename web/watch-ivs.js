// The player for Amazon IVS at /watch?src=<IVS playback URL> (web/watch.html,
// started by watch.js once the Amazon IVS web player, bundled from npm at
// build time as the global IVSPlayer, is loaded): plays the stream muted with
// it and shows, over the video, the viewer payload that rides in the stream
// itself: IVS delivers each PutMetadata as an ID3 TXXX frame in the segments,
// which the player raises as TEXT_METADATA_CUE. Same overlay, decoder and
// offline/retry rules (playback.js) as the hls.js player. Goes "offline" when
// the video stops moving or the stream is not there (IVS answers 404 for an
// offline channel), and keeps retrying until it is back.
import { payloadOfIvsCue } from './cues.js';
import { accept, reject } from './overlay.js';
import { createPlaybackWatch } from './playback.js';
import { checkPlaybackUrl } from './source.js';

// The IVS player's worker and WebAssembly, served beside the page.
const WASM_WORKER = '/static/amazon-ivs-wasmworker.min.js';
const WASM_BINARY = '/static/amazon-ivs-wasmworker.min.wasm';
// A forward step of the playhead longer than this is a seek (to the live
// edge, after a reload), not playback.
const MAX_PROGRESS_STEP_S = 2;

const $ = (id) => document.getElementById(id);
let video = $('video');  // replaced by a fresh one on every rebuild
const overlay = $('overlay');

// Player state, changed only by the functions below.
let player = null;
let source = null;  // the checked playback URL

// Progress is the playhead moving forward a little between two time updates:
// a reload puts it back to 0 and then seeks to the live edge, neither of which
// is new video.
const watch = createPlaybackWatch({
  start: startPlayer,
  isNewVideo: (time, lastTime) => lastTime >= 0 && time > lastTime && time - lastTime <= MAX_PROGRESS_STEP_S,
});

// A TEXT_METADATA_CUE: `text` is the PutMetadata payload, in either format.
function onMetadataCue(cue) {
  const r = payloadOfIvsCue(cue);
  if (r?.ok) accept(r.payload, r.key, r.source);
  else if (r) reject(r.error, r.source);
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
  watch.goOffline(why);
  watch.forgetProgress();  // only new video means it is back
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
  video.addEventListener('timeupdate', () => watch.timeUpdate(video.currentTime));
  if (afterOutage) watch.forgetProgress();  // only new video means it is back
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

export function main() {
  const checked = checkPlaybackUrl(new URLSearchParams(location.search).get('src'));
  if (!checked.ok) {
    overlay.hidden = true;
    watch.setState('error', checked.error);
    return;
  }
  source = checked.url;
  const host = new URL(source).host;
  document.title = `${host} — headcount`;
  $('title').textContent = `Live from ${host}`;
  video.setAttribute('aria-label', `Live stream from ${host}`);
  if (!window.IVSPlayer?.isPlayerSupported) {
    watch.setState('error', 'This browser cannot run the IVS player (it needs WebAssembly and Media Source Extensions).');
    return;
  }
  watch.run();
}
