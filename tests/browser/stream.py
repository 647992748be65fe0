#!/usr/bin/python3
"""The console test's stream: a few customers whose outcomes are worked out
by hand in tests/browser/console.sh. Writes KEY<TAB>JSON lines (kcat -K
'\\t') and the plain JSON lines (cxpulse replay).

Event time starts at 2026-11-23T08:00:00Z. Four gold customers (profiles)
on the web answer CSAT 5, 4, 2 and 5 in the minute 08:00; at 08:00:30
customer b2 answers NPS 2 (a detractor: a closed-loop case and its alert,
reasons nps_score = 2 first); at 08:00:40 b1 reports an operational failure
at the checkout (case case-b1, severity 2), and so does the customer whose
id is markup, <script>alert(1)</script> (case case-x). The group
segment=gold, minute 08:00, then has CSAT 75.0 (three of four scored 4 or
5), NPS -100.0 (its one answer a detractor), and both under the pipeline's
min_n (30): low_n names csat and nps. At 08:20 a usage event of a customer
of no segment and no channel moves the event clock past that minute and
its lateness (300 s), so the window closes, while the gold and web groups'
latest minute stays 08:00."""
import json
import sys

T0 = 1795420800000  # 2026-11-23T08:00:00Z
XSS = "<script>alert(1)</script>"


def events():
    evs = []
    for i, cid in enumerate(["b1", "b2", "b3", XSS]):
        evs.append({"type": "profile", "customer_id": cid, "ts": T0 + i,
                    "segment": "gold", "consent": True})
    for i, (cid, score) in enumerate([("b1", 5), ("b2", 4), ("b3", 2), (XSS, 5)]):
        evs.append({"type": "survey.csat", "customer_id": cid, "ts": T0 + 10000 + i * 1000,
                    "score": score, "channel": "web"})
    evs.append({"type": "survey.nps", "customer_id": "b2", "ts": T0 + 30000, "score": 2,
                "channel": "web"})
    for cid, case in [("b1", "case-b1"), (XSS, "case-x")]:
        evs.append({"type": "service.failure", "customer_id": cid, "ts": T0 + 40000,
                    "case_id": case, "category": "operational", "severity": 2,
                    "detected_by": "customer", "touchpoint": "checkout", "channel": "web"})
    evs.append({"type": "usage", "customer_id": "b9", "ts": T0 + 20 * 60000, "count": 1})
    for n, ev in enumerate(evs):
        ev["event_id"] = "ev%d" % (n + 1)
    return evs


def main():
    out_kv, out_plain = sys.argv[1], sys.argv[2]
    evs = events()
    with open(out_kv, "w") as f:
        for ev in evs:
            f.write("%s\t%s\n" % (ev["customer_id"], json.dumps(ev, separators=(",", ":"))))
    with open(out_plain, "w") as f:
        for ev in evs:
            f.write(json.dumps(ev, separators=(",", ":")) + "\n")


main()
