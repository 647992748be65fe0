# Shared by the scripts that run the binary whole (sourced, not run):
#   proc_setup                 W (a scratch folder), pids (killed with -9 at
#                              exit, W removed then) and the trap that does it
#   mock_start TOPIC:PARTS...  `cxpulse mock-cluster` with those topics, its
#                              pid in MOCK and pids, its bootstrap servers
#                              in BS (fail when it does not start in 30 s)
#   admin_ready LOG            the admin port the daemon logged into LOG in
#                              port, once /readyz answers 200 (30 s at most)
# The caller sets BIN and defines fail().
proc_setup() {
  W=$(mktemp -d)
  pids=()
  trap proc_cleanup EXIT
}
proc_cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$W"
}
mock_start() {
  local args=() t
  for t in "$@"; do args+=(--topic "$t"); done
  "$BIN" mock-cluster "${args[@]}" >"$W/mock.out" 2>"$W/mock.err" &
  MOCK=$!
  pids+=($MOCK)
  for _ in $(seq 300); do [ -s "$W/mock.out" ] && break; sleep 0.1; done
  BS=$(head -1 "$W/mock.out")
  [ -n "$BS" ] || fail "mock cluster did not start: $(cat "$W/mock.err")"
}
admin_ready() {
  port=""
  for _ in $(seq 300); do
    port=$(sed -n 's|.*admin endpoint on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$1" | head -1)
    [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return 0
    sleep 0.1
  done
  fail "daemon not ready (admin port '${port}')"
}
