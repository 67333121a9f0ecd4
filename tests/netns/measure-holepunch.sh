#!/usr/bin/env bash
# The hole-punching figure of docs/benchmarks.md, on the netns testbed, as root: time from a
# relayed (limited) connection arriving at a (behind its NAT) to the direct connection DCUtR punches
# to b (behind the other NAT), over ROUNDS rounds, each a fresh b (a new peer, a new listen port,
# so no TIME_WAIT or conntrack entry of the round before is in the way). Stamped as a's JSON event
# lines arrive: a's "connected" of the /p2p-circuit connection, then its "holepunch". Every process
# this script starts is ended by its PID, and the testbed is removed, however it ends.
# Usage: tests/netns/measure-holepunch.sh [ROUNDS]   (P2P=path/to/p2p.dll, default the Cli tests' build)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-10}
N="l2ph$(printf '%04x' $((RANDOM % 65536)))"
. tests/netns/relay-and-reserving-node.sh

# Round 0 warms both sides' JIT and is not counted.
times=()
inprocess=()
failed=0
for round in $(seq 0 "$ROUNDS"); do
  before=$(wc -l < "$work/a")
  ip netns exec "$N-b" dotnet "$P2P" ping "$relayed" --count 1 --listen "/ip4/0.0.0.0/tcp/$((4100 + round))" --await-direct 30 --json > "$work/b" 2>&1 \
    || { failed=$((failed + 1)); echo "round $round failed: $(tail -n 1 "$work/b")" >&2; continue; }
  # a's lines of this round: its HOLEPUNCH names b's peer ID, which b's own output does not.
  for _ in $(seq 1 100); do tail -n +"$((before + 1))" "$work/a" | grep -q '"holepunch"' && break; sleep 0.1; done
  punched=$(tail -n +"$((before + 1))" "$work/a" | grep '"holepunch"' | head -n 1)
  peer=$(echo "$punched" | sed 's/.*"peer":"\([^"]*\)".*/\1/')
  limited=$(grep "\"connected\".*\"peer\":\"$peer\".*p2p-circuit" "$work/a" | head -n 1 | cut -d' ' -f1)
  [ "$round" -eq 0 ] && continue
  times+=("$(awk -v a="$limited" -v b="$(echo "$punched" | cut -d' ' -f1)" 'BEGIN { printf "%.1f", (b - a) * 1000 }')")
  inprocess+=("$(echo "$punched" | sed 's/.*"elapsedMs":\([0-9.]*\).*/\1/')")
done

stats() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1; s += $1 } END { if (NR == 0) { print "none"; exit } printf "min %.1f ms, median %.1f ms, avg %.1f ms, max %.1f ms", v[1], v[int((NR + 1) / 2)], s / NR, v[NR] }'; }
echo "limited (relayed) connection -> direct connection, $((${#times[@]})) rounds ($failed failed): $(stats "${times[@]}")"
echo "  as a's HolePunchSucceeded.Elapsed reports it: $(stats "${inprocess[@]}")"
