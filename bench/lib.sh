# Shell helpers of the wrk benchmarks (bench/origin, bench/proxy, bench/cmcd):
# sourced, not run. Each caller sets `work` (its temp folder) first.

readonly bench_clock_ticks="$(getconf CLK_TCK)"

# A free TCP port on 127.0.0.1.
bench_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bench_wait_http URL PID: waits up to 10 s for an answer (any status) at URL
# while PID runs; on failure prints the logs of $work and returns 1.
bench_wait_http() {
  local i
  for i in $(seq 100); do
    kill -0 "$2" 2>/dev/null || { echo "bench: the server for $1 exited" >&2; cat "$work"/*.log >&2 || true; return 1; }
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" != 000 ] && return 0
    sleep 0.1
  done
  echo "bench: nothing answers at $1" >&2
  return 1
}

# The CPU time (user + system, in clock ticks) the processes PID... have used.
bench_cpu_ticks() {
  local pid total=0
  for pid in "$@"; do
    total=$((total + $(sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')))
  done
  echo "$total"
}

# bench_wrk URL CONNECTIONS SECONDS PID...: wrk with 2 threads and the Lua
# script $bench_wrk_script given the arguments in the array bench_wrk_args
# (the script prints one "RESULT requests= duration_us= p50_us= p99_us=
# errors= non2xx=" line). Prints "req_per_s p50_us p99_us
# cpu_us_per_request requests", the fourth being the CPU time the server processes
# PID... used per request (what a request costs the server, whatever else
# shares the cores), then the requests answered. Fails on any error or
# non-2xx answer.
bench_wrk() {
  local result before after
  before="$(bench_cpu_ticks "${@:4}")"
  result="$(wrk -t2 -c"$2" -d"$3s" --timeout 5s -s "$bench_wrk_script" "$1" -- "${bench_wrk_args[@]}" |
    grep '^RESULT')"
  after="$(bench_cpu_ticks "${@:4}")"
  awk -v r="$result" -v cpu="$((after - before))" -v hz="$bench_clock_ticks" 'BEGIN {
    n = split(r, kv, " "); for (i = 2; i <= n; i++) { split(kv[i], p, "="); v[p[1]] = p[2] }
    if (v["errors"] + v["non2xx"] > 0) { print "errors=" v["errors"] " non2xx=" v["non2xx"] > "/dev/stderr"; exit 1 }
    printf "%.0f %d %d %.1f %d\n", v["requests"] / (v["duration_us"] / 1e6), v["p50_us"], v["p99_us"],
      cpu / hz * 1e6 / v["requests"], v["requests"] }'
}

# bench_nginx NAME WORKERS SERVER_BLOCK: starts Debian's nginx with its config,
# pid, logs and temp folders under $work/NAME and the http block's inside
# SERVER_BLOCK; appends its pid to the caller's `pids` array. Its workers are
# `pgrep -P <pid>`.
bench_nginx() {
  local dir="$work/$1"
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<NGINX
daemon off;
worker_processes $2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
$3
}
NGINX
  nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" &
  pids+=($!)
}

# Microseconds as milliseconds with two decimals; A / B with two decimals.
bench_us_to_ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
