// Bundles the Amazon IVS web player (npm amazon-ivs-player, CommonJS that
// require()s "events" and "util") into one browser script defining the global
// IVSPlayer, with esbuild's JS API (which finds its platform binary whether or
// not npm ran esbuild's install script). Run by src/web/CMakeLists.txt as
//   node bundle_ivs_player.mjs <repo root> <output.js>
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [root, outfile] = process.argv.slice(2);
if (!root || !outfile) {
  console.error('usage: node bundle_ivs_player.mjs <repo root> <output.js>');
  process.exit(2);
}
const require = createRequire(join(root, 'package.json'));
const esbuild = require('esbuild');
esbuild.buildSync({
  entryPoints: [require.resolve('amazon-ivs-player')],
  absWorkingDir: root,
  bundle: true,
  minify: true,
  format: 'iife',
  globalName: 'IVSPlayer',
  platform: 'browser',
  target: 'es2020',
  legalComments: 'none',
  logLevel: 'warning',
  outfile,
});
