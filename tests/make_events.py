#!/usr/bin/python3
"""Writes a known mix of events for the Kafka tests, one per line as
KEY<TAB>JSON (kcat -K '\\t'), and the plain JSON lines for replay.

The mix: N_CUST customers with surveys, usage and purchases; one detractor
NPS response for each of the first N_DETRACTOR customers (scores cycle 0..6);
consent:false for every tenth of those (no alert expected); a few repeated
event_ids; and bad events of every kind, each keyed by a customer.

No customer has two detractor responses, so the expected alerts do not depend
on cooldown state, which a restart without durable state would lose."""
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
    i = 0
    while len(lines) < n_events:
        i += 1
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
        if i % 211 == 0:  # the same event again: one event, counted once
            add(cid, ev)
    with open(out_kv, "w") as f:
        for k, v in lines:
            f.write(f"{k}\t{v}\n")
    with open(out_plain, "w") as f:
        for _, v in lines:
            f.write(v + "\n")

main()
