#!/usr/bin/env bash
# The generator's world against the default pipeline: its provider keeps to
# the SLA most of the time and its CX team calls every detractor back under
# the case id the daemon gives him (docs/scenario.md, "Alert mix"). Replayed
# (100,000 events, 1,000 customers, 10 days of event time), the history
# gives no dead letter (a call back naming a case the daemon never opened
# would be an unknown_case), detractor cases hardly breach (under 2% of the
# closed-loop alerts; they did 2.5 times each when nobody called back), and
# breaches stay a minority of the alerts (under 30%; 64% before).
set -u
bin=$1 src=$2
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
"$bin" eval-churn --pipeline "$src/pipelines/default.json" --generate 1:100000:1000:10 \
  --at +5 --write "$w/h.jsonl" >/dev/null 2>&1 || { echo "FAIL: eval-churn --write"; exit 1; }
"$bin" replay --pipeline "$src/pipelines/default.json" "$w/h.jsonl" 2>/dev/null >"$w/out" ||
  { echo "FAIL: replay"; exit 1; }
/usr/bin/python3 - "$w/out" <<'PY'
import collections, json, sys
alerts, dead = collections.Counter(), collections.Counter()
cl_breach = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    v = r["value"]
    if r["stream"] == "dead_letters":
        dead[v["reason"]] += 1
    if r["stream"] != "alerts":
        continue
    alerts[v["type"]] += 1
    if v["type"] == "recovery.sla_breached" and (v.get("case_id") or "").startswith("cl-"):
        cl_breach += 1
total = sum(alerts.values())
loops, breaches = alerts["recovery.closed_loop"], alerts["recovery.sla_breached"]
print(f"alerts {total}: {dict(alerts)}; detractor breaches {cl_breach}; dead letters {dict(dead)}")
fails = 0
def check(ok, what):
    global fails
    if not ok:
        print("FAIL:", what)
        fails += 1
check(not dead, f"no dead letter: {dict(dead)}")
check(loops > 100, f"closed-loop alerts {loops} > 100")
check(cl_breach < 0.02 * loops, f"detractor breaches {cl_breach} < 2% of {loops}")
check(breaches < 0.3 * total, f"breaches {breaches} < 30% of {total}")
sys.exit(1 if fails else 0)
PY
