#!/usr/bin/python3
"""Validates cxpulse documents against the JSON Schemas in schemas/.

usage: validate.py [--expect-invalid] [-v] SCHEMA_DIR KIND FILE

KIND is event, alert, dead_letter, indicator, case, replay_output (FILE holds JSON
lines; '-' reads stdin) or pipeline, config (FILE holds one JSON document).
Every failure is printed as FILE:LINE: where: what, and the last line says
"N passed, N failed". The exit status is 1 when anything failed, 2 on a usage
or setup error.

--expect-invalid turns the test around: a record passes when it is NOT valid
(or is not JSON at all), as for a file of deliberately bad events. With -v,
the reason each such record is invalid is printed too.

Needs jsonschema >= 4 (Debian's python3-jsonschema: run with /usr/bin/python3).
References between the schemas ($ref by $id or by relative file name) are
resolved from SCHEMA_DIR only: nothing is fetched from the network.
"""

import calendar
import json
import os
import re
import sys

try:
    import jsonschema
    from jsonschema import Draft202012Validator, FormatChecker, RefResolver
except ImportError as e:  # pragma: no cover - depends on the install
    sys.stderr.write("validate.py: jsonschema is not available to %s (%s); "
                     "run with /usr/bin/python3 and python3-jsonschema installed\n"
                     % (sys.executable, e))
    sys.exit(2)

SINGLE = {"pipeline", "config"}
LINES = {"event", "alert", "dead_letter", "indicator", "case", "replay_output"}
MAX_ERRORS_PER_RECORD = 5

# RFC 3339 section 5.6 date-time. 'T' and 'Z' may be lower case (section 5.6,
# note); the space separator allowed "by mutual agreement" is not date-time.
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?"
    r"(?:[Zz]|[+-](\d{2}):(\d{2}))", re.ASCII)


def is_date_time(value):
    """The "date-time" format, checked here rather than by jsonschema, whose
    own check silently passes everything when rfc3339-validator is missing."""
    if not isinstance(value, str):
        return True
    m = _DATE_TIME.fullmatch(value)
    if m is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if not 1 <= month <= 12:
        return False
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return False
    if hour > 23 or minute > 59 or second > 60:  # 60: a leap second
        return False
    if m.group(7) is not None and (int(m.group(7)) > 23 or int(m.group(8)) > 59):
        return False
    return True


def make_format_checker():
    checker = FormatChecker()
    checker.checks("date-time")(is_date_time)
    # Make sure the check is really in force: a schema that says
    # "format": "date-time" must reject these.
    probe = Draft202012Validator({"format": "date-time"}, format_checker=checker)
    for bad in ("2026-13-01T00:00:00Z", "2026-02-30T10:00:00Z", "yesterday",
                "2026-11-23 07:00:00Z", "2026-11-23T07:00:00"):
        if probe.is_valid(bad):
            sys.stderr.write("validate.py: the date-time format check accepts %r\n" % bad)
            sys.exit(2)
    for good in ("2026-11-23T07:00:00Z", "2026-11-23T07:00:00.123+01:00",
                 "2024-02-29t23:59:60z"):
        if not probe.is_valid(good):
            sys.stderr.write("validate.py: the date-time format check rejects %r\n" % good)
            sys.exit(2)
    return checker


def load_schemas(schema_dir):
    """Every *.schema.json of the directory, checked against the 2020-12
    meta-schema, stored under its $id and its file URI."""
    store, by_kind = {}, {}
    names = sorted(n for n in os.listdir(schema_dir) if n.endswith(".schema.json"))
    if not names:
        raise SystemExit("validate.py: no *.schema.json in %s" % schema_dir)
    for name in names:
        path = os.path.abspath(os.path.join(schema_dir, name))
        with open(path, encoding="utf-8") as f:
            try:
                schema = json.load(f)
            except ValueError as e:
                raise SystemExit("validate.py: %s: not valid JSON: %s" % (path, e))
        try:
            Draft202012Validator.check_schema(schema)
        except jsonschema.exceptions.SchemaError as e:
            raise SystemExit("validate.py: %s: not a valid 2020-12 schema: %s"
                             % (path, e.message))
        if "$id" not in schema:
            raise SystemExit("validate.py: %s: has no $id" % path)
        store[schema["$id"]] = schema
        store["file://" + path] = schema
        by_kind[name[: -len(".schema.json")]] = schema
    return store, by_kind


def strict_loads(text):
    """json.loads without NaN/Infinity and without duplicate member names,
    which the daemon's parser (cJSON) would read differently."""
    def pairs(items):
        obj = {}
        for k, v in items:
            if k in obj:
                raise ValueError("duplicate member name %r" % k)
            obj[k] = v
        return obj

    def constant(name):
        raise ValueError("%s is not JSON" % name)

    return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)


def where(error):
    return "/" + "/".join(str(p) for p in error.absolute_path)


def describe(error):
    msg = error.message
    if len(msg) > 300:
        msg = msg[:300] + "..."
    return "%s: %s" % (where(error), msg)


def line_of(text, path):
    """Approximate line of a JSON path in a pretty-printed document: follows
    the member names in order. Array indices are not followed."""
    pos = 0
    for part in path:
        if not isinstance(part, str):
            continue
        m = re.compile(re.escape(json.dumps(part)) + r"\s*:").search(text, pos)
        if m is None:
            break
        pos = m.start()
    return text.count("\n", 0, pos) + 1


def read_records(kind, path):
    """Yields (line number, text or None, problem) per record."""
    data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    if kind in SINGLE:
        try:
            yield 1, data.decode("utf-8"), None
        except UnicodeDecodeError as e:
            yield 1, None, "not UTF-8: %s" % e
        return
    for n, raw in enumerate(data.split(b"\n"), 1):
        raw = raw.rstrip(b"\r")
        if not raw.strip(b" \t"):
            continue  # a blank line is no record (as in cxpulse replay)
        try:
            yield n, raw.decode("utf-8"), None
        except UnicodeDecodeError as e:
            yield n, None, "not UTF-8 (byte %d)" % e.start


def main(argv):
    expect_invalid = verbose = False
    args = []
    for a in argv[1:]:
        if a == "--expect-invalid":
            expect_invalid = True
        elif a == "-v":
            verbose = True
        elif a in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        else:
            args.append(a)
    if len(args) != 3 or args[1] not in SINGLE | LINES:
        sys.stderr.write("usage: validate.py [--expect-invalid] [-v] SCHEMA_DIR "
                         "event|alert|dead_letter|indicator|case|pipeline|config|"
                         "replay_output FILE\n")
        return 2
    schema_dir, kind, path = args
    store, by_kind = load_schemas(schema_dir)
    if kind not in by_kind:
        sys.stderr.write("validate.py: no %s.schema.json in %s\n" % (kind, schema_dir))
        return 2
    schema = by_kind[kind]
    resolver = RefResolver(base_uri=schema["$id"], referrer=schema, store=store)
    validator = Draft202012Validator(schema, resolver=resolver,
                                     format_checker=make_format_checker())
    label = "<stdin>" if path == "-" else path

    passed = failed = 0
    try:
        records = list(read_records(kind, path))
    except OSError as e:
        sys.stderr.write("validate.py: %s\n" % e)
        return 2
    for lineno, text, problem in records:
        errors = []
        if problem is None:
            try:
                doc = strict_loads(text)
            except ValueError as e:
                problem = "not JSON: %s" % e
        if problem is not None:
            errors = [(lineno, problem)]
        else:
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
                ln = line_of(text, list(e.absolute_path)) if kind in SINGLE else lineno
                errors.append((ln, describe(e)))
        if expect_invalid:
            if errors:
                passed += 1
                if verbose:
                    print("%s:%d: invalid as expected: %s" % (label, lineno, errors[0][1]))
            else:
                failed += 1
                print("%s:%d: valid, but expected to be invalid" % (label, lineno))
        elif errors:
            failed += 1
            for ln, msg in errors[:MAX_ERRORS_PER_RECORD]:
                print("%s:%d: %s" % (label, ln, msg))
            if len(errors) > MAX_ERRORS_PER_RECORD:
                print("%s:%d: ... and %d more" % (label, lineno,
                                                  len(errors) - MAX_ERRORS_PER_RECORD))
        else:
            passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
