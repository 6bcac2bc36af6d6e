// The dashboard (/): every channel from /api/channels with its current count
// and trend, a chart of its stored history (/api/channels/{id}/history) over
// a chosen range, CSV/JSON download links and a link to its player. Each
// tick arrives as a server-sent event (/api/events, the /api/channels
// document) the moment it is recorded; only when the server refuses the
// stream (or the browser has no EventSource) does the page poll
// /api/channels instead, trying the stream again now and then. Elements are
// updated in place, so focus stays.
// A channel id is an origin id (letters, digits, - and _) or an Amazon IVS
// channel ARN (with ':' and '/'): every URL carries it through
// encodeURIComponent, as one path segment. Only origin channels have a
// player at /watch/{id}; an IVS channel links to /watch?src=<its playback
// URL> when the API gives one (playbackUrl, checked as the player page
// checks it), else it has no player link, and is headed by its name when
// the API gives one.
import { trendLabel } from './payload.js';
import { checkPlaybackUrl } from './source.js';

// Polling, only while the event stream is refused.
const REFRESH_MS = 5000;
// A refused stream is tried again after this long.
const EVENTS_RETRY_MS = 30000;
// Longer ranges change slowly and weigh more: fetch their history less often.
const HISTORY_REFRESH_MS = { '1h': 5000, '24h': 30000, '7d': 120000 };
const RANGES = Object.keys(HISTORY_REFRESH_MS);
const RANGE_NAMES = { '1h': 'last hour', '24h': 'last 24 hours', '7d': 'last 7 days' };
// Above this many samples the chart draws the line only, no dots.
const MAX_DOTS = 240;
const CHART = { width: 640, height: 180, left: 40, right: 8, top: 10, bottom: 22 };
const SVG_NS = 'http://www.w3.org/2000/svg';

const list = document.getElementById('channels');
const empty = document.getElementById('empty');
const updated = document.getElementById('updated');

let range = RANGES.includes(new URLSearchParams(location.search).get('range'))
  ? new URLSearchParams(location.search).get('range') : '1h';
// Per channel: its <li> and when its history was last fetched, for which range.
const cards = new Map();

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const ORIGIN_ID = /^[A-Za-z0-9_-]{1,64}$/;
const isOriginId = (id) => ORIGIN_ID.test(id);
// The player page of a channel, or null when it has none.
const watchUrl = (ch) => {
  if (isOriginId(ch.id)) return `/watch/${encodeURIComponent(ch.id)}`;
  const checked = checkPlaybackUrl(ch.playbackUrl);
  return checked.ok ? `/watch?src=${encodeURIComponent(checked.url)}` : null;
};
// A download's file name: the id with anything but [A-Za-z0-9_-] as '_'.
const fileName = (id, ext) => `${id.replace(/[^A-Za-z0-9_-]/g, '_')}-${range}.${ext}`;

const historyUrl = (id, format) =>
  `/api/channels/${encodeURIComponent(id)}/history?since=${range}${format ? `&format=${format}` : ''}`;

async function getJson(url) {
  const res = await fetch(url, { cache: 'no-store', headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

function createCard(id) {
  const li = el('li', { class: 'channel', 'data-channel': id });
  const header = el('header');
  const h2 = el('h2', { id: `ch-${id}` }, id);
  const live = el('span', { class: 'live' });
  const now = el('p', { class: 'now' });
  now.append(el('span', { class: 'count' }, '–'), el('span', { class: 'unit' }, 'watching'),
    el('span', { class: 'badge', 'data-trend': 'unknown' }, trendLabel('unknown')));
  const links = el('nav', { class: 'links', 'aria-label': `${id} links` });
  links.append(el('a', { class: 'csv' }, 'CSV'), el('a', { class: 'json' }, 'JSON'));
  // The last 24 hours in numbers (/api/channels/{id}/summary).
  const summary = el('p', { class: 'summary' });
  header.append(h2, live, now, links, summary);
  const chart = svg('svg', {
    class: 'chart', role: 'img', viewBox: `0 0 ${CHART.width} ${CHART.height}`, 'aria-labelledby': `chart-${id}-title`,
  });
  li.append(header, chart);
  return { li, fetchedAt: 0, fetchedRange: null, loading: false };
}

function updateCard(card, ch) {
  const { li } = card;
  const heading = li.querySelector('h2');
  const title = typeof ch.name === 'string' && ch.name !== '' ? ch.name : ch.id;
  if (heading.textContent !== title) heading.textContent = title;
  if (title !== ch.id) heading.title = ch.id;
  const live = li.querySelector('.live');
  live.dataset.live = String(ch.live);
  live.textContent = ch.live ? 'LIVE' : 'offline';
  li.querySelector('.count').textContent = ch.viewers === null || ch.viewers === undefined ? '–' : String(ch.viewers);
  li.dataset.viewers = ch.viewers ?? '';
  li.dataset.at = ch.at ?? '';
  const badge = li.querySelector('.badge');
  badge.dataset.trend = ch.trend;
  badge.textContent = trendLabel(ch.trend);
  const csv = li.querySelector('a.csv');
  csv.href = historyUrl(ch.id, 'csv');
  csv.setAttribute('download', fileName(ch.id, 'csv'));
  csv.setAttribute('aria-label', `${ch.id}, ${RANGE_NAMES[range]}, as CSV`);
  const json = li.querySelector('a.json');
  json.href = historyUrl(ch.id, 'json');
  json.setAttribute('download', fileName(ch.id, 'json'));
  json.setAttribute('aria-label', `${ch.id}, ${RANGE_NAMES[range]}, as JSON`);
  const href = watchUrl(ch);
  let watch = li.querySelector('a.watch');
  if (href === null) {
    watch?.remove();
  } else {
    if (!watch) {
      watch = el('a', { class: 'watch' }, 'Watch');
      li.querySelector('nav.links').prepend(watch);
    }
    if (watch.getAttribute('href') !== href) watch.setAttribute('href', href);
    watch.setAttribute('aria-label', `Watch ${ch.id}`);
  }
}

const niceMax = (v) => {
  if (v <= 5) return 5;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v);
};

function timeLabel(ms, spanMs) {
  const d = new Date(ms);
  if (spanMs > 2 * 86400000) return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  if (spanMs < 600000) return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

// Draws `history` into the card's chart: one path vertex per stored sample
// ("M" after a gap, "L" otherwise), dots when there are few.
function drawChart(card, id, history) {
  const chart = card.li.querySelector('svg.chart');
  const points = history.points ?? [];
  // The x axis spans the range, or from the first stored sample when the
  // store holds less than the range (a new channel), so the line is readable.
  const from = Math.max(Date.parse(history.from), points.length ? Date.parse(points[0].start) : -Infinity);
  const to = Date.parse(history.to);
  const span = Math.max(1, to - from);
  const bucketMs = (history.bucket_seconds ?? 60) * 1000;
  const counts = points.map((p) => p.viewers);
  const top = niceMax(Math.max(0, ...counts));
  // Draw at the element's own width, so text keeps its size at any width.
  const width = Math.max(320, Math.round(chart.clientWidth) || CHART.width);
  chart.setAttribute('viewBox', `0 0 ${width} ${CHART.height}`);
  const w = width - CHART.left - CHART.right;
  const h = CHART.height - CHART.top - CHART.bottom;
  const x = (ms) => CHART.left + ((ms - from) / span) * w;
  const y = (v) => CHART.top + h - (v / top) * h;
  const f = (n) => n.toFixed(1);

  const latest = counts.at(-1);
  const summary = points.length === 0
    ? `${id}, ${RANGE_NAMES[range]}: no samples stored`
    : `${id}, ${RANGE_NAMES[range]}: ${points.length} samples, from ${Math.min(...counts)} to ${Math.max(...counts)} watching, latest ${latest}`;

  const parts = [svg('title', { id: `chart-${id}-title` }, summary)];
  parts.push(svg('line', { class: 'axis', x1: CHART.left, y1: CHART.top + h, x2: CHART.left + w, y2: CHART.top + h }));
  parts.push(svg('line', { class: 'axis', x1: CHART.left, y1: CHART.top, x2: CHART.left, y2: CHART.top + h }));
  parts.push(svg('text', { x: CHART.left - 6, y: CHART.top + 10, 'text-anchor': 'end' }, String(top)));
  parts.push(svg('text', { x: CHART.left - 6, y: CHART.top + h, 'text-anchor': 'end' }, '0'));
  parts.push(svg('text', { x: CHART.left, y: CHART.height - 6 }, timeLabel(from, span)));
  parts.push(svg('text', { x: CHART.left + w, y: CHART.height - 6, 'text-anchor': 'end' }, timeLabel(to, span)));

  let d = '';
  let prev = null;
  for (const p of points) {
    const t = Date.parse(p.start);
    // A missing bucket is a gap in the line, never a made-up value.
    d += `${prev !== null && t - prev <= bucketMs ? 'L' : 'M'}${f(x(t))} ${f(y(p.viewers))} `;
    prev = t;
  }
  parts.push(svg('path', { class: 'line', d: d.trim(), 'stroke-linecap': 'round', 'stroke-linejoin': 'round' }));
  if (points.length <= MAX_DOTS) {
    for (const p of points) {
      parts.push(svg('circle', { class: 'point', cx: f(x(Date.parse(p.start))), cy: f(y(p.viewers)), r: 2.5 }));
    }
  }
  if (points.length === 0) {
    parts.push(svg('text', { x: CHART.left + w / 2, y: CHART.top + h / 2, 'text-anchor': 'middle' }, 'no samples in this range'));
  }
  chart.replaceChildren(...parts);
  chart.dataset.points = String(points.length);
  chart.dataset.range = range;
  chart.dataset.to = history.to;
}

const summaryUrl = (id) => `/api/channels/${encodeURIComponent(id)}/summary?since=24h&by=day`;
const whole = (n) => Math.round(n).toLocaleString();
// Minutes, with a tenth when there are few (short test buckets make fractions).
const minutes = (n) => n.toLocaleString(undefined, { maximumFractionDigits: n < 10 ? 1 : 0 });

// Shows the total of a summary document: "24 h: peak 30 at 11:01 · average 16 · ...
// · 41 distinct viewers".
function drawSummary(card, doc) {
  const p = card.li.querySelector('p.summary');
  const t = doc?.total;
  if (!t || !t.live_minutes) {
    p.textContent = '24 h: not live';
    delete p.dataset.peak;
    return;
  }
  const at = t.peak_at ? new Date(t.peak_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';
  // Distinct viewers are null where the store holds no sketch (IVS counts no sessions).
  const distinct = t.distinct_viewers ?? null;
  p.textContent = `24 h: peak ${whole(t.peak)}${at ? ` at ${at}` : ''} · average ${whole(t.average)}`
    + ` · ${minutes(t.viewer_minutes)} viewer-minutes · ${minutes(t.live_minutes)} live minutes`
    + (distinct === null ? '' : ` · ${whole(distinct)} distinct viewers`);
  p.dataset.peak = String(t.peak);
  p.dataset.viewerMinutes = String(t.viewer_minutes);
  if (distinct === null) delete p.dataset.distinct;
  else p.dataset.distinct = String(distinct);
}

async function refreshHistory(card, id, force) {
  const now = Date.now();
  if (card.loading) return;
  if (!force && card.fetchedRange === range && now - card.fetchedAt < HISTORY_REFRESH_MS[range]) return;
  card.loading = true;
  const asked = range;
  try {
    const [history, summary] = await Promise.all([getJson(historyUrl(id)), getJson(summaryUrl(id))]);
    drawSummary(card, summary);
    if (asked !== range) return;  // the range changed meanwhile; the next refresh draws it
    drawChart(card, id, history);
    card.fetchedAt = now;
    card.fetchedRange = asked;
  } catch {
    // Keep the last chart; the status line says the server is unreachable.
  } finally {
    card.loading = false;
  }
}

// Shows the /api/channels document `data`, then the histories that are due.
async function render(data, { forceHistory = false } = {}) {
  const seen = new Set();
  for (const ch of data.channels ?? []) {
    seen.add(ch.id);
    let card = cards.get(ch.id);
    if (!card) {
      card = createCard(ch.id);
      cards.set(ch.id, card);
    }
    updateCard(card, ch);
  }
  for (const [id, card] of cards) {
    if (!seen.has(id)) {
      card.li.remove();
      cards.delete(id);
    }
  }
  // Keep the list in the API's order (sorted by id) without re-creating items.
  for (const id of seen) list.append(cards.get(id).li);
  empty.hidden = cards.size > 0;
  // When the counts of which tick were shown (for tests and curious users).
  document.body.dataset.shownAt = String(Date.now());
  document.body.dataset.shownTick = data.updated ?? '';
  await Promise.all([...cards].map(([id, card]) => refreshHistory(card, id, forceHistory)));
  updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  document.body.dataset.refreshed = String(Date.now());
}

// Fetches /api/channels once and shows it.
async function refresh({ forceHistory = false } = {}) {
  let data;
  try {
    data = await getJson('/api/channels');
  } catch {
    updated.textContent = 'Cannot reach headcount; retrying…';
    return;
  }
  await render(data, { forceHistory });
}

// Follows /api/events; polls while the server refuses it.
function follow() {
  if (typeof EventSource !== 'function') {
    setInterval(() => refresh(), REFRESH_MS);
    return;
  }
  let pollTimer = null;
  const events = new EventSource('/api/events');
  document.body.dataset.updates = 'events';
  events.addEventListener('tick', (e) => {
    let data;
    try {
      data = JSON.parse(e.data);
    } catch {
      return;
    }
    render(data);
  });
  events.addEventListener('error', () => {
    if (events.readyState === EventSource.CONNECTING) {
      // The browser reconnects by itself, with Last-Event-ID.
      updated.textContent = 'Cannot reach headcount; retrying…';
      return;
    }
    // Refused (too many streams, or a proxy that does not pass them): poll
    // for a while, then try the stream again.
    events.close();
    document.body.dataset.updates = 'polling';
    refresh();
    pollTimer = setInterval(() => refresh(), REFRESH_MS);
    setTimeout(() => {
      clearInterval(pollTimer);
      follow();
    }, EVENTS_RETRY_MS);
  });
}

function onRangeChange(e) {
  if (!RANGES.includes(e.target.value)) return;
  range = e.target.value;
  const url = new URL(location.href);
  url.searchParams.set('range', range);
  history.replaceState(null, '', url);
  refresh({ forceHistory: true });
}

function main() {
  for (const input of document.querySelectorAll('#range input')) {
    input.checked = input.value === range;
    input.addEventListener('change', onRangeChange);
  }
  follow();
}

main();
