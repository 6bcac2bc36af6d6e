// The viewer payload in a video's metadata cues, as players expose it: one
// cue per EXT-X-DATERANGE attribute (hls.js with enableDateRangeMetadataCues,
// Safari's native player, video.js/VHS) and one per ID3 frame (TXXX, as the
// origin and IVS deliver timed metadata: hls.js, video.js/VHS, Safari). Used
// by the watch page (watch-hls.js) and headcount.js. And the Amazon IVS web
// player's TEXT_METADATA_CUE events, whose `text` is the PutMetadata payload
// (watch-ivs.js and headcount.js). Pure; never throws.
import { decodePayload } from './payload.js';

export const HEADCOUNT_CLASS = 'com.headcount.viewers';
export const HEADCOUNT_ATTRIBUTE = 'X-HEADCOUNT';
// The ID of the origin's DATERANGE (src/hls/playlist.cc DateRangeId). VHS
// names only the attributes it knows in a cue's value (its `key` is
// undefined for X-HEADCOUNT), so its cue is recognised by its type and ID.
const VHS_DATERANGE_TYPE = 'com.apple.quicktime.HLS';
const HEADCOUNT_DATERANGE_ID = /^hc-\d+$/;

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
  } else if (value.key === undefined && cue.type === VHS_DATERANGE_TYPE && HEADCOUNT_DATERANGE_ID.test(cue.id ?? '')) {
    r = decodePayload(value.data, { base64: true });
    if (!r.ok) return null;  // another attribute of our DATERANGE (none today), not the payload
    source = 'daterange';
  } else if (value.key === 'TXXX' || value.key === 'PRIV') {
    // hls.js and VHS give the text as `data`; some players give bytes and `info`/`value`.
    const text = typeof value.data === 'string' ? value.data : typeof value.value === 'string' ? value.value : value.info ?? value.data;
    r = decodePayload(text);
    source = 'id3';
  } else {
    return null;
  }
  return r.ok
    ? { ok: true, payload: r.payload, key: cue.id || `cue-${cue.startTime}`, source }
    : { ok: false, error: r.error, source };
}

// The IVS player's name of the event (PlayerEventType.TEXT_METADATA_CUE),
// for pages whose player is not the global IVSPlayer of the script tag.
export const IVS_TEXT_METADATA_CUE = 'PlayerTextMetadataCue';

// What an IVS TEXT_METADATA_CUE carries, as payloadOfCue says it, with source
// "ivs-cue": null when it has no text. Its cues carry no id: the key is made
// of the cue's time and text.
export function payloadOfIvsCue(cue) {
  if (typeof cue?.text !== 'string') return null;
  const r = decodePayload(cue.text);
  return r.ok
    ? { ok: true, payload: r.payload, key: `ivs-${cue.startTime}-${cue.text}`, source: 'ivs-cue' }
    : { ok: false, error: r.error, source: 'IVS cue' };
}
