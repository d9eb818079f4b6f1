#!/usr/bin/env bash
# The database subcommands through the real binary, on an embedded PostgreSQL in a fresh data
# directory: db migrate/status/start, lists create/import/export/ls/set/disable/enable/retire,
# keys create/ls/revoke, cases purge, audit verify. Usage: hashdb_cli.sh HASHGUARD
set -euo pipefail
hg=$1
dir=$(mktemp -d /tmp/hg-cli-test-XXXXXX)
export HG_DATA_DIR=$dir
unset HG_DATABASE_URL
cleanup() {
  if [ -n "${start_pid:-}" ]; then kill "$start_pid" 2>/dev/null || true; wait "$start_pid" 2>/dev/null || true; fi
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

expect "applied 1 2" "$hg" db migrate
expect "up to date" "$hg" db migrate
# Fully migrated, whatever the count (helpers add migrations; the lead renumbers them).
expect "schema version ([0-9]+) of \1\b" "$hg" db status
expect "ncmec.*pdq.*threshold=31.*action=block" "$hg" lists create ncmec --signal pdq --source NCMEC --action block
a=$(printf 'a%.0s' $(seq 64)); b=$(printf 'B%.0s' $(seq 64))
printf '\xef\xbb\xbf%s,item-1\r\n\r\n# comment\n%s\n%s\nzz\n' "$a" "$b" "$a" >"$dir/list.txt"
expect "6 lines, 2 accepted, 1 duplicate, 1 rejected" "$hg" lists import ncmec "$dir/list.txt"
expect "line 6: rejected: bad_hex" "$hg" lists import ncmec "$dir/list.txt"
expect '"accepted":0,"duplicates":3' "$hg" lists import ncmec "$dir/list.txt" --json
"$hg" lists export ncmec --format hashguard --output "$dir/export.csv" 2>/dev/null
grep -q "^# hashguard-list v1" "$dir/export.csv" || fail "export header"
expect "2 accepted" "$hg" lists import copy "$dir/export.csv"
expect "copy.*NCMEC.*threshold=31" "$hg" lists ls
expect "threshold=20.*dihedral=off" "$hg" lists set ncmec --threshold 20 --dihedral off
expect "disabled" "$hg" lists disable ncmec
expect "enabled" "$hg" lists enable ncmec
expect "retired" "$hg" lists retire copy
key=$("$hg" keys create edge --role ingest 2>/dev/null)
[[ $key == hg_* ]] || fail "key text: $key"
expect "edge.*ingest.*active" "$hg" keys ls
expect "revoked" "$hg" keys revoke 1
"$hg" keys create investigator --role ingest --capability match_details >/dev/null 2>&1 ||
  fail "keys create --capability"
expect '"name":"investigator","role":"ingest","prefix":"hg_[^"]*","capabilities":\["match_details"\]' "$hg" keys ls --json
expect '"name":"edge","role":"ingest","prefix":"hg_[^"]*","capabilities":\[\]' "$hg" keys ls --json
expect "deleted \(preservation over\): 0" "$hg" cases purge
# Exports (no events in this database): well-formed empty documents, custody audited.
expect "0 items, [0-9]+ bytes, sha256 [0-9a-f]{64}, audit entry [0-9]+" "$hg" export events --from 2026-01-01 --to 2027-01-01 --output "$dir/events.csv"
head -n1 "$dir/events.csv" | grep -q "^event_id,occurred_at," || fail "events csv header"
[ "$("$hg" export cases --from 2026-01-01 --to 2027-01-01 --format json 2>/dev/null)" = "[]" ] || fail "empty cases json"
expect "audit log intact" "$hg" audit verify
# Usage errors exit 2.
set +e
"$hg" lists frobnicate >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown verb should exit 2"
"$hg" export events --from 2026-02-01 --to 2026-01-01 >/dev/null 2>&1; [ $? -eq 2 ] || fail "export range should exit 2"
"$hg" keys create x --role root >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad role should exit 2"
"$hg" keys create x --role ingest --capability root >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad capability should exit 2"
set -e

# db start keeps the embedded server up until SIGTERM, then stops it.
"$hg" db start >"$dir/start.log" 2>&1 &
start_pid=$!
for _ in $(seq 100); do grep -q "running; stop" "$dir/start.log" && break; sleep 0.2; done
grep -q "running; stop" "$dir/start.log" || fail "db start: $(cat "$dir/start.log")"
expect "embedded server in .*: running" "$hg" db status
expect "audit log intact" "$hg" audit verify   # attaches to the running server
kill -TERM "$start_pid"
wait "$start_pid" || fail "db start exit status"
start_pid=
expect "embedded server in .*: stopped" "$hg" db status
[ ! -f "$dir/postgres/data/postmaster.pid" ] || fail "server left running"
echo "hashdb cli: ok"
