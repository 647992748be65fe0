#!/usr/bin/env bash
# The console in a real browser: `cxpulse run` against `cxpulse mock-cluster`
# is fed tests/browser/stream.py's events (kcat), then Debian's chromium,
# headless, loads the page the daemon serves, lets its script poll for a
# few seconds of virtual time, and dumps the DOM it rendered. The dump must
# show what the stream's outcomes are, worked out by hand (stream.py says
# why):
#  - the page's files come with their types, no-cache and the strict policy;
#  - the page's data came from the daemon's own routes: /v1/segments,
#    /v1/cases and /v1/alerts answer 200 with JSON;
#  - the queue has case case-b1 of customer b1 (severity 2, P1,
#    frontline_agent, actions acknowledge ... follow_up), overdue by the
#    wall clock (its deadline is in 2026-11) as state=overdue judges it;
#  - the segment row segment=gold of the minute window: CSAT 75.0, NPS
#    -100.0, low n "csat nps";
#  - b2's recovery.closed_loop alert with its reasons, nps_score = 2 first;
#  - the customer view of b1 (the page opened at #customer=b1): his id,
#    his churn band, one case open and its record, case-b1 at its first
#    step (acknowledge, due at 08:30:40: 60 minutes for severity 2, halved
#    for a gold customer);
#  - the customer id <script>alert(1)</script> shows as text in the queue,
#    the alerts and his own view (the page opened at his id, encoded), and
#    the page holds no script element but its own;
#  - a second daemon with http.token set: the page asks for the token and
#    shows no data.
# A screenshot goes to BUILD_DIR/console.png. Exit 77 (skipped) when
# chromium is not installed, 1 when it is not and CI is set.
# usage: console.sh CXPULSE_BIN SOURCE_DIR BUILD_DIR
set -u
BIN=$1
SRC=$2
OUT=$3
PY=/usr/bin/python3
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
  # make check installs it: under CI a missing browser is a failure, not a skip
  [ -n "${CI:-}" ] && { echo "FAIL: no chromium under CI (make check installs it)"; exit 1; }
  echo "skip: no chromium (Debian's chromium package)"; exit 77
fi
W=$(mktemp -d)
pids=()
cleanup() {
  # (the shell's "Killed" notes about them go to /dev/null too)
  { for p in "${pids[@]}"; do kill -9 "$p"; done; wait; } 2>/dev/null
  [ -n "${KEEP:-}" ] && { echo "kept $W"; return; }
  rm -rf "$W"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# One input partition: its watermark alone decides when a window closes, so
# the 08:20 event closes the 08:00 minute whichever customer it is keyed by.
"$BIN" mock-cluster --topic cx.events:1 --topic cx.alerts:1 --topic cx.indicators:1 \
  --topic cx.dead_letters:1 --topic cx.indicators.partials:1 --topic cx.state.changelog:1 --topic cx.cases:1 \
  >"$W/mock.out" 2>"$W/mock.err" &
pids+=($!)
for _ in $(seq 300); do [ -s "$W/mock.out" ] && break; sleep 0.1; done
BS=$(head -1 "$W/mock.out")
[ -n "$BS" ] || fail "mock cluster did not start: $(cat "$W/mock.err")"

$PY "$SRC/tests/browser/stream.py" "$W/events.kv" "$W/events.jsonl"
N=$(wc -l <"$W/events.jsonl")
kcat -P -b "$BS" -t cx.events -K $'\t' -l "$W/events.kv" || fail "kcat could not produce"

port=
start_daemon() { # NAME [EXTRA_CONFIG]: sets port
  cat >"$W/$1.json" <<JSON
{"pipeline": "$SRC/pipelines/default.json", "log": {"level": "info"},
 "http": {"port": 0 ${2:-}}, "kafka": {"bootstrap.servers": "$BS",
 "consumer": {"group.id": "console-$1"}}}
JSON
  "$BIN" run --config "$W/$1.json" 2>"$W/$1.log" &
  local dpid=$!
  pids+=($dpid)
  port=
  for _ in $(seq 200); do
    port=$(sed -n 's|.*admin endpoint on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$W/$1.log" |
           head -1)
    [ -n "$port" ] && break
    kill -0 "$dpid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] || fail "daemon $1 did not open its admin endpoint: $(tail -5 "$W/$1.log")"
}
start_daemon open
# Every event applied before the browser looks (at most 30 s).
$PY - "$port" "$N" <<'PYEOF' || fail "the daemon did not apply the $N events"
import json, sys, time, urllib.request
end = time.time() + 30
while True:
    st = json.load(urllib.request.urlopen("http://127.0.0.1:%s/v1/status" % sys.argv[1]))
    if st["applied"] == int(sys.argv[2]):
        break
    if time.time() > end:
        sys.exit("status: %s" % st)
    time.sleep(0.1)
PYEOF

# The files, straight from the daemon.
$PY - "$port" <<'PYEOF' || fail "the console's files and their headers"
import sys, urllib.request
port = sys.argv[1]
want = {"/": "text/html; charset=utf-8", "/console.css": "text/css; charset=utf-8",
        "/console.js": "text/javascript; charset=utf-8"}
bad = 0
for path, ctype in want.items():
    r = urllib.request.urlopen("http://127.0.0.1:%s%s" % (port, path), timeout=5)
    h = r.headers
    csp = h.get("Content-Security-Policy", "")
    ok = (r.status == 200 and h.get("Content-Type") == ctype
          and h.get("Cache-Control") == "no-cache" and "default-src 'none'" in csp
          and "script-src 'self';" in csp and "unsafe-inline" not in csp
          and h.get("X-Content-Type-Options") == "nosniff" and len(r.read()) > 500)
    if not ok:
        print("%s: %s %s" % (path, r.status, dict(h)))
        bad += 1
sys.exit(bad)
PYEOF

# The console's routes are the daemon's own, as JSON.
$PY - "$port" <<'PYEOF' || fail "the console's routes"
import json, sys, urllib.request
for path in ("/v1/segments", "/v1/cases", "/v1/alerts"):
    r = urllib.request.urlopen("http://127.0.0.1:%s%s" % (sys.argv[1], path), timeout=5)
    body = json.load(r)
    if r.status != 200 or r.headers.get("Content-Type") != "application/json" or not body:
        sys.exit("%s: %s %s" % (path, r.status, body))
PYEOF
URL="http://127.0.0.1:$port/#customer=b1"

# Headless, as root too (no sandbox then), its profile in the scratch
# directory; 10 s of virtual time: the first poll and three more. The
# page's console goes to chrome.err: no script error and nothing the policy
# refused may be there.
chrome() {
  timeout 40 "$CHROME" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --user-data-dir="$W/profile" --window-size=1400,1300 \
    --enable-logging=stderr --v=0 --virtual-time-budget=10000 "$@" 2>>"$W/chrome.err"
}
console_clean() { # WHAT
  ! grep -E ':CONSOLE.*(Uncaught|Content Security Policy|Refused to)' "$W/chrome.err" ||
    fail "$1: errors in the page's console"
}
chrome --dump-dom "$URL" >"$W/dom.html" || fail "chromium --dump-dom: $(tail -5 "$W/chrome.err")"
chrome --screenshot="$OUT/console.png" "$URL" >/dev/null ||
  echo "note: no screenshot: $(tail -3 "$W/chrome.err")"
cp "$W/dom.html" "$OUT/console-dom.html"
console_clean "the console"

$PY - "$W/dom.html" <<'PYEOF' || fail "the rendered page (DOM in $OUT/console-dom.html)"
import calendar, sys, time
from html.parser import HTMLParser

class Rows(HTMLParser):
    """Each tr's classes, attributes and its cells' texts (a cell's list
    items joined by " | "); the dl pairs of the customer view; the script
    elements."""
    def __init__(self):
        super().__init__()
        self.rows, self.scripts, self.dl, self.text = [], [], [], {}
        self.stack = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts.append(a.get("src"))
        if tag == "tr":
            self.rows.append({"class": a.get("class", "").split(), "attrs": a, "cells": []})
        if tag in ("td", "th") and self.rows:
            self.rows[-1]["cells"].append([a.get("class", ""), ""])
        if tag == "li" and self.rows and self.rows[-1]["cells"]:
            cell = self.rows[-1]["cells"][-1]
            if cell[1]:
                cell[1] += " | "
        if tag in ("dt", "dd"):
            self.dl.append("")
        self.stack.append((tag, a.get("id"), a.get("class", "")))
    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break
    def handle_data(self, data):
        if not self.stack:
            return
        tags = [t for t, _, _ in self.stack]
        if ("td" in tags or "th" in tags) and self.rows and self.rows[-1]["cells"]:
            self.rows[-1]["cells"][-1][1] += data
        if tags[-1] in ("dt", "dd") and self.dl:
            self.dl[-1] += data
        for t, i, c in self.stack:
            if i:
                self.text[i] = self.text.get(i, "") + data

p = Rows()
p.feed(open(sys.argv[1]).read())
fails = []
def check(cond, what):
    if not cond:
        fails.append(what)
def cells(row):
    """A row's cells by each of their classes ("num csat": "num" and "csat")."""
    return {k: t.strip() for c, t in row["cells"] for k in c.split()}

XSS = "<script>alert(1)</script>"
cases = [cells(r) for r in p.rows if "case" in r["class"]]
b1 = [c for c in cases if c.get("case-id") == "case-b1"]
check(len(b1) == 1, "one queue row for case-b1: %s" % cases)
if b1:
    c = b1[0]
    check(c["customer"] == "b1" and c["segment"] == "gold" and c["severity"] == "2"
          and c["priority"] == "P1" and c["role"] == "frontline_agent"
          and c["deadline"] == "2026-11-23 08:30:40"
          and c["actions"] == "acknowledge | apologize | restore_service | follow_up",
          "case-b1's row: %s" % c)
    # Overdue by the clock since 08:30:40 on 2026-11-23: days and hours.
    late = time.time() - calendar.timegm((2026, 11, 23, 8, 30, 40))
    want = "%dd %dh" % (late // 86400, late % 86400 // 3600) if late >= 86400 else None
    row = next(r for r in p.rows if "case" in r["class"] and cells(r) == c)
    check(want is None or ("overdue" in row["class"] and c["overdue"] in (
          want, "%dd %dh" % ((late - 60) // 86400, (late - 60) % 86400 // 3600))),
          "case-b1 overdue by %s: %s %s" % (want, row["class"], c["overdue"]))
check(any(c.get("case-id") == "case-x" and c.get("customer") == XSS for c in cases),
      "case-x's row shows the customer id %s as text: %s" % (XSS, cases))

segs = [cells(r) for r in p.rows if "segment" in r["class"]]
gold = [s for s in segs if s.get("group") == "segment=gold" and s.get("window") == "1m"]
check(len(gold) == 1, "one segment row segment=gold of 1m: %s" % segs)
if gold:
    s = gold[0]
    check(s["csat"] == "75.0" and s["nps"] == "-100.0" and s["ces"] == "–"
          and s["low-n"] == "csat nps" and s["ends"] == "2026-11-23 08:01:00",
          "gold's minute: CSAT, NPS, CES, low n, end: %s" % s)

alerts = [cells(r) for r in p.rows if "alert" in r["class"]]
cl = [a for a in alerts if a.get("type") == "recovery.closed_loop"]
check(len(cl) == 1 and cl[0]["customer"] == "b2"
      and cl[0]["reasons"].startswith("nps_score = 2 (1) | nps_decayed_mean = 2"),
      "b2's closed-loop alert and its reasons: %s" % cl)
check(any(a.get("customer") == XSS and a.get("type") == "recovery.required" for a in alerts),
      "the alert of %s shows its id as text: %s" % (XSS, alerts))

view = p.text.get("customer-view", "")
check(view.startswith("b1 segment gold"), "the customer view of b1: %r" % view[:200])
pairs = dict(zip(p.dl[0::2], p.dl[1::2]))
check(pairs.get("open") == "1" and "indicators" not in pairs and "csat" in pairs,
      "b1's indicators and one case open: %s" % pairs)
# His case's record: opened at 08:00:40, at its first step; a severity 2
# case is to be acknowledged within 60 minutes, halved for a premium (gold)
# customer (recovery.sla.premium_factor 0.5): due at 08:30:40; nothing
# escalated yet.
check(view.endswith("case-b1 · failure · open · acknowledge · operational · checkout · "
                    "severity 2 · P1 · level 0 · opened 2026-11-23 08:00:40 · "
                    "due 2026-11-23 08:30:40"),
      "b1's case record case-b1: %r" % view[-300:])
check("band" in view, "b1's churn band: %r" % view[:400])

check(p.scripts == ["/console.js"], "no script element but the console's: %s" % p.scripts)
check(p.text.get("status", "").startswith("updated "), "status: %r" % p.text.get("status"))
for f in fails:
    print("  " + f)
print("console: %d queue rows, %d segment rows, %d alerts, customer view %s; %d checks failed"
      % (len(cases), len(segs), len(alerts), "shown" if view else "empty", len(fails)))
sys.exit(1 if fails else 0)
PYEOF

# The customer whose id is markup, looked up by the page's address: his
# id percent-encoded in the route's path, shown as text in his view.
chrome --dump-dom "http://127.0.0.1:$port/#customer=%3Cscript%3Ealert(1)%3C%2Fscript%3E" \
  >"$W/dom-xss.html" || fail "chromium --dump-dom (markup id): $(tail -5 "$W/chrome.err")"
$PY - "$W/dom-xss.html" <<'PYEOF' || fail "the view of the customer whose id is markup"
import sys
dom = open(sys.argv[1]).read()
want = ('<strong class="customer-id">&lt;script&gt;alert(1)&lt;/script&gt;</strong> '
        'segment gold')
scripts = dom.count("<script")
if want not in dom or scripts != 1:
    print("  the view: %r; %d script elements" % (dom[dom.find('customer-view'):][:300], scripts))
    sys.exit(1)
PYEOF

# With http.token set, the page asks for it and shows nothing of the data.
start_daemon token ', "token": "s3cret-console"'
chrome --dump-dom "http://127.0.0.1:$port/" >"$W/dom-token.html" ||
  fail "chromium --dump-dom (token): $(tail -5 "$W/chrome.err")"
console_clean "the console of a daemon with a token"
$PY - "$W/dom-token.html" <<'PYEOF' || fail "the page of a daemon with a token"
import re, sys
dom = open(sys.argv[1]).read()
form = re.search(r'<form id="token-form"[^>]*>', dom)
bad = []
if not form or "hidden" in form.group(0):
    bad.append("the token form is not shown: %s" % (form and form.group(0)))
if 'waiting for the access token</span>' not in dom:
    bad.append("the status does not ask for the token")
if re.search(r'<tr class="(case|alert|segment)', dom):
    bad.append("data rows shown without the token")
for b in bad:
    print("  " + b)
sys.exit(1 if bad else 0)
PYEOF
echo "console: the page rendered the stream's case, segment, alert and customer; asked for a token"
