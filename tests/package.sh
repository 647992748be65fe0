#!/bin/bash
# The .deb: built by CPack from the build tree (`make package` does the
# same), unpacked into a scratch root with dpkg -x, and checked there:
#   every file an operator needs is in it, where the units and configs say;
#   the configs are conffiles; the packaged binary runs and accepts the
#   packaged pipeline; the packaged units pass `systemd-analyze verify` with
#   their ExecStart pointing at the packaged binary; the man page renders
#   without warnings.
#
# usage: package.sh BUILD_DIR
set -u
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }

(cd "$build" && cpack -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1) ||
  { bad "cpack -G DEB"; tail -20 "$tmp/cpack.log"; exit 1; }
deb=$(ls "$tmp"/out/*.deb 2>/dev/null | head -1)
[ -n "$deb" ] && ok "built $(basename "$deb")" || { bad "no .deb"; exit 1; }
root=$tmp/root
mkdir -p "$root"
dpkg -x "$deb" "$root" && ok "dpkg -x into a scratch root" || bad "dpkg -x"

for f in usr/bin/cxpulse etc/cxpulse/cxpulse.json etc/cxpulse/default.json \
         etc/cxpulse/pipelines/default.json usr/lib/systemd/system/cxpulse.service \
         usr/lib/systemd/system/cxpulse@.service usr/share/man/man8/cxpulse.8 \
         usr/share/cxpulse/schemas/alert.schema.json \
         usr/share/cxpulse/deploy/cxpulse.rules.yml \
         usr/share/cxpulse/deploy/cxpulse-dashboard.json \
         usr/share/cxpulse/deploy/cxpulse-cx-overview.json usr/share/doc/cxpulse/README.md \
         usr/share/doc/cxpulse/docs/domain.md usr/share/doc/cxpulse/docs/configuration.md; do
  [ -e "$root/$f" ] || bad "missing /$f"
done
[ $fails -eq 0 ] && ok "the binary, units, configs, schemas, deploy kit, man page and the docs README links are in it"

conf=$(dpkg-deb -I "$deb" conffiles 2>/dev/null)
for f in /etc/cxpulse/cxpulse.json /etc/cxpulse/default.json /etc/cxpulse/pipelines/default.json; do
  grep -qx "$f" <<<"$conf" || bad "$f is not a conffile"
done
dpkg-deb -f "$deb" Depends | grep -q librdkafka && ok "depends on librdkafka (shlibdeps)" ||
  bad "Depends lacks librdkafka: $(dpkg-deb -f "$deb" Depends)"
# The allocator the binary links (CXP_TCMALLOC) must be a dependency too.
if readelf -d "$root/usr/bin/cxpulse" | grep -q 'libtcmalloc_minimal'; then
  dpkg-deb -f "$deb" Depends | grep -q libtcmalloc-minimal4 && ok "depends on libtcmalloc-minimal4" ||
    bad "the binary links tcmalloc, Depends lacks it: $(dpkg-deb -f "$deb" Depends)"
fi

"$root/usr/bin/cxpulse" --version >/dev/null && ok "the packaged binary runs" ||
  bad "the packaged binary does not run"
"$root/usr/bin/cxpulse" check-pipeline "$root/etc/cxpulse/pipelines/default.json" >/dev/null &&
  ok "the packaged pipeline is valid" || bad "the packaged pipeline"
# The packaged config names the packaged pipeline's path.
grep -q '"/etc/cxpulse/pipelines/default.json"' "$root/etc/cxpulse/cxpulse.json" &&
  ok "the config names /etc/cxpulse/pipelines/default.json" || bad "config's pipeline path"

for unit in cxpulse.service cxpulse@.service; do
  src="$root/usr/lib/systemd/system/$unit"
  exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$src" | head -1)
  [ -x "$root$exe" ] && ok "$unit: ExecStart $exe is in the package" ||
    bad "$unit: ExecStart $exe is not in the package"
  as=$unit
  [ "$unit" = cxpulse@.service ] && as=cxpulse@default.service
  sed "s|$exe|$root$exe|g" "$src" >"$tmp/$as"
  out=$(systemd-analyze verify --man=no "$tmp/$as" 2>&1)
  if [ $? -eq 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify $as"; else
    bad "systemd-analyze verify $as: $out"; fi
done
out=$(groff -man -ww -z "$root/usr/share/man/man8/cxpulse.8" 2>&1)
[ -z "$out" ] && ok "man page renders without warnings" || bad "man page: $out"

echo "$fails failed"
exit $((fails > 0))
