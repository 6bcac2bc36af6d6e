// Checks the stream address the IVS player page is given (/watch?src=...):
// only an absolute http(s) URL of an HLS playlist (path ending in .m3u8), as
// an IVS playbackUrl is. Pure; nothing here throws or touches the page.

export const MAX_SOURCE_LENGTH = 2048;

// Returns { ok: true, url } (the URL as the browser normalizes it) or
// { ok: false, error: '<why, in words for the viewer>' }.
export function checkPlaybackUrl(text) {
  if (text === null || text === undefined || text === '') {
    return { ok: false, error: 'No stream was given: add ?src= and an IVS playback URL (ending in .m3u8) to the address.' };
  }
  if (typeof text !== 'string') return { ok: false, error: 'The stream address is not text.' };
  if (text.length > MAX_SOURCE_LENGTH) {
    return { ok: false, error: `The stream address is longer than ${MAX_SOURCE_LENGTH} characters.` };
  }
  let url;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, error: 'The stream address is not a full URL (https://…/….m3u8).' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, error: 'The stream address must start with https:// (or http://).' };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, error: 'The stream address must not hold a user name or password.' };
  }
  if (!url.pathname.toLowerCase().endsWith('.m3u8')) {
    return { ok: false, error: 'The stream address is not an HLS playlist: its path must end in .m3u8.' };
  }
  return { ok: true, url: url.href };
}
