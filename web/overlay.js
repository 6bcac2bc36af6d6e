// The overlay both player pages draw over the video (/watch/{channel} with
// hls.js, /watch?src= with the IVS player), and headcount.js over any page's
// video: the current count, the last 5 buckets as bars (a gap drawn as a gap)
// and the trend badge, from a payload decoded by payload.js. Everything is
// written with textContent and CSSOM, never as HTML.
import { WINDOW_BUCKETS, currentCount, trendLabel } from './payload.js';

// The seed's format has no bucket length; it was one minute.
const DEFAULT_BUCKET_SECONDS = 60;

// Builds the overlay's markup (what web/watch.html holds under #overlay, by
// class, without ids) in `doc`: the element to hand to createOverlay.
export function buildOverlay(doc = document) {
  const el = (tag, className, text) => {
    const e = doc.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const section = el('section', 'overlay');
  section.dataset.state = 'loading';
  section.setAttribute('aria-label', 'Who is watching');
  const now = el('p', 'now');
  now.setAttribute('aria-live', 'polite');
  now.setAttribute('aria-atomic', 'true');
  const badge = el('span', 'badge', 'waiting for data');
  badge.dataset.trend = 'unknown';
  now.append(el('span', 'count', '–'), ' ', el('span', 'unit', 'watching'), ' ', badge, ' ',
    el('span', 'offline-tag', 'offline'));
  const figure = el('figure', 'bars-figure');
  const bars = el('ol', 'bars');
  bars.setAttribute('aria-label', 'Viewers in each of the last 5 minutes, oldest first');
  figure.append(bars, el('figcaption', 'caption', 'last 5 minutes'));
  section.append(now, figure);
  return section;
}

function bucketLabel(stepsBack, seconds) {
  if (stepsBack === 0) return 'now';
  const total = stepsBack * seconds;
  if (total % 3600 === 0) return `−${total / 3600}h`;
  if (total % 60 === 0) return `−${total / 60}m`;
  return `−${total}s`;
}

function spokenAgo(stepsBack, seconds) {
  if (stepsBack === 0) return 'latest';
  const total = stepsBack * seconds;
  if (total % 60 === 0) return `${total / 60} minute${total === 60 ? '' : 's'} earlier`;
  return `${total} seconds earlier`;
}

// Draws payloads into `overlay` (the .overlay element: #overlay of the
// watch page, or buildOverlay's). Returns { accept, reject }:
//   accept(payload, key, source) shows `payload` unless it is the one on
//     screen or older than it. `key` identifies it (the DATERANGE ID, or the
//     cue's); v1 payloads are ordered by `at`, the seed's by arrival; one
//     from the stream replaces one from the API (source "api") regardless.
//   reject(error, source) notes bad metadata; what is shown stays.
export function createOverlay(overlay) {
  const part = (className) => overlay.querySelector(`.${className}`);
  // The payload on screen and what identifies it.
  let shown = null;
  let shownKey = null;
  let shownSource = null;
  let updates = 0;

  function render(payload) {
    const seconds = payload.i ?? DEFAULT_BUCKET_SECONDS;
    const count = currentCount(payload.m);
    part('count').textContent = count === null ? '–' : String(count);
    const badge = part('badge');
    badge.dataset.trend = payload.trend;
    badge.textContent = trendLabel(payload.trend);

    const max = Math.max(1, ...payload.m.filter((c) => c !== null));
    const bars = part('bars');
    bars.replaceChildren();
    payload.m.forEach((c, index) => {
      const stepsBack = WINDOW_BUCKETS - 1 - index;
      const li = document.createElement('li');
      li.className = c === null ? 'gap' : 'bucket';
      li.dataset.count = c === null ? '' : String(c);
      li.setAttribute('aria-label', `${spokenAgo(stepsBack, seconds)}: ${c === null ? 'no data' : `${c} watching`}`);
      const value = document.createElement('span');
      value.className = 'value';
      value.textContent = c === null ? 'no data' : String(c);
      const track = document.createElement('span');
      track.className = 'track';
      const bar = document.createElement('span');
      bar.className = 'bar';
      // CSSOM, not a style attribute: allowed by the page's CSP. A gap has no bar.
      if (c !== null) bar.style.height = `${Math.max(3, Math.round((c / max) * 100))}%`;
      track.append(bar);
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = bucketLabel(stepsBack, seconds);
      li.append(value, track, label);
      bars.append(li);
    });
    const unit = seconds % 60 === 0 ? `${(WINDOW_BUCKETS * seconds) / 60} minutes` : `${WINDOW_BUCKETS * seconds} seconds`;
    bars.setAttribute('aria-label', `Viewers in each of the last ${unit}, oldest first`);
    part('caption').textContent = payload.at === null
      ? `last ${unit}`
      : `last ${unit}, as of ${new Date(payload.at).toLocaleTimeString()}`;

    overlay.dataset.at = payload.at === null ? '' : new Date(payload.at).toISOString().replace('.000Z', 'Z');
    overlay.dataset.m = JSON.stringify(payload.m);
    overlay.dataset.count = count === null ? '' : String(count);
    overlay.dataset.trend = payload.trend;
    overlay.dataset.format = payload.format;
    overlay.dataset.updates = String(++updates);
    overlay.classList.add('has-data');
  }

  return {
    accept(payload, key, source) {
      if (shown && key === shownKey) return;
      // The API's view (headcount.js's fallback) is ahead of the stream by
      // its latency: the stream's payload replaces it whatever its time.
      const overApi = shownSource === 'api' && source !== 'api';
      if (shown && !overApi && payload.at !== null && shown.at !== null && payload.at <= shown.at) return;
      shown = payload;
      shownKey = key;
      shownSource = source;
      overlay.dataset.id = key;
      overlay.dataset.source = source;
      render(payload);
    },
    reject(error, source) {
      // Bad metadata never breaks the page: keep what is shown, note why.
      if (overlay.dataset.error !== error) console.warn(`headcount: ignoring ${source} metadata: ${error}`);
      overlay.dataset.error = error;
    },
  };
}

// The watch pages' overlay (#overlay), made on first use.
let pageOverlay = null;
const forPage = () => (pageOverlay ??= createOverlay(document.getElementById('overlay')));
export const accept = (payload, key, source) => forPage().accept(payload, key, source);
export const reject = (error, source) => forPage().reject(error, source);
