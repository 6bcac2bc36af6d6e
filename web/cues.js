// The viewer payload in a video's metadata cues, as players expose it: one
// cue per EXT-X-DATERANGE attribute (hls.js with enableDateRangeMetadataCues,
// Safari's native player) and one per ID3 frame (TXXX, as the origin and IVS
// deliver timed metadata: hls.js, video.js/VHS, Safari). Used by the watch
// page (watch-hls.js) and headcount.js. Pure; never throws.
import { decodePayload } from './payload.js';

export const HEADCOUNT_CLASS = 'com.headcount.viewers';
export const HEADCOUNT_ATTRIBUTE = 'X-HEADCOUNT';

// What `cue` carries: null when it is not headcount's, else
// { ok: true, payload, key, source } or { ok: false, error, source }, with
// source "daterange" or "id3" and key identifying the cue.
export function payloadOfCue(cue) {
  const value = cue?.value;
  if (!value || typeof value !== 'object') return null;
  let r;
  let source;
  if (value.key === HEADCOUNT_ATTRIBUTE) {
    r = decodePayload(value.data, { base64: true });
    source = 'daterange';
  } else if (value.key === 'TXXX' || value.key === 'PRIV') {
    r = decodePayload(typeof value.data === 'string' ? value.data : value.info ?? value.data);
    source = 'id3';
  } else {
    return null;
  }
  return r.ok
    ? { ok: true, payload: r.payload, key: cue.id || `cue-${cue.startTime}`, source }
    : { ok: false, error: r.error, source };
}
