#!/usr/bin/env bash
# The churn model survives kill -9: `cxpulse mock-cluster` and `cxpulse run`
# as their own processes. The daemon reads a generated history with labels
# (200 customers over 150 days, 20,000 events on two partitions) and learns
# from it; once its model has stopped changing and the changelog has had
# time to take it (flushes and commits every 200 ms), it is killed with
# SIGKILL and started again. After the restore, with nothing left to read,
# /v1/churn/model must answer exactly as before the kill: the coefficients,
# calibration, labels, positives, prequential scores and each partition's
# learner. Then once more with topics.model on an empty topic, so that the
# changelog alone brings the learners back (a learner not written there
# would start again from the configured model and 0 labels).
# usage: model_kill.sh CXPULSE_BIN SOURCE_DIR
set -u
BIN=$1
SRC=$2
PY=/usr/bin/python3
. "$SRC/tests/lib.sh"
proc_setup
fail() { echo "FAIL: $*"; echo "--- daemon log (last 20 lines)"; tail -20 "$W/run.err"; exit 1; }
mock_start m.events:2 m.part:2 m.cl:2 m.alerts:1 m.dead:1 m.ind:1 m.model:1 m.model2:1 \
  m.cases:1

# The history, keyed by customer for kcat (-K: key TAB value).
"$BIN" eval-churn --pipeline "$SRC/pipelines/default.json" --generate 7:20000:200:150 \
  --at +149 --write "$W/history.jsonl" >/dev/null 2>"$W/gen.err" || fail "eval-churn --write"
$PY - "$W/history.jsonl" "$W/history.kv" <<'EOF'
import json, sys
with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        e = json.loads(line)
        out.write(e["customer_id"] + "\t" + line.strip() + "\n")
EOF
kcat -P -b "$BS" -t m.events -K $'\t' <"$W/history.kv" || fail "producing the history"

$PY - "$SRC/pipelines/default.json" "$W/pipeline.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
p["topics"] = {"input": "m.events", "alerts": "m.alerts", "indicators": "m.ind",
               "dead_letters": "m.dead", "repartition": "m.part", "changelog": "m.cl",
               "model": "m.model", "cases": "m.cases"}
p.setdefault("state", {})["flush_interval_ms"] = 200
# The history runs 150 days from the generator's start, a few days ago.
p.setdefault("limits", {})["max_future_s"] = 31536000
# The learnt model scores from 100 labels (1,000 by default; the history
# gives about 760), so that the coefficients compared are the learnt ones.
p.setdefault("churn", {})["learn_min_labels"] = 100
json.dump(p, open(sys.argv[2], "w"))
EOF
cat >"$W/config.json" <<JSON
{"pipeline": "$W/pipeline.json", "log": {"level": "info"}, "commit": {"interval_ms": 200},
 "http": {"port": 0},
 "kafka": {"bootstrap.servers": "$BS", "consumer": {"session.timeout.ms": 6000}}}
JSON

start() {
  : >"$W/run.err"
  "$BIN" run --config "$W/config.json" 2>"$W/run.err" &
  RUN=$!
  pids+=($RUN)
  admin_ready "$W/run.err"
}
# The model once it has answered the same for 2 s (at most 90 s), in $W/$1.
settled() {
  local prev="" now end=$((SECONDS + 90))
  while [ $SECONDS -lt $end ]; do
    now=$(curl -sf "http://127.0.0.1:$port/v1/churn/model") || now=""
    if [ -n "$now" ] && [ "$now" = "$prev" ]; then
      printf '%s\n' "$now" >"$W/$1"
      return 0
    fi
    prev=$now
    sleep 2
  done
  fail "the model did not settle: $now"
}

start
settled before
$PY - "$W/before" <<'EOF' || fail "the model before the kill: $(cat "$W/before")"
import json, sys
m = json.load(open(sys.argv[1]))
parts = m["partitions"]
assert m["scoring"] == "learnt", m["scoring"]
assert m["labels"] >= 500 and m["positives"] >= 20, (m["labels"], m["positives"])
assert len(parts) == 2 and all(p["labels"] > 0 for p in parts), parts
print("before the kill: %d labels (%d positive) over %d partitions" %
      (m["labels"], m["positives"], len(parts)))
EOF
# Everything learnt is flushed and committed within 200 ms; a second more.
sleep 1
kill -9 $RUN
wait $RUN 2>/dev/null
start
grep -q "restore: partition" "$W/run.err" || fail "the restart restored nothing"
settled after
cmp -s "$W/before" "$W/after" ||
  fail "the model after kill -9 differs: before $(cat "$W/before") after $(cat "$W/after")"
echo "after kill -9 and a restore: the same model"
# Again with topics.model moved to an empty topic: the learners published
# there (a restarted instance takes them while it holds no partition) cannot
# stand in, so the changelog alone must bring them back.
kill -9 $RUN
wait $RUN 2>/dev/null
sed -i 's/"m\.model"/"m.model2"/' "$W/pipeline.json"
grep -q '"m.model2"' "$W/pipeline.json" || fail "topics.model not moved"
start
settled changelog
cmp -s "$W/before" "$W/changelog" ||
  fail "the model restored from the changelog alone differs: before $(cat "$W/before") after $(cat "$W/changelog")"
echo "after kill -9, from the changelog alone: the same model"
kill -TERM $RUN
wait $RUN
echo "2 passed, 0 failed"
