-- wrk script for bench/cmcd/run: every request POSTs one CMCD v2 event
-- report (application/cmcd, as hls.js 1.7 sends a time-interval report) to
-- PATH, for sid i from IDS (1..N, cycled), from client address 10.x.y.z of
-- that viewer in X-Forwarded-For (the server trusts 127.0.0.1 as a proxy, so
-- each viewer is its own address, as behind a load balancer). nginx gets the
-- same requests and answers 204. done() prints one RESULT line.
--
--   wrk ... -s reports.lua URL -- PATH N
local path, n, next_id = nil, 1, 1

function init(args)
  path = args[1]
  n = tonumber(args[2])
  next_id = math.random(n)
end

function request()
  next_id = next_id % n + 1
  local i = next_id
  local body = string.format(
    'bl=(3200),br=(0),cid="live",e=t,mtp=(7500),sf=h,sid="bench-viewer-%08d",sn=4,st=l,sta=p,ts=1796614094437,v=2',
    i)
  local address = string.format("10.%d.%d.%d", math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/cmcd",
    ["X-Forwarded-For"] = address,
  }, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d non2xx=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
