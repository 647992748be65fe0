#!/usr/bin/env bash
# The JSON Schemas of schemas/ against the files and the daemon they describe.
#
# usage: check_schemas.sh CXPULSE_BIN SOURCE_DIR
#
#  (a) the schemas themselves (2020-12, $id, descriptions); pipelines/default.json
#      and deploy/cxpulse.json (when present) against their schemas; the
#      pipeline and config schemas against the daemon's settings tables (every
#      setting, its type, default and bounds, as `cxpulse config-doc` prints
#      them) and against what `cxpulse check-pipeline` / `check-config`
#      accept at and beyond each bound;
#  (b) tests/data/events.jsonl is valid; every line of tests/data/bad_events.jsonl
#      is not (or is not JSON);
#  (c) `cxpulse replay` over events.jsonl + bad_events.jsonl + one generated
#      oversized event: every output line is valid replay output;
#  (e) the breach digest's example (docs/domain.md section 5.10) replayed
#      with the digest on and off;
#  (d) the outcomes: one dead letter per bad line, with the reasons of
#      tests/data/bad_events.expected (then too_large), the line as offset and
#      the original bytes as payload; closed-loop alerts for exactly the
#      detractor responses the domain rules call for (consent, duplicates,
#      cooldown), none for the customer without consent; deterministic output.
#
# Prints one line per check and "N passed, N failed" last; exits 1 when any
# check failed. Needs /usr/bin/python3 with python3-jsonschema (Debian).
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 CXPULSE_BIN SOURCE_DIR" >&2
  exit 2
fi
BIN=$1
SRC=$2
PY=/usr/bin/python3
SCHEMAS=$SRC/schemas
DATA=$SRC/tests/data
PIPELINE=$SRC/pipelines/default.json
VALIDATE=("$PY" "$SRC/tests/validate.py")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/check_schemas.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0

# check NAME COMMAND...: runs the command, counts it, shows its output on failure.
check() {
  local name=$1
  shift
  if "$@" >"$TMP/log" 2>&1; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    sed -e 's/^/     /' "$TMP/log" | head -n 60
  fi
}

for f in "$BIN" "$PY" "$SRC/tests/validate.py" "$PIPELINE" "$DATA/events.jsonl" \
         "$DATA/bad_events.jsonl" "$DATA/bad_events.expected"; do
  if [ ! -e "$f" ]; then
    echo "FAIL missing: $f"
    echo "0 passed, 1 failed"
    exit 1
  fi
done

# ---------------------------------------------------------------- (a) files

schemas_well_formed() {
  "$PY" - "$SCHEMAS" <<'EOF'
import glob, json, os, sys
from jsonschema import Draft202012Validator
bad = 0
kinds = ["event", "alert", "dead_letter", "indicator", "case", "pipeline", "config",
         "replay_output"]
for k in kinds:
    if not os.path.exists(os.path.join(sys.argv[1], k + ".schema.json")):
        print("missing schemas/%s.schema.json" % k); bad += 1
ids = {}
def undocumented(node, path, out, skip=False):
    # Every member a schema declares carries a description, except inside
    # conditions and alternatives (if/then/else/oneOf/anyOf/not), which
    # restate members already described.
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "properties" and isinstance(v, dict) and not skip:
                out += [path + "/properties/" + p for p, s in v.items()
                        if isinstance(s, dict) and "description" not in s]
            undocumented(v, path + "/" + k, out,
                         skip or k in ("if", "then", "else", "oneOf", "anyOf", "not"))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            undocumented(v, "%s/%d" % (path, i), out, skip)
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.schema.json"))):
    name = os.path.basename(path)
    s = json.load(open(path, encoding="utf-8"))
    Draft202012Validator.check_schema(s)
    if s.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
        print("%s: $schema is not draft 2020-12" % name); bad += 1
    if not s.get("$id", "").endswith("/" + name):
        print("%s: $id %r does not name the file" % (name, s.get("$id"))); bad += 1
    if s.get("$id") in ids:
        print("%s: $id also used by %s" % (name, ids[s["$id"]])); bad += 1
    ids[s.get("$id")] = name
    if not s.get("description"):
        print("%s: no description" % name); bad += 1
    out = []
    undocumented(s, "", out)
    for p in out:
        print("%s: %s has no description" % (name, p)); bad += 1
sys.exit(1 if bad else 0)
EOF
}
check "schemas: 2020-12, \$id, descriptions" schemas_well_formed

check "pipelines/default.json matches pipeline.schema.json" \
  "${VALIDATE[@]}" "$SCHEMAS" pipeline "$PIPELINE"
check "cxpulse check-pipeline accepts pipelines/default.json" \
  "$BIN" check-pipeline "$PIPELINE"
if [ -f "$SRC/deploy/cxpulse.json" ]; then
  check "deploy/cxpulse.json matches config.schema.json" \
    "${VALIDATE[@]}" "$SCHEMAS" config "$SRC/deploy/cxpulse.json"
else
  echo "skip deploy/cxpulse.json (absent)"
fi

# The schemas against the settings tables: `cxpulse config-doc` prints every
# setting of daemon/shell/config.c and daemon/core/pipeline.c with type, default, bounds.
settings_agree() {
  "$BIN" config-doc >"$TMP/config-doc.md" || return 1
  "$PY" - "$SCHEMAS" "$TMP/config-doc.md" <<'EOF'
import json, os, re, sys
schemas, doc = sys.argv[1], open(sys.argv[2], encoding="utf-8").read()
sections = {"config": doc.split("## Pipeline file")[0], "pipeline": doc.split("## Pipeline file")[1]}
bad = 0
def err(msg):
    global bad
    print(msg); bad += 1
TYPES = {"string": "string", "int": "integer", "number": "number", "bool": "boolean", "list": "array",
         "matrix": "array"}
row = re.compile(r"^\| `([^`]+)` \| (\w+) \| `(.*)` \| (.*?) \| (.*) \|$")
for kind, text in sections.items():
    schema = json.load(open(os.path.join(schemas, kind + ".schema.json"), encoding="utf-8"))
    table = {}
    for line in text.splitlines():
        m = row.match(line)
        if m:
            table[m.group(1)] = m.groups()[1:]
    if not table:
        err("%s: no settings found in config-doc" % kind)
    # Every setting of the table is in the schema, as it is in the table.
    for name, (typ, default, bounds, desc) in table.items():
        node = schema
        for part in name.split("."):
            node = node.get("properties", {}).get(part)
            if node is None:
                break
        if node is None:
            err("%s: setting %s is not in %s.schema.json" % (kind, name, kind)); continue
        if node.get("type") != TYPES[typ]:
            err("%s: %s: type %r, the daemon says %s" % (kind, name, node.get("type"), typ))
        if node.get("default") != json.loads(default):
            err("%s: %s: default %r, the daemon says %s" % (kind, name, node.get("default"), default))
        m = re.match(r"(?:length )?([-0-9.e+]+)\.\.([-0-9.e+]+)(?: entries)?$", bounds)
        if typ == "bool":
            continue
        # A matrix: N rows of N integers, each within the bounds.
        if typ == "matrix":
            mm = re.match(r"(\d+)x(\d+) of ([-0-9.e+]+)\.\.([-0-9.e+]+)$", bounds)
            rows = node.get("items", {})
            cell = rows.get("items", {})
            if (mm is None or mm.group(1) != mm.group(2) or
                    (node.get("minItems"), node.get("maxItems")) != (int(mm.group(1)),) * 2 or
                    (rows.get("minItems"), rows.get("maxItems")) != (int(mm.group(2)),) * 2 or
                    cell.get("type") != "integer" or
                    (cell.get("minimum"), cell.get("maximum")) != (float(mm.group(3)), float(mm.group(4)))):
                err("%s: %s: the schema's rows, columns or entries differ from %s" % (kind, name, bounds))
            continue
        if m is None:
            err("%s: %s: cannot read the bounds %r" % (kind, name, bounds)); continue
        lo, hi = float(m.group(1)), float(m.group(2))
        # A setting the table holds to a list of values: the schema's enum
        # is that list.
        ch = re.search(r"One of: (.*)\.$", desc)
        if ch and re.findall(r"`([^`]*)`", ch.group(1)) != node.get("enum"):
            err("%s: %s: enum %r, the daemon says %s" % (kind, name, node.get("enum"), ch.group(1)))
        if typ == "string" and "enum" in node:
            if not all(lo <= len(v) <= hi for v in node["enum"]):
                err("%s: %s: an enum value is outside the lengths %s" % (kind, name, bounds))
            continue
        keys = {"string": ("minLength", "maxLength"), "list": ("minItems", "maxItems")}.get(
            typ, ("minimum", "maximum"))
        got = (node.get(keys[0], 0 if typ == "list" else None), node.get(keys[1]))
        if got != (lo, hi):
            err("%s: %s: bounds %s..%s, the daemon says %s" % (kind, name, got[0], got[1], bounds))
    # And the schema has no setting the table lacks.
    def leaves(node, prefix):
        for k, v in node.get("properties", {}).items():
            if prefix == "" and k in ("$schema", "description", "kafka"):
                continue
            # An array the loader validates itself (cases.c, churn.c, ahp.c).
            if prefix + k in ("recovery.solutions", "recovery.sla_matrix", "churn.actions",
                              "satisfaction_index.pairwise"):
                continue
            if v.get("type") == "object":
                yield from leaves(v, prefix + k + ".")
            else:
                yield prefix + k
    for name in leaves(schema, ""):
        if name not in table:
            err("%s: %s.schema.json has %s, which the daemon does not know" % (kind, kind, name))
sys.exit(1 if bad else 0)
EOF
}
check "pipeline and config schemas match the settings tables (config-doc)" settings_agree

# The schemas and the daemon's loaders agree at and beyond every bound: each
# setting set to its minimum, maximum, one step outside, and a wrong type, in
# an otherwise default file; the schema must accept exactly what
# check-pipeline / check-config accept.
loaders_agree() {
  "$PY" - "$BIN" "$SRC" "$TMP" <<'EOF'
import json, os, re, subprocess, sys
sys.path.insert(0, os.path.join(sys.argv[2], "tests"))
import validate
from jsonschema import Draft202012Validator
binary, src, tmp = sys.argv[1:]
doc = subprocess.run([binary, "config-doc"], capture_output=True, text=True, check=True).stdout
parts = {"config": doc.split("## Pipeline file")[0], "pipeline": doc.split("## Pipeline file")[1]}
pipeline_path = os.path.abspath(os.path.join(src, "pipelines", "default.json"))
row = re.compile(r"^\| `([^`]+)` \| (\w+) \| `(.*)` \| (.*?) \| (.*) \|$")
bad = compared = 0

def nested(name, value, base):
    doc = json.loads(json.dumps(base))
    node = doc
    keys = name.split(".")
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value
    return doc

def pad_path(n):
    # An existing path to the default pipeline, n bytes long (slashes repeat).
    d, f = os.path.split(pipeline_path)
    k = n - len(d) - len(f)
    return d + "/" * k + f if k >= 1 else None

for kind, text in parts.items():
    schema = json.load(open(os.path.join(src, "schemas", kind + ".schema.json")))
    v = Draft202012Validator(schema, format_checker=validate.make_format_checker())
    base = ({"pipeline": pipeline_path, "kafka": {"bootstrap.servers": "localhost:9092"}}
            if kind == "config" else {})
    for line in text.splitlines():
        m = row.match(line)
        if not m:
            continue
        name, typ, default, bounds = m.group(1), m.group(2), json.loads(m.group(3)), m.group(4)
        b = re.match(r"(?:length )?([-0-9.e+]+)\.\.([-0-9.e+]+)", bounds)
        lo, hi = (float(b.group(1)), float(b.group(2))) if b else (None, None)
        cases = []
        if typ == "bool":
            cases = [True, False, "yes", 1]
        elif typ in ("int", "number"):
            step = 1 if typ == "int" or lo >= 1 or lo == 0 else lo / 2
            cases = [lo, hi, lo - step, hi + 1, str(default)]
            if typ == "int":
                cases += [lo + 0.5]
        elif typ == "string":
            s = default if isinstance(default, str) and default else "x"
            mk = lambda n: (s * (n // len(s) + 1))[:n]
            if name == "pipeline":
                cases = [pad_path(int(hi)), pad_path(int(hi) + 1), 7]
            else:
                cases = [mk(int(lo)), mk(int(hi)), mk(int(hi) + 1), 7]
                if lo > 0:
                    cases.append(mk(int(lo) - 1))
        elif typ == "matrix":
            # The default, each entry at and beyond the bounds, a fraction, a
            # row short, a row too many, a string. Whether the rows and
            # columns rise (the loader's check) is beyond the schema: every
            # case here keeps the default's order.
            mm = re.match(r"(\d+)x\d+ of ([-0-9.e+]+)\.\.([-0-9.e+]+)$", bounds)
            n, lo, hi = int(mm.group(1)), float(mm.group(2)), float(mm.group(3))
            flat = lambda x: [[x] * n for _ in range(n)]
            cases = [default, flat(int(lo)), flat(int(hi)), flat(int(lo) - 1), flat(int(hi) + 1),
                     flat(lo + 0.5), default[:-1], default + [default[-1]],
                     [r[:-1] for r in default], "x", [["1"] * n] * n]
        elif typ == "list":
            cases = [["a%d" % i for i in range(int(lo))], ["a%d" % i for i in range(int(hi))],
                     ["a%d" % i for i in range(int(hi) + 1)], "a", ["a", ""], ["a", 3]]
            if lo > 0:
                cases.append(["a%d" % i for i in range(int(lo) - 1)])
        for value in cases:
            if value is None:
                continue
            extra = {}
            # The one rule between settings: backpressure.low < backpressure.high.
            if name == "backpressure.high":
                extra = {"backpressure": {"low": 0}}
            if name == "backpressure.low":
                if value == hi:
                    continue
                extra = {"backpressure": {"high": int(1e7)}}
            # Churn bands: 0 < medium < high < 1, the hysteresis under half the
            # medium band and under the distance to 0 and 1: the other two are
            # set to fit the value tried.
            if name.startswith("churn.bands.") and isinstance(value, (int, float)) and not isinstance(value, bool):
                if name.endswith("medium"):
                    extra = {"churn": {"bands": {"high": min(0.99, value + 0.5), "hysteresis": 0}}}
                elif name.endswith("high"):
                    extra = {"churn": {"bands": {"medium": max(0.005, value / 2), "hysteresis": 0}}}
                else:
                    extra = {"churn": {"bands": {"medium": 0.45, "high": 0.55 + 2 * max(value, 0)}}}
                    if lo <= value <= hi and 0.55 + 2 * value >= 1 - value:
                        continue
            # Escalation rises: level1 < level2 < level3 < abandon_factor. The
            # others are set around the value tried (halving below it,
            # doubling above); an extreme no such order fits is skipped.
            esc = ["recovery.escalation.level1", "recovery.escalation.level2",
                   "recovery.escalation.level3", "recovery.abandon_factor"]
            if name in esc and isinstance(value, (int, float)) and not isinstance(value, bool):
                i = esc.index(name)
                others = {n: value * 2.0 ** (j - i) for j, n in enumerate(esc) if j != i}
                top = {n: (128 if n.endswith("abandon_factor") else 64) for n in esc}
                if lo <= value <= hi and any(not 0.1 <= x <= top[n] for n, x in others.items()):
                    continue
                rec = {"escalation": {}}
                for n, x in others.items():
                    if n.endswith("abandon_factor"):
                        rec["abandon_factor"] = x
                    else:
                        rec["escalation"][n.split(".")[-1]] = x
                extra = {"recovery": rec}
            d = nested(name, value, dict(base, **extra))
            path = os.path.join(tmp, "loader.json")
            with open(path, "w") as f:
                json.dump(d, f)
            cmd = [binary, "check-config" if kind == "config" else "check-pipeline", path]
            daemon_ok = subprocess.run(cmd, capture_output=True).returncode == 0
            compared += 1
            schema_ok = v.is_valid(d)
            if daemon_ok != schema_ok:
                bad += 1
                print("%s %s=%s: the daemon %s it, the schema %s it" % (
                    kind, name, json.dumps(value)[:60], "accepts" if daemon_ok else "rejects",
                    "accepts" if schema_ok else "rejects"))
    # Unknown keys: both reject.
    d = dict(base, unknown_setting=1)
    path = os.path.join(tmp, "loader.json")
    json.dump(d, open(path, "w"))
    cmd = [binary, "check-config" if kind == "config" else "check-pipeline", path]
    if subprocess.run(cmd, capture_output=True).returncode == 0 or v.is_valid(d):
        bad += 1
        print("%s: an unknown key is not rejected by both" % kind)
print("%d files compared, %d disagreements" % (compared, bad))
sys.exit(1 if bad or compared < 50 else 0)
EOF
}
check "pipeline and config schemas accept what the daemon's loaders accept" loaders_agree

# ---------------------------------------------------------------- (b) events

check "tests/data/events.jsonl matches event.schema.json" \
  "${VALIDATE[@]}" "$SCHEMAS" event "$DATA/events.jsonl"
check "every line of tests/data/bad_events.jsonl fails event.schema.json" \
  "${VALIDATE[@]}" --expect-invalid "$SCHEMAS" event "$DATA/bad_events.jsonl"

# The event schema accepts exactly what the decoder accepts: every sample
# event of each type with each field set to each of a pool of awkward values
# (or removed), replayed, and judged by the schema. A late dead letter counts
# as accepted: lateness is no matter for the schema.
decoder_agrees() {
  "$PY" - "$BIN" "$SRC" <<'EOF'
import json, os, subprocess, sys
binary, src = sys.argv[1:]
sys.path.insert(0, os.path.join(src, "tests"))
import validate
from jsonschema import Draft202012Validator
schema = json.load(open(os.path.join(src, "schemas", "event.schema.json"), encoding="utf-8"))
v = Draft202012Validator(schema, format_checker=validate.make_format_checker())
samples = {}
for line in open(os.path.join(src, "tests", "data", "events.jsonl"), encoding="utf-8"):
    e = json.loads(line)
    samples.setdefault(e["type"], e)
fields = ["event_id", "type", "customer_id", "ts", "channel", "segment", "agent_id",
          "touchpoint", "case_id", "score", "dimensions", "wait_s", "handle_s", "resolved",
          "sentiment", "category", "severity", "kano", "attribute", "detected_by", "amount",
          "root_cause_fixed", "count", "referred_id", "kind", "clv", "consent", "likelihood",
          "impact"]
pool = [None, "", "x", "x" * 64, "x" * 65, "x" * 128, "x" * 129, 0, -1, -0.5, 0.5, 1, 2, 4,
        5, 6, 7, 7.5, 8, 10, 11, 1e9, 1e9 + 1, 1e12, 1e12 + 1, True, False, [], {},
        "must_be", "promise", "provider", "survey.csat", "complaint",
        "2026-11-23 07:00:00Z", "2026-11-23t07:00:00z", "2026-11-23T07:00:00.123456Z",
        "2026-11-23T07:00:60Z", "2024-02-29T00:00:00Z", "2026-02-29T00:00:00Z",
        "2000-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2099-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z", 946684800000, 946684799999, 4102444799999, 4102444800000,
        1795424400000.5, "2026-11-23T07:00:00+0100", "2026-11-23T07:00:00",
        "2026-11-23T24:00:00Z", "2026-11-23T07:00:00.Z", "2026-11-23T07:00:00+01:00",
        {"empathy": {"expected": 1, "perceived": 7}}, {"empathy": {"expected": 0.5, "perceived": 7}},
        {"empathy": None}, {"empathy": {"expected": 2}}, {"empathy": {"expected": 2, "perceived": None}},
        {"friendliness": {"expected": 2, "perceived": 3}}]
DELETE = object()
variants = []
for t, e in sorted(samples.items()):
    for f in fields:
        for val in pool + [DELETE]:
            n = len(variants) + 1
            d = dict(e, event_id="v-%d" % n, customer_id="vc-%d" % n)  # never a duplicate
            if val is DELETE:
                if f not in d:
                    continue
                del d[f]
            else:
                d[f] = val
            variants.append(d)
text = "".join(json.dumps(d, separators=(",", ":")) + "\n" for d in variants)
r = subprocess.run([binary, "replay", "--pipeline", os.path.join(src, "pipelines", "default.json"),
                    "-"], input=text.encode(), capture_output=True)
if r.returncode != 0:
    print("replay failed: %s" % r.stderr.decode()[-500:]); sys.exit(1)
dead = {}
for line in r.stdout.decode().splitlines():
    o = json.loads(line)
    # late and unknown_case judge the stream (a closed window, a step whose case
    # never came), not the form of the event.
    if o["stream"] == "dead_letters" and o["value"]["reason"] not in ("late", "unknown_case"):
        dead[o["value"]["source"]["offset"]] = "%s: %s" % (o["value"]["reason"], o["value"]["detail"])
bad = 0
for i, d in enumerate(variants, 1):
    schema_ok, daemon_ok = v.is_valid(d), i not in dead
    if schema_ok != daemon_ok:
        bad += 1
        if bad <= 20:
            print("the daemon %s, the schema %s: %s" % (
                "accepts" if daemon_ok else "rejects (%s)" % dead[i],
                "accepts" if schema_ok else "rejects", json.dumps(d)[:240]))
print("%d variants, %d disagreements" % (len(variants), bad))
sys.exit(1 if bad or not dead or len(dead) == len(variants) else 0)
EOF
}
check "event schema accepts exactly what the decoder accepts (generated variants)" decoder_agrees

same_count() {
  local lines expected
  lines=$(grep -c '' "$DATA/bad_events.jsonl")
  expected=$(grep -c '' "$DATA/bad_events.expected")
  echo "bad_events.jsonl: $lines lines; bad_events.expected: $expected lines"
  [ "$lines" = "$expected" ] && [ "$lines" -gt 0 ]
}
check "bad_events.expected has one reason per bad line" same_count

# ---------------------------------------------------------------- (c) replay

# An oversized but otherwise valid event (too big to keep in a data file).
"$PY" - "$PIPELINE" >"$TMP/too_large.jsonl" <<'EOF'
import json, sys
limit = json.load(open(sys.argv[1])).get("limits", {}).get("max_event_bytes", 65536)
ev = {"event_id": "big-1", "type": "usage", "customer_id": "c-2999",
      "ts": "2026-11-23T13:00:00Z", "note": ""}
ev["note"] = "x" * (limit + 100 - len(json.dumps(ev, separators=(",", ":"))))
print(json.dumps(ev, separators=(",", ":")))
EOF
cat "$DATA/events.jsonl" "$DATA/bad_events.jsonl" "$TMP/too_large.jsonl" >"$TMP/input.jsonl"

run_replay() {
  "$BIN" replay --pipeline "$PIPELINE" "$TMP/input.jsonl" >"$TMP/output.jsonl" 2>"$TMP/replay.err"
  local rc=$?
  cat "$TMP/replay.err"
  echo "exit status $rc, $(grep -c '' "$TMP/output.jsonl") output lines"
  [ $rc -eq 0 ] && [ -s "$TMP/output.jsonl" ]
}
check "cxpulse replay runs over events + bad events" run_replay
check "every replay output line matches replay_output.schema.json" \
  "${VALIDATE[@]}" "$SCHEMAS" replay_output "$TMP/output.jsonl"

deterministic() {
  "$BIN" replay --pipeline "$PIPELINE" "$TMP/input.jsonl" >"$TMP/output2.jsonl" 2>/dev/null &&
    cmp "$TMP/output.jsonl" "$TMP/output2.jsonl"
}
check "a second replay gives byte-identical output" deterministic

# ---------------------------------------------------------------- (d) outcomes

# The closed-loop alerts the sample calls for, by triggering event: detractor
# responses (0-6) of customers without consent:false, once per event_id, at
# most one per customer within the cooldown (pipeline alerts.cooldown_h).
#   ev-0011 c-1001 score 3        ev-0016 c-1003 score 6 (its repeat: none)
#   ev-0022 c-1004 score 5 (ev-0037, 3 h later, and the repeated id: none)
#   ev-0032 c-1008 score 0        ev-0012 c-1002 score 2: consent false, none
EXPECTED_CLOSED_LOOP="ev-0011 ev-0016 ev-0022 ev-0032"
NO_CONSENT_CUSTOMER="c-1002"

outcomes() {
  "$PY" - "$TMP/input.jsonl" "$TMP/output.jsonl" "$DATA/events.jsonl" \
    "$DATA/bad_events.expected" "$PIPELINE" "$EXPECTED_CLOSED_LOOP" "$NO_CONSENT_CUSTOMER" <<'EOF'
import base64, datetime, json, sys
inp, outp, events_path, expected_path, pipeline_path, closed_loop, no_consent = sys.argv[1:]
lines = open(inp, "rb").read().split(b"\n")
if lines and lines[-1] == b"":
    lines.pop()
out = [json.loads(l) for l in open(outp, encoding="utf-8")]
n_good = len(open(events_path, "rb").read().splitlines())
expected = open(expected_path).read().split() + ["too_large"]
pipeline = json.load(open(pipeline_path))
checks = []
def check(ok, what):
    checks.append((bool(ok), what))

dead = [o["value"] for o in out if o["stream"] == "dead_letters"]
alerts = [o for o in out if o["stream"] == "alerts"]
check(len(dead) == len(expected),
      "%d dead letters for %d bad lines" % (len(dead), len(expected)))
reasons = [d["reason"] for d in dead]
diff = ["line %d: %s, expected %s" % (n_good + i + 1, g, w) for i, (g, w) in
        enumerate(zip(reasons, expected)) if g != w]
check(reasons == expected, "dead-letter reasons in order of bad_events.expected%s" % (
      "" if reasons == expected else ": " + "; ".join(diff or ["counts differ"])))
offsets = [d["source"]["offset"] for d in dead]
want = list(range(n_good + 1, n_good + len(expected) + 1))
check(offsets == want, "dead letters name their input lines %d..%d (got %s)"
      % (want[0], want[-1], offsets if offsets != want else "the same"))
mismatch = []
for d in dead:
    off = d["source"]["offset"]
    if not 1 <= off <= len(lines):
        mismatch.append(off); continue
    raw = lines[off - 1].rstrip(b"\r")
    if d["payload_encoding"] == "base64":
        got = base64.b64decode(d["payload"])
    else:
        got = d["payload"].encode("utf-8")
    if got != raw:
        mismatch.append(off)
check(not mismatch, "every dead letter carries its original bytes%s"
      % (" (not lines %s)" % mismatch if mismatch else ""))
check(any(d["payload_encoding"] == "base64" for d in dead),
      "bytes that are not UTF-8 travel as base64")

cl = [a for a in alerts if a["value"]["type"] == "recovery.closed_loop"]
check(cl, "at least one recovery.closed_loop alert (%d)" % len(cl))
got = sorted(a["value"]["event_id"] for a in cl)
check(got == sorted(closed_loop.split()),
      "closed-loop alerts for exactly %s (got %s)" % (closed_loop, " ".join(got)))
nc = [a["value"]["type"] for a in alerts if a["value"]["customer_id"] == no_consent]
check(not nc, "no alert for %s, whose profile says consent:false%s"
      % (no_consent, " (got %s)" % nc if nc else ""))
ids = [a["value"]["alert_id"] for a in alerts]
check(len(ids) == len(set(ids)), "alert ids are unique")
check(all(a["key"] == a["value"]["customer_id"] for a in alerts),
      "alerts are keyed by customer_id")
names = {o["value"]["pipeline"] for o in out}
check(names == {pipeline.get("name", "default")}, "every record names the pipeline (%s)" % names)

# Closed-loop alerts: the trigger's event time, deadline_h after it.
def ms(ts):
    if isinstance(ts, (int, float)):
        return int(ts)
    t = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00").replace("z", "+00:00"))
    return round(t.timestamp() * 1000)
events = {}
for l in open(events_path, encoding="utf-8"):
    e = json.loads(l)
    events.setdefault((e["customer_id"], e["event_id"]), e)
# With recovery on (the default), the response opens a case, and the alert
# carries its acknowledge deadline: the closed loop's deadline_h (48 h by
# default), half for premium segments. With it off, deadline_h as it is.
rec = pipeline.get("recovery", {})
premium = pipeline.get("alerts", {}).get("premium_segments", ["gold", "platinum", "premium"])
def allowed_h(score, segment):
    h = pipeline.get("alerts", {}).get("closed_loop", {}).get("deadline_h", 48)
    if not rec.get("enabled", True) or not rec.get("detractor_cases", True):
        return h
    f = rec.get("sla", {}).get("premium_factor", 0.5) if segment in premium else 1
    return h * f
wrong = []
for a in cl:
    v = a["value"]
    e = events.get((v["customer_id"], v["event_id"]))
    if (e is None or e["type"] != "survey.nps" or e["score"] > 6 or
            ms(v["event_ts"]) != ms(e["ts"]) or
            ms(v["deadline"]) - ms(v["event_ts"]) !=
            round(allowed_h(e["score"], v["segment"]) * 3600000)):
        wrong.append(v["event_id"])
check(not wrong, "closed-loop alerts carry the detractor's time and their case's "
      "acknowledge deadline%s" % (" (not %s)" % wrong if wrong else ""))

for ok, what in checks:
    print("%s %s" % ("ok  " if ok else "FAIL", what))
sys.exit(0 if all(ok for ok, _ in checks) else 1)
EOF
}
# Each assertion of outcomes() counts on its own.
outcomes >"$TMP/outcomes" 2>&1
while IFS= read -r line; do
  case $line in
    "ok   "*) passed=$((passed + 1)); echo "$line" ;;
    "FAIL "*) failed=$((failed + 1)); echo "$line" ;;
    *) echo "     $line" ;;
  esac
done <"$TMP/outcomes"
if ! grep -q '^ok   ' "$TMP/outcomes" && ! grep -q '^FAIL ' "$TMP/outcomes"; then
  failed=$((failed + 1))
  echo "FAIL replay outcomes could not be checked"
fi

# ------------------------------------------------------- (e) breach digest
# The example of docs/domain.md section 5.10 (tests/data/digest_events.jsonl)
# replayed with recovery.breach_digest on and off: valid output, and the
# alerts the section states.
digest_replay() {
  "$PY" - "$PIPELINE" "$TMP/digest.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
p["recovery"]["breach_digest"] = {"enabled": True}
json.dump(p, open(sys.argv[2], "w"))
EOF
  "$BIN" replay --pipeline "$TMP/digest.json" "$DATA/digest_events.jsonl" >"$TMP/digest_on.jsonl" 2>/dev/null &&
    "$BIN" replay --pipeline "$PIPELINE" "$DATA/digest_events.jsonl" >"$TMP/digest_off.jsonl" 2>/dev/null &&
    "${VALIDATE[@]}" "$SCHEMAS" replay_output "$TMP/digest_on.jsonl"
}
digest_alerts() {
  "$PY" - "$TMP/digest_on.jsonl" "$TMP/digest_off.jsonl" <<'EOF'
import json, sys
def alerts(path):
    return [o["value"] for o in map(json.loads, open(path)) if o["stream"] == "alerts"]
on, off = alerts(sys.argv[1]), alerts(sys.argv[2])
def kinds(al):
    return [(a["type"], a["case_id"], a["priority"]) for a in al if a["type"].startswith("recovery.sla")]
want_on = [("recovery.sla_breached", "K3", "P2"), ("recovery.sla_digest", None, "P3"),
           ("recovery.sla_breached", "K3", "P1")]
want_off = [("recovery.sla_breached", "K1", "P3"), ("recovery.sla_breached", "K3", "P2"),
            ("recovery.sla_breached", "K2", "P3"), ("recovery.sla_breached", "K4", "P3"),
            ("recovery.sla_breached", "K3", "P1")]
bad = []
if kinds(on) != want_on: bad.append("on: %s" % kinds(on))
if kinds(off) != want_off: bad.append("off: %s" % kinds(off))
d = [a for a in on if a["type"] == "recovery.sla_digest"]
if d:
    g = d[0]["digest"]
    got = ([c["case_id"] for c in g["cases"]], g["cases_settled"], g["window_start"], d[0]["role"],
           d[0]["alert_id"])
    want = (["K1", "K2"], 1, "2026-11-23T11:00:00.000Z", "team_lead", "e7fac8b7e5fa510d980a5774e20263da")
    if got != want: bad.append("digest %s, not %s" % (got, want))
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
}
check "replay with recovery.breach_digest on: valid output" digest_replay
check "the breach digest of domain.md 5.10: one digest for K1, K2; K3 its own; off: five breaches" \
  digest_alerts

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
