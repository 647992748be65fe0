#!/usr/bin/python3
"""Writes a known mix of events for the Kafka tests, one per line as
KEY<TAB>JSON (kcat -K '\\t'), and the plain JSON lines for replay.

The mix: N_CUST customers with surveys, usage and purchases; one detractor
NPS response for each of the first N_DETRACTOR customers (scores cycle 0..6);
consent:false for every tenth of those (no alert expected); a few repeated
event_ids; and bad events of every kind, each keyed by a customer.

No customer has two detractor responses, so the expected alerts do not depend
on cooldown state, which a restart without durable state would lose.

Recovery: sixty service failures in the first hour of event time, one
customer each (c200-c259), each at a touchpoint of its own (no systemic
burst). A third are acknowledged in time, apologised for, resolved and
followed up (closed well); a third acknowledged late; a third left alone,
so every acknowledge level breaches in event time.

Late answers: every 331st line brings a CSAT answer stamped 15 minutes back,
past its minute window's close and within its revision horizon: the
minute's record goes out again as a revision (issue: revisions, not loss). Two acknowledgements come
before their case (parked, then applied), one step's case never comes
(dead-lettered unknown_case an hour of event time later), and five
customers fail twice in one category (a repeat, severity raised). Every
deadline the stream does not reach lies hours past its end, so a daemon's
quiet clock, seconds past the end, fires nothing that replay does not."""
import collections
import json
import random
import sys

def main():
    out_kv, out_plain, n_events = sys.argv[1], sys.argv[2], int(sys.argv[3])
    n_cust, n_detr = 400, 120
    rnd = random.Random(7)
    t0 = 1795420800000  # 2026-11-23T08:00:00Z
    lines = []
    seq = 0

    def add(cust, ev):
        lines.append((cust, json.dumps(ev, separators=(",", ":"))))

    # Profiles first, so consent is known before any detractor response.
    for c in range(n_detr):
        if c % 10 == 0:
            seq += 1
            add(f"c{c}", {"event_id": f"p{seq}", "type": "profile", "customer_id": f"c{c}",
                          "ts": t0 + seq, "segment": "gold" if c % 3 == 0 else "silver",
                          "consent": False})
    detractor_at = {c: rnd.randrange(n_events // 4, n_events) for c in range(n_detr)}
    bad_kinds = [
        "not json at all",
        '{"event_id":"x","type":"survey.csat","ts":"2026-11-23T00:00:00Z","score":4}',
        '{"event_id":"x","type":"survey.nps","customer_id":"%s","ts":"2026-11-23T00:00:00Z","score":11}',
        '{"event_id":"x","type":"survey.mood","customer_id":"%s","ts":"2026-11-23T00:00:00Z"}',
        '{"event_id":"x","type":"usage","customer_id":"%s","ts":"later"}',
        '{"event_id":"x","type":"survey.ces","customer_id":"%s","ts":"2026-11-23T00:00:00Z","score":"easy"}',
        '["an","array"]',
    ]
    # The recovery schedule: line index -> events (with their own ts).
    rec = random.Random(11)
    sched = collections.defaultdict(list)
    cats = ["design", "operational", "communication", "reputational", "promise", "other"]
    n_rec = 0

    def plan(idx, ev, ts_s=None):
        nonlocal n_rec
        n_rec += 1
        ev = dict(ev, event_id=f"r{n_rec}", ts=t0 + (idx if ts_s is None else ts_s) * 1000)
        sched[idx].append(ev)

    for k in range(60):
        c = 200 + k
        cid, case, at = f"c{c}", f"f{c}", 60 + rec.randrange(3000)
        fail = {"type": "service.failure", "customer_id": cid, "case_id": case,
                "category": cats[k % 6], "severity": 1 + k % 2,
                "detected_by": "provider" if k % 4 == 0 else "customer",
                "touchpoint": f"tp{c}"}
        step = lambda t, s: {"type": "recovery." + t, "customer_id": cid, "case_id": s}
        if k in (3, 33):  # acknowledged before the failure's line: parked first
            plan(at + 100, step("acknowledged", case))
            plan(at + 200, fail, at)
        else:
            plan(at, fail)
            if k % 3 == 0:
                plan(at + 300, step("acknowledged", case))
        if k % 3 == 0:
            plan(at + 400, step("apologized", case))
            plan(at + 7200, step("resolved", case))
            plan(at + 9000, step("followed_up", case))
        elif k % 3 == 1:
            plan(at + 2400, step("acknowledged", case))
        if k < 5:  # the same category again within 30 days: a repeat
            plan(at + 1800, dict(fail, case_id=case + "b", severity=3,
                                 touchpoint=f"tp{c}b"))
    plan(1000, {"type": "recovery.resolved", "customer_id": "c270", "case_id": "ghost1"})

    i = 0
    while len(lines) < n_events:
        i += 1
        for ev in sched.pop(i, []):
            add(ev["customer_id"], ev)
        c = rnd.randrange(n_cust)
        cid = f"c{c}"
        ts = t0 + i * 1000
        seq += 1
        if i % 97 == 0:
            text = bad_kinds[(i // 97) % len(bad_kinds)]
            if "%s" in text:
                text = text % cid
            lines.append((cid, text))
            continue
        if c in detractor_at and detractor_at[c] <= i:
            del detractor_at[c]
            add(cid, {"event_id": f"e{seq}", "type": "survey.nps", "customer_id": cid,
                      "ts": ts, "score": c % 7})
            continue
        kind = rnd.random()
        if kind < 0.3:
            ev = {"type": "survey.csat", "score": rnd.randint(1, 5)}
        elif kind < 0.45:
            ev = {"type": "survey.nps", "score": rnd.randint(7, 10)}
        elif kind < 0.75:
            ev = {"type": "usage", "count": rnd.randint(1, 3)}
        else:
            ev = {"type": "purchase", "amount": rnd.randint(5, 200)}
        ev.update({"event_id": f"e{seq}", "customer_id": cid, "ts": ts})
        add(cid, ev)
        if i % 331 == 0 and i > 900:
            # An answer delivered 15 minutes late (a survey tool's batch):
            # its minute window has closed (lateness 5 minutes) and takes it
            # as a revision; its hour, mostly still open, folds it.
            seq += 1
            add(cid, {"event_id": f"l{seq}", "type": "survey.csat", "customer_id": cid,
                      "ts": ts - 900 * 1000, "score": rnd.randint(1, 5)})
        if i % 211 == 0:  # the same event again: one event, counted once
            add(cid, ev)
    with open(out_kv, "w") as f:
        for k, v in lines:
            f.write(f"{k}\t{v}\n")
    with open(out_plain, "w") as f:
        for _, v in lines:
            f.write(v + "\n")

main()
