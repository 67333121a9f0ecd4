#!/usr/bin/env bash
# The relay figures of docs/benchmarks.md, on the netns testbed, as root: time from a node's
# connection to the relay to its reservation, and ping RTT direct (a → relay, through a's NAT)
# against relayed (b → relay → a, through both NATs). Our nodes are p2p processes; every process
# this script starts is ended by its PID, and the testbed is removed, however it ends.
# Usage: tests/netns/measure-relay.sh [PINGS]   (P2P=path/to/p2p.dll, default the Cli tests' build)
set -euo pipefail
cd "$(dirname "$0")/../.."
PINGS=${1:-50}
N="l2pb$(printf '%04x' $((RANDOM % 65536)))"
. tests/netns/relay-and-reserving-node.sh
connected=$(grep '"connected"' "$work/a" | head -n 1 | cut -d' ' -f1)
reserved=$(grep '"reserved"' "$work/a" | head -n 1 | cut -d' ' -f1)

summary() { grep '"summary"' | sed 's/.*"minMs":\([0-9.]*\),"avgMs":\([0-9.]*\),"maxMs":\([0-9.]*\).*/min \1 ms, avg \2 ms, max \3 ms/'; }
# A few pings first, so neither side's JIT is in the figures.
ip netns exec "$N-a" dotnet "$P2P" ping "$relay" --count 5 --json > /dev/null
direct=$(ip netns exec "$N-a" dotnet "$P2P" ping "$relay" --count "$PINGS" --json | summary)
ip netns exec "$N-b" dotnet "$P2P" ping "$relayed" --count 5 --json > /dev/null
through=$(ip netns exec "$N-b" dotnet "$P2P" ping "$relayed" --count "$PINGS" --json | summary)

echo "connection to the relay -> reservation: $(awk -v a="$connected" -v b="$reserved" 'BEGIN { printf "%.0f ms", (b - a) * 1000 }') (includes identify; a cold process)"
echo "ping a -> relay (direct, one NAT), $PINGS pings: $direct"
echo "ping b -> relay -> a (relayed, two NATs), $PINGS pings: $through"
