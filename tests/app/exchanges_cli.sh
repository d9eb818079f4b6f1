#!/usr/bin/env bash
# hashguard exchanges list|sync|status through the real binary, on an embedded PostgreSQL in a
# fresh data directory, with a folder exchange. Usage: exchanges_cli.sh HASHGUARD
set -euo pipefail
hg=$1
dir=$(mktemp -d /tmp/hg-xcli-test-XXXXXX)
export HG_DATA_DIR=$dir
unset HG_DATABASE_URL
cleanup() {
  if [ -f "$dir/postgres/data/postmaster.pid" ]; then
    if [ "$(id -u)" -eq 0 ]; then
      runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$dir/postgres/data" -m immediate stop >/dev/null 2>&1 || true
    else
      /usr/lib/postgresql/15/bin/pg_ctl -D "$dir/postgres/data" -m immediate stop >/dev/null 2>&1 || true
    fi
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { # pattern command...
  local pattern=$1; shift
  local out
  out=$("$@" 2>&1) || fail "exit $?: $* -> $out"
  grep -qE -- "$pattern" <<<"$out" || fail "'$pattern' not in output of $*: $out"
}
expect_exit() { # code pattern command...
  local code=$1 pattern=$2; shift 2
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  [ "$rc" -eq "$code" ] || fail "exit $rc (wanted $code): $* -> $out"
  grep -qE -- "$pattern" <<<"$out" || fail "'$pattern' not in output of $*: $out"
}

mkdir "$dir/feed"
printf '%s\n%s\n' "$(printf 'a%.0s' $(seq 64))" "$(printf 'b%.0s' $(seq 64))" >"$dir/feed/one.txt"
printf '%s\n' "$(printf 'c%.0s' $(seq 64))" >"$dir/feed/two.txt"
cat >"$dir/exchanges.conf" <<CONF
[exchange drop]
kind = folder
url = $dir/feed
interval_s = 60
harm_type = ncii
feed.pdq = drop-pdq threshold=20 action=review
CONF
export HG_EXCHANGES_FILE=$dir/exchanges.conf

expect "^drop	folder	ncii	interval=60s	pdq->drop-pdq	reshare=off" "$hg" exchanges list
expect "drop: 1 pages, 3 added, 0 updated, 0 deleted .* caught up" "$hg" exchanges sync drop
expect '"name":"drop","kind":"folder","harm_type":"ncii".*"entries":3' "$hg" exchanges status --json
expect "drop-pdq.*threshold=20.*action=review.*entries=3" "$hg" lists ls
rm "$dir/feed/two.txt"
expect '"added":0,"updated":2,"deleted":1' "$hg" exchanges sync drop --json
expect "drop-pdq.*entries=2" "$hg" lists ls
expect_exit 2 "no exchange named 'nope'" "$hg" exchanges sync nope
printf '[exchange bad]\nkind = folder\ncredential = hunter2\n' >"$dir/bad.conf"
expect_exit 2 "line 3: credentials come from" env HG_EXCHANGES_FILE="$dir/bad.conf" "$hg" exchanges list
out=$(HG_EXCHANGES_FILE="$dir/bad.conf" "$hg" exchanges list 2>&1 || true)
grep -q hunter2 <<<"$out" && fail "the inline credential was echoed"
echo "exchanges cli: ok"
