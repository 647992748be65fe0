#!/usr/bin/env bash
# `cxpulse demo` serves the daemon's admin endpoint: with the port it is
# given already taken (a listener of this script's), it says so, takes a
# free one, prints the console's URL, its URLs and the `top` command, and
# that port answers the console's page, /healthz 200, /v1/status and
# `cxpulse top --once` while the demo runs;
# the demo then ends by itself with status 0.
# usage: demo.sh CXPULSE_BIN
set -u
BIN=$1
W=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- demo output (first 20 lines)"; head -20 "$W/demo.out"; exit 1; }

# The taken port: a listener on a free port, held until the end.
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
time.sleep(120)
' >"$W/held" &
pids+=($!)
for _ in $(seq 50); do [ -s "$W/held" ] && break; sleep 0.1; done
HELD=$(head -1 "$W/held")
[ -n "$HELD" ] || fail "the listener holding a port did not start"

"$BIN" demo --duration 8 --rate 300 --partitions 2 --customers 2000 --port "$HELD" \
  >"$W/demo.out" 2>"$W/demo.err" &
DEMO=$!
pids+=($DEMO)
port=
for _ in $(seq 100); do
  port=$(sed -n 's|^admin endpoint on 127.0.0.1:\([0-9]*\): http://127.0.0.1:\1/metrics .*|\1|p' \
         "$W/demo.out" | head -1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "no admin endpoint line"
grep -q "^port $HELD is taken" "$W/demo.out" || fail "the taken port $HELD is not said"
[ "$port" != "$HELD" ] || fail "the admin endpoint claims the taken port $HELD"
grep -qF "http://127.0.0.1:$port/v1/status  http://127.0.0.1:$port/v1/churn/model" "$W/demo.out" ||
  fail "the /v1/status and /v1/churn/model URLs are not printed"
grep -qxF "console: open http://127.0.0.1:$port/ in a browser" "$W/demo.out" ||
  fail "the console's URL is not printed"
top_line=$(grep "^follow it in another terminal: .* top --port $port\$" "$W/demo.out") ||
  fail "no 'top --port $port' command"

curl -sf "http://127.0.0.1:$port/" | grep -q "<title>cxpulse console</title>" ||
  fail "the console's page is not at http://127.0.0.1:$port/"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")
[ "$code" = 200 ] || fail "/healthz on the printed port $port answered '$code'"
curl -sf "http://127.0.0.1:$port/v1/status" | grep -q '"pipeline"' ||
  fail "/v1/status on port $port has no pipeline"
# The printed command as it is, run once.
${top_line#follow it in another terminal: } --once >"$W/top.out" 2>&1 &&
  grep -q "pipeline default" "$W/top.out" || fail "the printed top command: $(cat "$W/top.out")"

wait "$DEMO"
rc=$?
[ "$rc" = 0 ] || fail "the demo ended with $rc: $(cat "$W/demo.err")"
echo "demo: admin endpoint on $port (port $HELD was taken): console, /healthz 200, /v1/status, top"
