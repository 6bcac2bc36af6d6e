// headcount.js: the live viewer count over any page's video, with any player
// (hls.js, video.js, the IVS player, Safari's own), from one script tag:
//
//   <script type="module" src="https://hc.example/static/headcount.js"
//           data-channel="live" data-video="#player"></script>
//
// or from code:  import { attach } from 'https://hc.example/static/headcount.js';
//                const counter = attach(videoElement, { channel: 'live' });  // counter.detach()
//                attach(videoElement, { ivsPlayer, channel: channelArn });   // the IVS web player
//
// While the video plays it reports the viewer to the server it came from
// (POST /api/channels/{id}/viewers for a token, then a heartbeat every
// heartbeat_s; "left" on pause, end and pagehide: docs/heartbeats.md). It
// draws the overlay of /watch (overlay.js, in a shadow root so neither page's
// styles reach the other) over the video, from the payload the stream carries
// in its metadata cues (cues.js), or from the server's tick events
// (/api/events) when the stream carries none. With the Amazon IVS web
// player the payload comes from the player's TEXT_METADATA_CUE events (it
// makes no text tracks) and nothing is reported: IVS counts its own viewers. Defines no globals; attaching a video
// twice returns the first attachment; every network failure is retried quietly.
import { IVS_TEXT_METADATA_CUE, payloadOfCue, payloadOfIvsCue } from './cues.js';
import { buildOverlay, createOverlay } from './overlay.js';

// On a video element: its attachment, shared by every copy of this module.
const ATTACHMENT = Symbol.for('headcount.attachment');
const CHANNEL_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
// An IVS channel ARN, as src/core/samples.h IsIvsChannelArn accepts it.
const IVS_CHANNEL_ARN = /^arn:(aws|aws-cn|aws-us-gov):ivs:[a-z0-9-]+:[0-9]+:channel\/[A-Za-z0-9-]+$/;
const MAX_CHANNEL_ARN_LENGTH = 128;
// Until the token's answer says otherwise.
const DEFAULT_HEARTBEAT_MS = 10000;
// A failed token request or heartbeat is tried again after this long.
const RETRY_MS = 5000;
// No payload from the stream for this long: the overlay follows the
// server's tick events (/api/events?channel=) instead, until the stream
// carries one again; while the server refuses those, it reads /api/channels
// every FALLBACK_POLL_MS.
const FALLBACK_AFTER_MS = 8000;
const FALLBACK_POLL_MS = 10000;
// Above the page's own layers, below its dialogs (which usually go higher).
const OVERLAY_Z_INDEX = '1000';

const MODULE_URL = new URL(import.meta.url);
const withoutQuery = (url) => url.origin + url.pathname;

// The text tracks of `video`: video.js keeps its own (emulated) list for
// non-native tracks, where VHS puts the metadata cues; else the element's.
function textTracksOf(video) {
  const vjs = globalThis.videojs;
  if (typeof vjs?.getPlayer === 'function') {
    const player = vjs.getPlayer(video) ?? vjs.getPlayer(video.parentElement);
    if (player && typeof player.textTracks === 'function') return player.textTracks();
  }
  return video.textTracks;
}

// The API's view of `channel` as a payload (payload.js's shape), or null.
function payloadFromApi(doc, channel) {
  const c = doc?.channels?.find?.((x) => x?.id === channel);
  if (!c || !Array.isArray(c.buckets) || typeof c.at !== 'string') return null;
  return {
    format: 'v1', v: 1, at: Date.parse(c.at), i: doc.bucket_seconds ?? null,
    m: c.buckets.map((b) => (Number.isSafeInteger(b?.viewers) ? b.viewers : null)), trend: c.trend ?? 'unknown',
  };
}

// Reports `video` as a viewer of `channel` to `server` (an origin; default:
// the one this script came from) while it plays: a token, then a heartbeat
// every heartbeat_s; "left" on pause, end and pagehide (sendBeacon), a new
// token after a 403. A page whose player already reports CMCD v2 events to
// this server's collector for the channel (hls.js, Shaka Player or dash.js
// with an event target there: seen as a request to it in the page's
// resource timing) is counted by those: then it stops, and sends "left" if
// it had started, so the page is one viewer by one protocol. Draws nothing;
// /watch uses it when it does not report CMCD. Returns { stop() }, which
// sends "left" if needed and removes every listener.
export function countViewer(video, { channel, server } = {}) {
  const base = new URL(server ?? MODULE_URL.origin).origin;
  const api = `${base}/api/channels/${encodeURIComponent(channel)}`;
  let stopped = false;
  let token = null;
  let intervalMs = DEFAULT_HEARTBEAT_MS;
  let beatTimer = null;
  let playing = false;
  let playerReportsCmcd = false;

  // A POST that needs no CORS preflight (no body type but text/plain) and
  // survives the page going away.
  const post = (path, body) => fetch(`${api}/${path}`, {
    method: 'POST', keepalive: true, cache: 'no-store', credentials: 'omit',
    headers: body === undefined ? {} : { 'content-type': 'text/plain' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const schedule = (ms, fn) => {
    clearTimeout(beatTimer);
    beatTimer = setTimeout(fn, ms);
  };
  const beat = async () => {
    if (!playing || stopped || playerReportsCmcd) return;
    try {
      if (token === null) {
        const r = await post('viewers');
        if (r.status !== 201) return schedule(RETRY_MS, beat);
        const answer = await r.json();
        if (!playing || stopped || playerReportsCmcd) return;
        token = String(answer.token);
        intervalMs = Math.max(1000, Number(answer.heartbeat_s) * 1000 || DEFAULT_HEARTBEAT_MS);
      }
      const sent = token;
      const r = await post('heartbeat', { token: sent });
      if (r.status === 403 && token === sent) token = null;  // expired: ask for a new one now
      schedule(r.status === 403 ? 0 : r.ok ? intervalMs : RETRY_MS, beat);
    } catch {
      schedule(RETRY_MS, beat);
    }
  };
  const leave = (beacon) => {
    clearTimeout(beatTimer);
    if (token === null) return;
    const message = { token, left: true };
    token = null;
    // A string body goes as text/plain: no preflight, and sent even as the page unloads.
    if (beacon && navigator.sendBeacon?.(`${api}/heartbeat`, JSON.stringify(message))) return;
    post('heartbeat', message).catch(() => {});
  };
  const onPlaying = () => {
    if (playing) return;
    playing = true;
    beat();
  };
  const onStopped = () => {
    playing = false;
    leave(false);
  };
  const onPageHide = () => {
    playing = false;
    leave(true);
  };
  const onPageShow = (event) => {
    if (event.persisted && !video.paused && !video.ended) onPlaying();
  };
  // The player's CMCD reports to this server's collector of the channel.
  const collector = `${api}/cmcd`;
  const onResources = (list) => {
    if (playerReportsCmcd || !list.getEntries().some((e) => e.name.startsWith(collector))) return;
    playerReportsCmcd = true;
    leave(false);
  };
  let resources = null;
  try {
    resources = new PerformanceObserver(onResources);
    resources.observe({ type: 'resource', buffered: true });
  } catch {
    resources = null;  // no resource timing: heartbeats as before
  }
  video.addEventListener('playing', onPlaying);
  video.addEventListener('pause', onStopped);
  video.addEventListener('ended', onStopped);
  window.addEventListener('pagehide', onPageHide);
  window.addEventListener('pageshow', onPageShow);
  if (!video.paused && !video.ended && video.readyState > 2) onPlaying();

  return {
    stop() {
      if (stopped) return;
      playing = false;
      leave(false);
      stopped = true;
      resources?.disconnect();
      video.removeEventListener('playing', onPlaying);
      video.removeEventListener('pause', onStopped);
      video.removeEventListener('ended', onStopped);
      window.removeEventListener('pagehide', onPageHide);
      window.removeEventListener('pageshow', onPageShow);
    },
  };
}

// Counts `video` as a viewer of `channel` on `server` (an origin such as
// "https://hc.example"; default: the one this script came from) and draws
// the overlay over it. Returns { detach(), overlay } (overlay: the drawn
// element, in an open shadow root). With `ivsPlayer` (an Amazon IVS web
// player attached to `video`), the overlay shows its TEXT_METADATA_CUEs and
// `channel`, optional, is the IVS channel ARN whose /api/channels entry is
// the fallback; no viewer is reported. Throws TypeError for a non-video, a
// bad channel id or a non-player; nothing else throws.
export function attach(video, { channel, server, ivsPlayer } = {}) {
  if (!(video instanceof HTMLVideoElement)) throw new TypeError('headcount: attach() needs a <video> element');
  if (ivsPlayer !== undefined && typeof ivsPlayer?.addEventListener !== 'function') {
    throw new TypeError('headcount: ivsPlayer must be an Amazon IVS player (IVSPlayer.create())');
  }
  const validChannel = ivsPlayer === undefined
    ? CHANNEL_PATTERN.test(channel ?? '')
    : channel === undefined || (typeof channel === 'string' && channel.length <= MAX_CHANNEL_ARN_LENGTH && IVS_CHANNEL_ARN.test(channel));
  if (!validChannel) {
    throw new TypeError(`headcount: "${channel}" is not a${ivsPlayer ? 'n IVS channel ARN' : ' channel id'}`);
  }
  if (video[ATTACHMENT]) return video[ATTACHMENT];
  const base = new URL(server ?? MODULE_URL.origin).origin;
  let detached = false;

  // --- the overlay ---------------------------------------------------------
  const host = document.createElement('div');
  host.dataset.headcount = channel ?? 'ivs';
  const shadow = host.attachShadow({ mode: 'open' });
  const css = document.createElement('link');
  css.rel = 'stylesheet';
  css.href = `${base}/static/headcount.css`;
  const overlayElement = buildOverlay(document);
  overlayElement.dataset.state = 'playing';
  shadow.append(css, overlayElement);
  const overlay = createOverlay(overlayElement);
  Object.assign(host.style, { position: 'absolute', pointerEvents: 'none', overflow: 'hidden', zIndex: OVERLAY_Z_INDEX });
  const place = () => {
    // The host is the video's sibling: both are placed from the same parent.
    Object.assign(host.style, {
      left: `${video.offsetLeft}px`, top: `${video.offsetTop}px`,
      width: `${video.offsetWidth}px`, height: `${video.offsetHeight}px`,
    });
  };
  video.after(host);
  place();
  const resize = typeof ResizeObserver === 'function' ? new ResizeObserver(place) : null;
  resize?.observe(video);

  // --- the payload: the stream's cues, else the API -------------------------
  let lastCueAt = -Infinity;
  let fallbackTimer = null;
  // The track's own active cues: video.js's events do not carry the track
  // as their target, so each track gets a handler of its own.
  const show = (r) => {
    if (!r) return;
    if (!r.ok) {
      overlay.reject(r.error, r.source);
      return;
    }
    lastCueAt = performance.now();
    overlay.accept(r.payload, r.key, r.source);
  };
  const readCues = (track) => {
    for (const cue of Array.from(track.activeCues ?? [])) show(payloadOfCue(cue));
  };
  // The IVS player raises its cues as events; the constant is the global
  // IVSPlayer's when the page has one.
  const ivsCueEvent = globalThis.IVSPlayer?.PlayerEventType?.TEXT_METADATA_CUE ?? IVS_TEXT_METADATA_CUE;
  const onIvsCue = (cue) => show(payloadOfIvsCue(cue));
  ivsPlayer?.addEventListener(ivsCueEvent, onIvsCue);
  const watched = new Map();  // track -> its cuechange handler
  const watchTrack = (track) => {
    if (!track || track.kind !== 'metadata' || watched.has(track)) return;
    const onCueChange = () => readCues(track);
    watched.set(track, onCueChange);
    if (track.mode === 'disabled') track.mode = 'hidden';  // cues fire, nothing is drawn
    track.addEventListener('cuechange', onCueChange);
  };
  const tracks = textTracksOf(video);
  const onAddTrack = (event) => watchTrack(event.track);
  tracks.addEventListener?.('addtrack', onAddTrack);
  for (let i = 0; i < (tracks.length ?? 0); i++) watchTrack(tracks[i]);

  // --- the fallback: the server's tick events, else polling ---------------
  const cuesAreFresh = () => performance.now() - lastCueAt < FALLBACK_AFTER_MS;
  const showApi = (doc) => {
    const payload = payloadFromApi(doc, channel);
    if (payload && !detached && !cuesAreFresh()) overlay.accept(payload, `api-${payload.at}`, 'api');
  };
  let events = null;
  const stopEvents = () => {
    events?.close();
    events = null;
  };
  const pollApi = async () => {
    try {
      const r = await fetch(`${base}/api/channels`, { cache: 'no-store' });
      if (r.ok) showApi(await r.json());
    } catch {
      // The server is unreachable: keep what is shown, try again later.
    }
  };
  // Every FALLBACK_AFTER_MS (FALLBACK_POLL_MS while polling): with fresh
  // cues, nothing (and no stream held open); without, the events, or a poll
  // when the server refused them.
  let eventsRefused = false;
  const checkFallback = () => {
    fallbackTimer = setTimeout(checkFallback, eventsRefused ? FALLBACK_POLL_MS : FALLBACK_AFTER_MS);
    if (cuesAreFresh()) return stopEvents();
    if (eventsRefused || typeof EventSource !== 'function') return pollApi();
    if (events) return;
    events = new EventSource(`${base}/api/events?channel=${encodeURIComponent(channel)}`);
    events.addEventListener('tick', (e) => {
      try {
        showApi(JSON.parse(e.data));
      } catch {
        // Not a document: ignored.
      }
    });
    events.addEventListener('error', () => {
      if (events?.readyState !== EventSource.CLOSED) return;  // it reconnects by itself
      stopEvents();
      eventsRefused = true;
      pollApi();
    });
  };
  if (channel !== undefined) fallbackTimer = setTimeout(checkFallback, FALLBACK_AFTER_MS);

  const viewer = ivsPlayer === undefined ? countViewer(video, { channel, server: base }) : null;
  window.addEventListener('resize', place);

  const attachment = {
    overlay: overlayElement,
    detach() {
      if (detached) return;
      detached = true;
      viewer?.stop();
      ivsPlayer?.removeEventListener?.(ivsCueEvent, onIvsCue);
      clearTimeout(fallbackTimer);
      stopEvents();
      window.removeEventListener('resize', place);
      tracks.removeEventListener?.('addtrack', onAddTrack);
      for (const [track, onCueChange] of watched) track.removeEventListener('cuechange', onCueChange);
      resize?.disconnect();
      host.remove();
      delete video[ATTACHMENT];
    },
  };
  video[ATTACHMENT] = attachment;
  return attachment;
}

// <script type="module" src=".../headcount.js" data-channel="live"
// data-video="#player" data-server="https://hc.example">: attaches the video
// (data-video: a CSS selector; default the page's first <video>) for every
// such tag that loads this script, once.
function attachFromScriptTags() {
  for (const script of document.querySelectorAll('script[src][data-channel]')) {
    let src;
    try {
      src = new URL(script.src, location.href);
    } catch {
      continue;
    }
    if (withoutQuery(src) !== withoutQuery(MODULE_URL)) continue;
    const video = document.querySelector(script.dataset.video || 'video');
    if (!(video instanceof HTMLVideoElement)) continue;
    try {
      attach(video, { channel: script.dataset.channel, server: script.dataset.server });
    } catch (e) {
      console.warn(e.message);
    }
  }
}

attachFromScriptTags();
if (document.readyState !== 'complete') window.addEventListener('load', attachFromScriptTags, { once: true });
