// The viewer payload that rides in the stream, decoded in one place for every
// page: version 1 (compact JSON, docs/metadata.md) and the seed's format
// (counts joined by commas, newest first, e.g. "12,10,9,9,7"). Also the trend
// rule, identical to src/core/trend.cc. Pure functions; nothing here throws.

// IVS PutMetadata's limit, and headcount's everywhere (bytes of UTF-8).
export const MAX_PAYLOAD_BYTES = 1024;
// How many buckets a payload carries.
export const WINDOW_BUCKETS = 5;
// The trend rule's constants (src/core/trend.h).
export const TREND_MIN_SAMPLES = 3;
export const TREND_MIN_SLOPE = 0.5;
export const TREND_RELATIVE_SLOPE = 0.05;

export const TRENDS = Object.freeze(['rising', 'falling', 'steady', 'unknown']);

// Base64 of MAX_PAYLOAD_BYTES bytes is at most this long.
const MAX_BASE64_CHARS = 4 * Math.ceil(MAX_PAYLOAD_BYTES / 3);
const V1_FIELDS = ['v', 'at', 'i', 'm', 'trend'];
const AT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;
const SEED_PATTERN = /^\s*\d*\s*(,\s*\d*\s*)*$/;

// The trend of `counts` (oldest first; null or undefined = no sample):
//  - fewer than TREND_MIN_SAMPLES counts -> 'unknown';
//  - otherwise the least-squares slope s (viewers per bucket) through
//    (index, count) of the buckets that have a count, gaps left out;
//  - threshold t = max(TREND_MIN_SLOPE, TREND_RELATIVE_SLOPE * mean count);
//  - s >= t -> 'rising', s <= -t -> 'falling', else 'steady'.
// The arithmetic follows trend.cc step by step, so both give the same answer
// at the threshold.
export function computeTrend(counts) {
  let n = 0;
  let sumX = 0;
  let sumY = 0;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] === null || counts[i] === undefined) continue;
    n += 1;
    sumX += i;
    sumY += counts[i];
  }
  if (n < TREND_MIN_SAMPLES) return 'unknown';
  const meanX = sumX / n;
  const meanY = sumY / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] === null || counts[i] === undefined) continue;
    const dx = i - meanX;
    sxx += dx * dx;
    sxy += dx * (counts[i] - meanY);
  }
  const slope = sxy / sxx;  // sxx > 0: at least 3 distinct indices
  const threshold = Math.max(TREND_MIN_SLOPE, TREND_RELATIVE_SLOPE * meanY);
  if (slope >= threshold) return 'rising';
  if (slope <= -threshold) return 'falling';
  return 'steady';
}

// The words a page shows for a trend: "heating up" for rising, and only then.
export function trendLabel(trend) {
  switch (trend) {
    case 'rising': return 'heating up';
    case 'falling': return 'cooling down';
    case 'steady': return 'steady';
    default: return 'not enough data';
  }
}

// The newest count of `m` (oldest first), or null when every bucket is a gap.
export function currentCount(m) {
  for (let i = m.length - 1; i >= 0; i--) {
    if (m[i] !== null) return m[i];
  }
  return null;
}

const fail = (error) => ({ ok: false, error });

// Decodes a payload given as text, bytes (Uint8Array / ArrayBuffer) or base64
// text (`{ base64: true }`, how the embedded origin's X-HEADCOUNT carries it).
// Returns { ok: true, payload } or { ok: false, error: '<why>' }; never throws.
// payload: { format: 'v1' | 'seed', v, at (ms since epoch or null), i (seconds
// or null), m (5 counts, oldest first, null = gap), trend }.
// v1's trend is the one the server computed with the same rule; the seed
// format has none, so the rule computes it here.
export function decodePayload(input, { base64 = false } = {}) {
  try {
    const text = base64 ? base64ToText(input) : toText(input);
    if (typeof text !== 'string') return text;  // an error value
    const trimmed = text.trim();
    if (trimmed.startsWith('{')) return decodeV1(trimmed);
    return decodeSeed(trimmed);
  } catch (e) {
    // Defensive: the helpers above do not throw, but a page must never break.
    return fail(`undecodable payload (${e?.message ?? e})`);
  }
}

// `input` as a string, or an error value.
function toText(input) {
  if (typeof input === 'string') {
    // A UTF-16 unit is at least one UTF-8 byte: check cheaply before encoding.
    if (input.length > MAX_PAYLOAD_BYTES) return fail(`payload over ${MAX_PAYLOAD_BYTES} bytes`);
    if (new TextEncoder().encode(input).length > MAX_PAYLOAD_BYTES) {
      return fail(`payload over ${MAX_PAYLOAD_BYTES} bytes`);
    }
    return input;
  }
  let bytes;
  if (input instanceof Uint8Array) bytes = input;
  else if (input instanceof ArrayBuffer) bytes = new Uint8Array(input);
  else return fail(`payload is a ${input === null ? 'null' : typeof input}, not text or bytes`);
  if (bytes.length > MAX_PAYLOAD_BYTES) return fail(`payload over ${MAX_PAYLOAD_BYTES} bytes`);
  return bytesToText(bytes);
}

function bytesToText(bytes) {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail('payload is not UTF-8');
  }
}

function base64ToText(input) {
  if (typeof input !== 'string') return fail('base64 payload is not text');
  if (input.length > MAX_BASE64_CHARS) return fail(`payload over ${MAX_PAYLOAD_BYTES} bytes`);
  if (input.length % 4 !== 0 || !BASE64_PATTERN.test(input)) return fail('payload is not base64');
  let binary;
  try {
    binary = atob(input);
  } catch {
    return fail('payload is not base64');
  }
  if (binary.length > MAX_PAYLOAD_BYTES) return fail(`payload over ${MAX_PAYLOAD_BYTES} bytes`);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytesToText(bytes);
}

const isCount = (x) => Number.isSafeInteger(x) && x >= 0;

// Version 1, as strictly as src/core/payload.cc decodes it.
function decodeV1(text) {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch {
    return fail('payload is not valid JSON');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return fail('payload is not a JSON object');
  if (doc.v !== 1) return fail(`unknown payload version ${JSON.stringify(doc.v)}`);
  for (const key of Object.keys(doc)) {
    if (!V1_FIELDS.includes(key)) return fail(`unknown field "${key}"`);
  }
  for (const key of V1_FIELDS) {
    if (!(key in doc)) return fail(`missing field "${key}"`);
  }
  if (typeof doc.at !== 'string' || !AT_PATTERN.test(doc.at)) return fail('"at" is not an RFC 3339 UTC time');
  const at = Date.parse(doc.at);
  if (Number.isNaN(at) || new Date(at).toISOString().slice(0, 19) + 'Z' !== doc.at) {
    return fail('"at" is not a valid time');
  }
  if (!Number.isInteger(doc.i) || doc.i < 1 || doc.i > 86400) return fail('"i" is not 1 to 86400 seconds');
  if (!Array.isArray(doc.m) || doc.m.length !== WINDOW_BUCKETS) return fail(`"m" is not an array of ${WINDOW_BUCKETS}`);
  for (const c of doc.m) {
    if (c !== null && !isCount(c)) return fail('"m" holds something other than a count or null');
  }
  if (!TRENDS.includes(doc.trend)) return fail(`unknown trend ${JSON.stringify(doc.trend)}`);
  return { ok: true, payload: { format: 'v1', v: 1, at, i: doc.i, m: [...doc.m], trend: doc.trend } };
}

// The seed's format: up to 5 counts, newest first, joined by commas; an empty
// field is a gap. Fewer than 5 counts leave the oldest buckets as gaps.
function decodeSeed(text) {
  if (text === '') return fail('empty payload');
  if (!SEED_PATTERN.test(text)) return fail('payload is neither JSON nor comma-separated counts');
  const fields = text.split(',').map((f) => f.trim());
  if (fields.length > WINDOW_BUCKETS) return fail(`more than ${WINDOW_BUCKETS} counts`);
  const newestFirst = fields.map((f) => (f === '' ? null : Number(f)));
  if (newestFirst.some((c) => c !== null && !isCount(c))) return fail('a count is too large');
  if (newestFirst.every((c) => c === null)) return fail('no counts in payload');
  const m = [...newestFirst].reverse();
  while (m.length < WINDOW_BUCKETS) m.unshift(null);
  return { ok: true, payload: { format: 'seed', v: 0, at: null, i: null, m, trend: computeTrend(m) } };
}
