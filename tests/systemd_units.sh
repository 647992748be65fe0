#!/bin/bash
# The systemd units under systemd/, checked by systemd itself:
#   systemd-analyze verify     parses them as the manager would (unknown keys,
#                              bad values, missing commands); any message fails;
#   systemd-analyze security   the exposure score stays at or under MAX_EXPOSURE.
# The units name /usr/bin/cxpulse, which a build tree does not install, so
# each is checked as a copy naming a stand-in executable (verify only checks
# that the command exists); nothing else changes. The template is checked as
# the instance cxpulse@default. Needs no build: it runs in the sanitizer tree
# too.
#
# usage: systemd_units.sh SOURCE_DIR
set -u
src=$1
MAX_EXPOSURE=${MAX_EXPOSURE:-2.0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/cxpulse
cp /bin/true "$bin"
fail=0

check() { # unit-file name-to-verify-as
  local unit=$1 as=$2 out score
  sed "s|/usr/bin/cxpulse|$bin|g" "$src/systemd/$unit" > "$tmp/$as"
  out=$(systemd-analyze verify --man=no "$tmp/$as" 2>&1)
  if [ $? -ne 0 ] || [ -n "$out" ]; then
    echo "FAIL verify $unit:"
    echo "$out"
    fail=1
  else
    echo "ok   verify $unit"
  fi
  out=$(systemd-analyze security --offline=true "$tmp/$as" 2>&1)
  score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  if [ -z "$score" ] || ! awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'; then
    echo "FAIL security $unit: exposure '${score:-?}' over $MAX_EXPOSURE"
    printf '%s\n' "$out" | grep '✗'
    fail=1
  else
    echo "ok   security $unit: exposure $score"
  fi
}

check cxpulse.service cxpulse.service
check cxpulse@.service cxpulse@default.service
exit $fail
