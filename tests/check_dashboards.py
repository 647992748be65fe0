#!/usr/bin/python3
"""The Grafana dashboards of deploy/grafana/, without a Grafana: each file
is JSON with a title and a uid of its own; its panels have distinct ids and
lie on the 24-column grid without overlapping; each target has a refId of
its own and an expression whose brackets and quotes balance; every
variable an expression uses is one the dashboard defines (or Grafana's
own); every cxpulse_* metric it names, in an expression or its text, is
one the daemon's sources export;
and, with promtool at hand, every expression parses as PromQL (each one a
recording rule of a scratch rules file, the variables replaced by
matchers).

usage: check_dashboards.py SOURCE_DIR"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

GRAFANA_VARS = {"__all", "__rate_interval", "__interval", "__range", "__interval_ms"}

src = sys.argv[1]
fails = []


def fail(msg):
    fails.append(msg)


def exported_names():
    """The cxpulse_* names the daemon's C sources spell as string literals."""
    names = set()
    for path in glob.glob(os.path.join(src, "daemon", "**", "*.c"), recursive=True):
        names |= set(re.findall(r'"(cxpulse_[a-z_0-9]+)"', open(path).read()))
    return names


def balanced(expr):
    stack, quote = [], None
    pairs = {")": "(", "]": "[", "}": "{"}
    for ch in expr:
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                return False
    return not stack and quote is None


def base(name, have):
    for suf in ("_bucket", "_sum", "_count"):
        if name.endswith(suf) and name[: -len(suf)] in have:
            return name[: -len(suf)]
    return name


def check(path, have, seen_uids, exprs):
    name = os.path.basename(path)
    try:
        d = json.load(open(path))
    except ValueError as e:
        return fail("%s: not JSON: %s" % (name, e))
    for k in ("title", "uid", "schemaVersion", "panels", "templating"):
        if k not in d:
            fail("%s: no %s" % (name, k))
    if d.get("uid") in seen_uids:
        fail("%s: uid %s is another dashboard's" % (name, d.get("uid")))
    seen_uids.add(d.get("uid"))
    defined = {v["name"] for v in d.get("templating", {}).get("list", [])} | GRAFANA_VARS
    ids, cells = set(), {}
    for p in d.get("panels", []):
        what = "%s: panel %s (%s)" % (name, p.get("id"), p.get("title"))
        if p.get("id") in ids:
            fail(what + ": id used twice")
        ids.add(p.get("id"))
        g = p.get("gridPos", {})
        x, y, w, h = (g.get(k) for k in ("x", "y", "w", "h"))
        if not all(isinstance(v, int) for v in (x, y, w, h)) or x < 0 or y < 0 or w < 1 \
                or h < 1 or x + w > 24:
            fail(what + ": gridPos %s off the 24-column grid" % g)
            continue
        for cx in range(x, x + w):
            for cy in range(y, y + h):
                if (cx, cy) in cells:
                    fail(what + ": overlaps panel %s" % cells[(cx, cy)])
                    break
                cells[(cx, cy)] = p.get("id")
            else:
                continue
            break
        if p.get("type") == "row":
            continue
        refs = [t.get("refId") for t in p.get("targets", [])]
        if not refs or len(set(refs)) != len(refs) or None in refs:
            fail(what + ": targets' refIds %s" % refs)
        for t in p.get("targets", []):
            e = t.get("expr", "")
            if not e or not balanced(e):
                fail(what + ": expression %r" % e)
            for v in re.findall(r"\$\{?(\w+)", e):
                if v not in defined:
                    fail(what + ": variable $%s not defined" % v)
            for m in set(re.findall(r"cxpulse_[a-z_0-9]+", e)):
                if base(m, have) not in have:
                    fail(what + ": %s is not a metric the daemon exports" % m)
            exprs.append((what, e))
    if not ids:
        fail(name + ": no panels")
    # Titles and descriptions too: a name spelt there is a name the live
    # check of crossproc.sh looks for.
    for m in sorted(set(re.findall(r"cxpulse_[a-z_0-9]+", open(path).read()))):
        if base(m, have) not in have:
            fail("%s: %s (in its text) is not a metric the daemon exports" % (name, m))


def promql(exprs):
    """Each expression, its variables replaced, as a recording rule."""
    promtool = shutil.which("promtool")
    if not promtool:
        print("dashboards: no promtool, PromQL not parsed")
        return
    with tempfile.TemporaryDirectory() as tmp:
        rules = os.path.join(tmp, "rules.yml")
        with open(rules, "w") as f:
            f.write("groups:\n  - name: dashboards\n    rules:\n")
            for i, (_, e) in enumerate(exprs):
                e = re.sub(r'=~"\$\{?\w+\}?"', '=~".*"', e)
                e = re.sub(r"\$\{?__\w+\}?", "5m", e)
                f.write("      - record: dashboard_expr_%d\n        expr: %s\n"
                        % (i, json.dumps(e)))
        r = subprocess.run([promtool, "check", "rules", rules], capture_output=True, text=True)
        if r.returncode != 0:
            fail("promtool check rules on the expressions: %s" % (r.stdout + r.stderr)[-1500:])


have = exported_names()
if len(have) < 20:
    fail("found only %d cxpulse_* names in daemon/: the source search is broken" % len(have))
paths = sorted(glob.glob(os.path.join(src, "deploy", "grafana", "*.json")))
uids, exprs = set(), []
for path in paths:
    check(path, have, uids, exprs)
promql(exprs)
for f in fails:
    print("FAIL: " + f)
print("dashboards: %d files, %d expressions, %d metric names exported; %d failures"
      % (len(paths), len(exprs), len(have), len(fails)))
sys.exit(1 if fails else 0)
