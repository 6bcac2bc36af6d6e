// Runs the baseline handler once, as a process (bench/tick/run measures the
// process): TABLE_NAME, AWS_REGION, credentials and AWS_ENDPOINT_URL_IVS /
// AWS_ENDPOINT_URL_DYNAMODB come from the environment, as on Lambda. Prints
// one JSON line: {ok, channels, duration_ms}; exit 1 when the handler failed.
import { handler } from './handler.mjs';

const started = performance.now();
const result = await handler({ 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} });
const durationMs = performance.now() - started;
const ok = result?.statusCode === 200;
const channels = ok ? Object.keys(JSON.parse(result.body)).length : 0;
console.log(JSON.stringify({ ok, channels, duration_ms: durationMs, error: ok ? undefined : String(result?.name ?? result) }));
process.exitCode = ok ? 0 : 1;
