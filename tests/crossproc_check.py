#!/usr/bin/python3
"""Compares what the daemon published on Kafka with what `cxpulse replay`
printed for the same events.

usage: crossproc_check.py REPLAY_OUT ALERTS_JSONL DEADLETTERS_JSONL MODE
MODE exact: the alerts are the replay's alerts, each exactly once.
MODE restart: every replay alert appears, repeats carrying the same alert_id;
its identity (type, customer, case, triggering event, times) is the replay's.
Every dead letter appears at least once. A window restored from the
changelog after a kill closes again and sends its partial again; once its
record was emitted, the merger dead-letters that partial `late` from the
repartition topic; those are allowed (and counted) here. A recovery step
parked for its case when a kill came is restored from the changelog without
its message bytes: if its case never comes, its unknown_case dead letter
carries a payload rebuilt from its fields, so in restart mode those are
matched by event_id.
Prints 'N passed, N failed'."""
import collections
import json
import sys

checks = [0, 0]

def check(ok, what):
    checks[0 if ok else 1] += 1
    if not ok:
        print("FAIL:", what)

def strip(v):
    v = dict(v)
    v.pop("emitted_at", None)
    return v

replay = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
alerts = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
dead = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
mode = sys.argv[4]

want_alerts = {r["value"]["alert_id"]: strip(r["value"]) for r in replay if r["stream"] == "alerts"}
def dl_key(reason, payload):
    if mode == "restart" and reason == "unknown_case":
        return (reason, json.loads(payload)["event_id"])
    return (reason, payload)

want_dead = collections.Counter(dl_key(r["value"]["reason"], r["value"]["payload"])
                                for r in replay if r["stream"] == "dead_letters")
got_alerts = collections.defaultdict(list)
for a in alerts:
    got_alerts[a["alert_id"]].append(strip(a))
got_dead = collections.Counter(dl_key(d["reason"], d["payload"]) for d in dead)

check(len(want_alerts) > 0, "replay produced alerts")
for aid, v in want_alerts.items():
    got = got_alerts.get(aid)
    check(got is not None, f"alert {aid} ({v['customer_id']}) published")
    if got and mode == "exact":
        check(all(g == v for g in got), f"alert {aid}: same content as replay")
    elif got:
        ident = ("type", "customer_id", "case_id", "event_id", "event_ts", "deadline")
        check(all(all(g[k] == v[k] for k in ident) for g in got),
              f"alert {aid}: same identity as replay")
for (reason, payload), n in want_dead.items():
    check(got_dead[(reason, payload)] >= n, f"dead letter {reason} {payload[:60]} published")
def late_partial(d):
    return mode == "restart" and d["reason"] == "late" and d["source"]["topic"].endswith(".part")
check(all((d["source"]["topic"].endswith(".events") or late_partial(d)) and
          d["source"]["partition"] >= 0 for d in dead),
      "dead letters carry Kafka coordinates")
if mode == "exact":
    check(len(alerts) == len(want_alerts), f"{len(alerts)} alerts == {len(want_alerts)}")
    check(sum(got_dead.values()) == sum(want_dead.values()),
          f"{sum(got_dead.values())} dead letters == {sum(want_dead.values())}")
else:
    extra = set(got_alerts) - set(want_alerts)
    print(f"restart: {len(alerts)} alert records, {len(got_alerts)} distinct ids, "
          f"{len(extra)} not in the uninterrupted run; "
          f"{sum(map(late_partial, dead))} late window partials")
print(f"{checks[0]} passed, {checks[1]} failed")
sys.exit(1 if checks[1] else 0)
