// The player page (web/watch.html), served at two addresses: /watch/{channel}
// plays a stream of the built-in origin with hls.js (watch-hls.js), and
// /watch?src=<IVS playback URL> an Amazon IVS stream with the IVS web player
// (watch-ivs.js). Picks the player by the address, loads its vendored script
// (a global: Hls or IVSPlayer) and its module side by side, and starts it once
// both are there.
const PLAYERS = {
  hls: { script: '/static/hls.min.js', module: './watch-hls.js' },
  ivs: { script: '/static/amazon-ivs-player.min.js', module: './watch-ivs.js', bodyClass: 'watch-ivs' },
};
// The IVS page's address; every other one is /watch/{channel}.
const IVS_PATH = '/watch';

// Resolves once the classic script at `src` ran, or failed to load: the
// player checks for its global itself and says what is missing.
function loadScript(src) {
  return new Promise((resolve) => {
    const script = document.createElement('script');
    script.src = src;
    script.addEventListener('load', resolve);
    script.addEventListener('error', resolve);
    document.head.append(script);
  });
}

const player = location.pathname === IVS_PATH ? PLAYERS.ivs : PLAYERS.hls;
if (player.bodyClass) document.body.classList.add(player.bodyClass);
const [, { main }] = await Promise.all([loadScript(player.script), import(player.module)]);
main();
