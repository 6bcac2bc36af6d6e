// A minimal Lambda Runtime API loop for the baseline handler, doing what the
// managed Node.js runtime does for it: load the handler module once (init),
// then get the next invocation, run the handler, post its result; forever.
// AWS_LAMBDA_RUNTIME_API gives the Runtime API's host:port. Node's http
// module with a keep-alive agent, no dependencies.
import http from 'node:http';
import { handler } from './handler.mjs';

const api = process.env.AWS_LAMBDA_RUNTIME_API;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const base = '/2018-06-01/runtime';

function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const [host, port] = api.split(':');
    const req = http.request({ host, port, method, path: base + path, agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

for (;;) {
  const next = await request('GET', '/invocation/next');
  const id = next.headers['lambda-runtime-aws-request-id'];
  try {
    const result = await handler(JSON.parse(next.body || '{}'));
    await request('POST', `/invocation/${id}/response`, JSON.stringify(result ?? null));
  } catch (err) {
    await request('POST', `/invocation/${id}/error`,
      JSON.stringify({ errorType: err?.name ?? 'Error', errorMessage: String(err?.message ?? err) }));
  }
}
