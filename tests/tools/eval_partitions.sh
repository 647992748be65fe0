#!/usr/bin/env bash
# `cxpulse eval-churn --partitions N`: the customers spread over N input
# partitions, a learner each, as the daemon holds them. The spread changes
# neither who is scored nor the outcomes (customers, positives, negatives
# equal to one partition's run on the same history); the output names N;
# a bad N is refused with status 2 and a sentence.
set -u
bin=$1 src=$2
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
run() {
  "$bin" eval-churn --pipeline "$src/pipelines/default.json" --generate 7:60000:600:120 \
    --at +90 "$@" 2>/dev/null
}
one=$(run) || bad "--partitions default failed"
four=$(run --partitions 4) || bad "--partitions 4 failed"
/usr/bin/python3 - "$one" "$four" <<'PY' || fails=$((fails + 1))
import json, sys
one, four = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ok = True
for k in ("customers", "positives", "negatives", "events_before_at"):
    if one[k] != four[k]:
        print(f"FAIL: {k}: {one[k]} with one partition, {four[k]} with four"); ok = False
if (one["partitions"], four["partitions"]) != (1, 4):
    print(f"FAIL: partitions {one['partitions']}, {four['partitions']}, want 1, 4"); ok = False
if not 0 <= four["auc"] <= 1:
    print(f"FAIL: auc {four['auc']}"); ok = False
print("one partition:", one["auc"], one["mean_p"], "four:", four["auc"], four["mean_p"])
sys.exit(0 if ok else 1)
PY
for n in 0 1025 x; do
  err=$("$bin" eval-churn --pipeline "$src/pipelines/default.json" --generate 7:600:60 --at +9 \
    --partitions "$n" 2>&1 >/dev/null)
  rc=$?
  [ $rc -eq 2 ] || bad "--partitions $n: status $rc, want 2"
  grep -q "is not 1..1024" <<<"$err" || bad "--partitions $n: no sentence ($err)"
done
[ $fails -eq 0 ] && echo "eval-churn --partitions: ok"
exit $((fails > 0))
