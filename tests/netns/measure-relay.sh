#!/usr/bin/env bash
# The relay figures of docs/benchmarks.md, on the netns testbed, as root: time from a node's
# connection to the relay to its reservation, and ping RTT direct (a → relay, through a's NAT)
# against relayed (b → relay → a, through both NATs). Our nodes are p2p processes; every process
# this script starts is ended by its PID, and the testbed is removed, however it ends.
# Usage: tests/netns/measure-relay.sh [PINGS]   (P2P=path/to/p2p.dll, default the Cli tests' build)
set -euo pipefail
cd "$(dirname "$0")/../.."
P2P=${P2P:-tests/Libp2p.Cli.Tests/bin/Debug/net10.0/p2p.dll}
PINGS=${1:-50}
[ -f "$P2P" ] || { echo "no $P2P: build tests/Libp2p.Cli.Tests first" >&2; exit 1; }
N="l2pb$(printf '%04x' $((RANDOM % 65536)))"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # A node closes its connections on SIGTERM: let it finish before its namespace goes.
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  tests/netns/testbed.sh down "$N" || true
  rm -rf "$work"
}
trap cleanup EXIT
tests/netns/testbed.sh up "$N" > "$work/vars"

# ip netns exec execs dotnet, so $! is the node's own PID.
ip netns exec "$N-relay" dotnet "$P2P" listen --relay --listen /ip4/198.18.0.10/tcp/4001 > "$work/relay" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do grep -q '^LISTEN ' "$work/relay" && break; sleep 0.2; done
relay=$(grep '^LISTEN ' "$work/relay" | head -n 1 | cut -d' ' -f2)

# Each of a's event lines stamped as it arrives.
mkfifo "$work/a.fifo"
ip netns exec "$N-a" dotnet "$P2P" listen --listen /ip4/0.0.0.0/tcp/4001 --reserve "$relay" --json > "$work/a.fifo" 2>&1 &
pids+=($!)
while IFS= read -r line; do echo "$(date +%s.%N) $line"; done < "$work/a.fifo" > "$work/a" &
pids+=($!)
for _ in $(seq 1 300); do grep -q '"reserved"' "$work/a" && break; sleep 0.1; done
connected=$(grep '"connected"' "$work/a" | head -n 1 | cut -d' ' -f1)
reserved=$(grep '"reserved"' "$work/a" | head -n 1 | cut -d' ' -f1)
relayed=$(grep '"reserved"' "$work/a" | head -n 1 | sed 's/.*"address":"\([^"]*\)".*/\1/')

summary() { grep '"summary"' | sed 's/.*"minMs":\([0-9.]*\),"avgMs":\([0-9.]*\),"maxMs":\([0-9.]*\).*/min \1 ms, avg \2 ms, max \3 ms/'; }
# A few pings first, so neither side's JIT is in the figures.
ip netns exec "$N-a" dotnet "$P2P" ping "$relay" --count 5 --json > /dev/null
direct=$(ip netns exec "$N-a" dotnet "$P2P" ping "$relay" --count "$PINGS" --json | summary)
ip netns exec "$N-b" dotnet "$P2P" ping "$relayed" --count 5 --json > /dev/null
through=$(ip netns exec "$N-b" dotnet "$P2P" ping "$relayed" --count "$PINGS" --json | summary)

echo "connection to the relay -> reservation: $(awk -v a="$connected" -v b="$reserved" 'BEGIN { printf "%.0f ms", (b - a) * 1000 }') (includes identify; a cold process)"
echo "ping a -> relay (direct, one NAT), $PINGS pings: $direct"
echo "ping b -> relay -> a (relayed, two NATs), $PINGS pings: $through"
