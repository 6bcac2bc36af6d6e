// The offline/retry state machine both players share (watch-hls.js with
// hls.js, watch-ivs.js with the IVS player): the page's state (loading,
// playing, offline, error) on the overlay and the status line, "offline" when
// no new video comes (or the page says the stream stopped), and a fresh
// player after a growing delay until the stream is back. The page builds and
// destroys its player; this module decides when.

// No new video for this long: the stream is offline.
const STALL_MS = 8000;
// Connecting for this long without a picture counts as offline.
const CONNECT_TIMEOUT_MS = 15000;
// While offline, the player is rebuilt after these delays (then the last, again and again).
const RETRY_DELAYS_MS = [2000, 4000, 8000, 15000];
const WATCHDOG_MS = 1000;

const $ = (id) => document.getElementById(id);

// Watches one page's playback. `start({ afterOutage })` replaces the page's
// player by a new one (afterOutage: a retry while offline). Options:
//   isNewVideo(time, lastTime)  whether a time update (video.currentTime, the
//                               previous one or -1 after a start) is new video;
//                               default: the time changed
//   isStale(now)                whether the stream stopped although the video
//                               did not (yet); default: never
//   onBackOnline()              called when the stream is back after an outage
// Returns { state, setState, goOffline, timeUpdate, forgetProgress, run }.
export function createPlaybackWatch({
  start, isNewVideo = (time, lastTime) => time !== lastTime, isStale = () => false, onBackOnline = () => {},
}) {
  const overlay = $('overlay');
  const statusBox = $('status');
  const statusText = $('status-text');
  const retryButton = $('retry');

  // State, changed only by the functions below.
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

  function restart({ afterOutage }) {
    lastTime = -1;
    start({ afterOutage });
  }

  // Says why the page is offline and schedules the first retry; an error
  // (nothing to play) stays an error.
  function goOffline(message) {
    if (state === 'error') return;
    if (state !== 'offline') {
      retries = 0;
      nextRetryAt = performance.now() + RETRY_DELAYS_MS[0];
    }
    setState('offline', `Offline: ${message} Retrying…`);
  }

  function retryNow() {
    retries += 1;
    nextRetryAt = performance.now() + RETRY_DELAYS_MS[Math.min(retries, RETRY_DELAYS_MS.length - 1)];
    restart({ afterOutage: true });
  }

  function watchdog() {
    const now = performance.now();
    const stalled = now - lastProgressAt > STALL_MS;
    const stale = isStale(now);
    if (state === 'playing' && (stalled || stale)) {
      goOffline(stale ? 'the stream stopped.' : 'no new video.');
    } else if (state === 'offline') {
      if (!stalled && !stale) {
        onBackOnline();
        setState('playing', 'Live.');
      } else if (now >= nextRetryAt) {
        retryNow();
      }
    } else if (state === 'loading' && now - stateSince > CONNECT_TIMEOUT_MS) {
      goOffline('the stream does not start.');
    }
  }

  // A time update of the video (its currentTime): new video keeps the page live.
  function timeUpdate(time) {
    const moved = isNewVideo(time, lastTime);
    lastTime = time;
    if (!moved) return;
    lastProgressAt = performance.now();
    if (state === 'loading') setState('playing', 'Live.');
  }

  return {
    get state() { return state; },
    setState,
    goOffline,
    timeUpdate,
    // From now on only new video means the stream is back.
    forgetProgress() { lastProgressAt = -Infinity; },
    // Starts the first player and the watchdog; the retry button retries at once.
    run() {
      retryButton.addEventListener('click', () => retryNow());
      setState('loading', 'Connecting to the stream…');
      restart({ afterOutage: false });
      setInterval(watchdog, WATCHDOG_MS);
    },
  };
}
