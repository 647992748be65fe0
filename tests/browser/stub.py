#!/usr/bin/python3
"""A proxy in front of a running `cxpulse run` for the console test: every
request goes to the daemon, and its answer back as it is (status, headers,
body: the console's files with their Content-Security-Policy, /v1/status,
/v1/customers/...). Where the daemon answers 404 for one of the console's
list routes (/v1/segments, /v1/cases, /v1/alerts: a build without them),
the proxy answers in its place from `cxpulse replay`'s outputs for the same
stream, in the routes' documented shapes (docs/console.md), with their
filters. Once the daemon serves them, the proxy only passes them through,
and the test can point the browser at the daemon itself.

usage: stub.py PORT_FILE DAEMON_PORT REPLAY_OUT [LOG]
Binds a free port on 127.0.0.1 and writes it to PORT_FILE; each route it
answers itself is appended to LOG, once."""
import http.server
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime

port_file, daemon_port, replay_out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
log_path = sys.argv[4] if len(sys.argv) > 4 else None
answered = set()

alerts = []
indicators = {}
for line in open(replay_out):
    r = json.loads(line)
    v = r["value"]
    if r["stream"] == "alerts":
        alerts.append(v)
    elif r["stream"] == "indicators":
        k = (json.dumps(v["group"], sort_keys=True), v["window_start"], v["window_end"])
        if k not in indicators or v["revision"] > indicators[k]["revision"]:
            indicators[k] = v


def secs(t):
    return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()


def segments(q):
    by = {}
    for v in indicators.values():
        length = int(secs(v["window_end"]) - secs(v["window_start"]))
        by.setdefault((json.dumps(v["group"], sort_keys=True), length), []).append(v)
    out = []
    for (_, length), recs in sorted(by.items()):
        recs.sort(key=lambda v: v["window_start"])
        last = recs[-1]
        out.append({"group": last["group"], "window_s": length,
                    "window_start": last["window_start"], "window_end": last["window_end"],
                    "csat": last["csat"], "nps": last["nps"], "ces": last["ces"],
                    "n": last["n"], "low_n": last["low_n"],
                    "trend": [{"window_start": v["window_start"], "csat": v["csat"],
                               "nps": v["nps"], "n": v["n"]} for v in recs],
                    "flags": []})
    return {"segments": out}


def cases(q):
    """The open cases: those a recovery.required or recovery.closed_loop
    alert opened, by deadline. None is overdue: the stream ends before any
    deadline."""
    state = q.get("state", "open")
    out = []
    for a in alerts:
        if a["type"] not in ("recovery.required", "recovery.closed_loop"):
            continue
        sev = next((r["value"] for r in a["reasons"] if r["factor"] == "severity"), None)
        c = {"case_id": a["case_id"], "customer_id": a["customer_id"], "segment": a["segment"],
             "state": "open", "opened_at": a["event_ts"], "updated_at": a["event_ts"],
             "severity": sev, "priority": a["priority"], "escalation_level": 0,
             "role": a["role"], "step": "opened", "next_deadline": a["deadline"],
             "overdue_s": 0, "actions": a["actions"], "category": None, "touchpoint": None}
        if state == "overdue" or (q.get("role") and c["role"] != q["role"]):
            continue
        if q.get("segment") and c["segment"] != q["segment"]:
            continue
        out.append(c)
    out.sort(key=lambda c: c["next_deadline"] or "")
    return {"cases": out[: int(q.get("limit", 100))], "total": len(out)}


def alert_list(q):
    out = [a for a in reversed(alerts)
           if (not q.get("type") or a["type"] == q["type"])
           and (not q.get("priority") or a["priority"] <= q["priority"])]
    return {"alerts": out[: int(q.get("limit", 100))]}


ROUTES = {"/v1/segments": segments, "/v1/cases": cases, "/v1/alerts": alert_list}


class Proxy(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = "http://127.0.0.1:%d%s" % (daemon_port, self.path)
        req = urllib.request.Request(url)
        if self.headers.get("Authorization"):
            req.add_header("Authorization", self.headers["Authorization"])
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return self.send(r.status, r.getheaders(), r.read())
        except urllib.error.HTTPError as e:
            status, headers, body = e.code, e.headers.items(), e.read()
        path, _, qs = self.path.partition("?")
        if status == 404 and path in ROUTES:
            q = dict(urllib.parse.parse_qsl(qs))
            body = json.dumps(ROUTES[path](q)).encode()
            if log_path and path not in answered:
                answered.add(path)
                with open(log_path, "a") as f:
                    f.write(path + "\n")
            return self.send(200, [("Content-Type", "application/json")], body)
        self.send(status, headers, body)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
