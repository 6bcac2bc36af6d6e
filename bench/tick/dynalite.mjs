// dynalite (in memory, tables ACTIVE at once) that counts the requests it
// answers, by X-Amz-Target, in the same process (no proxy in the way):
//   node dynalite.mjs   prints "listening on http://127.0.0.1:<port>"
//   GET /_bench/stats   {"BatchWriteItem": n, "Query": n, ...}
// Exits when its stdin closes, so it never outlives the benchmark.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const dynalite = require('../../node_modules/dynalite/index.js');

const counts = {};
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
const handlers = server.listeners('request');
server.removeAllListeners('request');
server.on('request', (req, res) => {
  if (req.method === 'GET' && req.url === '/_bench/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(counts));
    return;
  }
  const target = String(req.headers['x-amz-target'] ?? '').split('.').pop() || 'other';
  counts[target] = (counts[target] ?? 0) + 1;
  for (const h of handlers) h.call(server, req, res);
});
// Node's 5 s keep-alive timeout races with a busy client: when dynalite's
// event loop stalls (garbage collection with tens of thousands of items),
// the timer fires before the next request already waiting on that socket is
// read, and the client sees "socket hang up". DynamoDB keeps connections
// far longer, so give it the same grace here, for both implementations.
server.keepAliveTimeout = 120000;
server.headersTimeout = 121000;
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
