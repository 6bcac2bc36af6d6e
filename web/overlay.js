// The overlay both player pages draw over the video (/watch/{channel} with
// hls.js, /watch?src= with the IVS player): the current count, the last 5
// buckets as bars (a gap drawn as a gap) and the trend badge, from a payload
// decoded by payload.js. Also the page's status line. Everything is written
// with textContent and CSSOM, never as HTML.
import { WINDOW_BUCKETS, currentCount, trendLabel } from './payload.js';

// The seed's format has no bucket length; it was one minute.
const DEFAULT_BUCKET_SECONDS = 60;

const $ = (id) => document.getElementById(id);
const overlay = $('overlay');

// The payload on screen and what identifies it.
let shown = null;
let shownKey = null;
let updates = 0;

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

function render(payload) {
  const seconds = payload.i ?? DEFAULT_BUCKET_SECONDS;
  const count = currentCount(payload.m);
  $('count').textContent = count === null ? '–' : String(count);
  const badge = $('badge');
  badge.dataset.trend = payload.trend;
  badge.textContent = trendLabel(payload.trend);

  const max = Math.max(1, ...payload.m.filter((c) => c !== null));
  const bars = $('bars');
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
  $('bars-caption').textContent = payload.at === null
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

// Shows `payload` unless it is the one on screen or older than it.
// `key` identifies it (the DATERANGE ID, or the cue's); v1 payloads are
// ordered by `at`, the seed's by arrival.
export function accept(payload, key, source) {
  if (shown && key === shownKey) return;
  if (shown && payload.at !== null && shown.at !== null && payload.at <= shown.at) return;
  shown = payload;
  shownKey = key;
  overlay.dataset.id = key;
  overlay.dataset.source = source;
  render(payload);
}

export function reject(error, source) {
  // Bad metadata never breaks the page: keep what is shown, note why.
  if (overlay.dataset.error !== error) console.warn(`headcount: ignoring ${source} metadata: ${error}`);
  overlay.dataset.error = error;
}
