-- wrk script for bench/origin/run: every request asks for PATH?hcs=<id>,
-- cycling through the session ids in IDS_FILE (one a line), so that requests
-- come from many viewers, as real traffic does; nginx gets the same URLs (it
-- ignores the query). done() prints one machine-readable RESULT line.
--
--   wrk ... -s sessions.lua URL -- PATH IDS_FILE
local path, ids, next_id = nil, {}, 1

function init(args)
  path = args[1]
  for line in io.lines(args[2]) do ids[#ids + 1] = line end
  -- Each wrk thread starts at a different place in the list.
  next_id = math.random(#ids)
end

function request()
  next_id = next_id % #ids + 1
  return wrk.format("GET", path .. "?hcs=" .. ids[next_id])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d non2xx=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
