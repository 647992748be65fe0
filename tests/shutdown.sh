#!/usr/bin/env bash
# A shutdown with the brokers gone is bounded: `cxpulse mock-cluster` and
# `cxpulse run` as their own processes; the daemon consumes 50 events, the
# cluster is killed (SIGKILL: no broker answers again), and SIGTERM must end
# the daemon within shutdown.timeout_ms (3 s here) plus the 2 s the final
# commit and leaving the group get, with exit status 1 and a log line saying
# what is left uncommitted. Before, it waited for a coordinator that would
# not come (45 s in the group's session timeout, or for ever). On the way,
# `cxpulse tail | head -1` must end with head.
# usage: shutdown.sh CXPULSE_BIN SOURCE_DIR
set -u
BIN=$1
SRC=$2
. "$SRC/tests/lib.sh"
proc_setup
fail() { echo "FAIL: $*"; echo "--- daemon log (last 20 lines)"; tail -20 "$W/run.err"; exit 1; }

mock_start s.events:2 s.part:2 s.cl:2 s.alerts:1 s.dead:1 s.ind:1

/usr/bin/python3 - "$SRC/pipelines/default.json" "$W/pipeline.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
p["topics"] = {"input": "s.events", "alerts": "s.alerts", "indicators": "s.ind",
               "dead_letters": "s.dead", "repartition": "s.part", "changelog": "s.cl"}
# No changelog flush within the test, so the commits never pass the consumed
# offsets and the stop always has something to name as uncommitted (with
# the default 1 s flush, a slow `tail | head` below let the commits catch
# up, and the daemon rightly said "nothing": a CI run failed on that).
p.setdefault("state", {})["flush_interval_ms"] = 600000
json.dump(p, open(sys.argv[2], "w"))
EOF
cat >"$W/config.json" <<JSON
{"pipeline": "$W/pipeline.json", "log": {"level": "info"}, "shutdown": {"timeout_ms": 3000},
 "commit": {"interval_ms": 200}, "http": {"port": 0},
 "kafka": {"bootstrap.servers": "$BS", "consumer": {"session.timeout.ms": 6000}}}
JSON
"$BIN" run --config "$W/config.json" 2>"$W/run.err" &
RUN=$!
pids+=($RUN)

# The admin port is in the log; ready once partitions are held and restored.
admin_ready "$W/run.err"

for i in $(seq 50); do
  printf 's%d\t{"event_id":"e%d","type":"survey.nps","customer_id":"s%d","ts":"2026-11-24T07:00:00Z","score":3}\n' \
    "$i" "$i" "$i"
done | kcat -P -b "$BS" -t s.events -K "$(printf '\t')" || fail "kcat could not produce"
consumed=0
for _ in $(seq 200); do
  consumed=$(curl -s "http://127.0.0.1:$port/metrics" |
    sed -n 's/^cxpulse_events_consumed_total \([0-9]*\)$/\1/p')
  [ "${consumed:-0}" -ge 50 ] && break
  sleep 0.1
done
[ "${consumed:-0}" -ge 50 ] || fail "only ${consumed:-0} of 50 events consumed"

# While the cluster is up: `cxpulse tail | head -1` ends when head does
# (tail's writes fail with EPIPE, SIGPIPE being ignored), with status 0.
timeout 20 "$BIN" tail alerts --brokers "$BS" --topic s.alerts --from-beginning | head -1 >"$W/head.out"
st=("${PIPESTATUS[@]}")
[ "${st[0]}" = 0 ] || fail "cxpulse tail | head -1: tail's status ${st[0]} (124: still running after 20 s)"
grep -q "recovery.closed_loop" "$W/head.out" || fail "cxpulse tail | head -1 printed: $(cat "$W/head.out")"

kill -9 "$MOCK"
wait "$MOCK" 2>/dev/null
t0=$(date +%s%N)
kill -TERM "$RUN"
# Wait at most 30 s, then look: a daemon still up failed the test.
for _ in $(seq 300); do kill -0 "$RUN" 2>/dev/null || break; sleep 0.1; done
kill -0 "$RUN" 2>/dev/null && fail "still running 30 s after SIGTERM"
wait "$RUN"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "SIGTERM with the brokers gone: exit status $rc after $ms ms (shutdown.timeout_ms 3000)"
[ "$rc" = 1 ] || fail "exit status $rc, not 1"
# 3000 ms for the outputs, 2000 for the final commit and the group, and
# room for this machine's scheduling.
[ "$ms" -le 6500 ] || fail "took $ms ms, over 3000 + 2000 + 1500"
# Which partitions restart from where: every input partition that had
# consumed something is named (its offsets are committed no further than
# the changelog and the outputs allow).
grep -q "left uncommitted, read again after a restart.* s.events \[" "$W/run.err" ||
  fail "no log line naming what is left uncommitted"
echo "ok"
