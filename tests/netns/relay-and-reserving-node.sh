# Sourced by the measure-*.sh scripts, as root, from the repository's root: brings up a testbed
# named $N, starts our relay in it and node a behind its NAT reserving on it, and stamps each of
# a's JSON event lines as it arrives ($work/a). Sets work, pids, relay (its address) and relayed
# (a's address through it). Every process started here or later added to pids is ended by its PID,
# and the testbed is removed, however the script ends.
P2P=${P2P:-tests/Libp2p.Cli.Tests/bin/Debug/net10.0/p2p.dll}
[ -f "$P2P" ] || { echo "no $P2P: build tests/Libp2p.Cli.Tests first" >&2; exit 1; }
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

mkfifo "$work/a.fifo"
ip netns exec "$N-a" dotnet "$P2P" listen --listen /ip4/0.0.0.0/tcp/4001 --reserve "$relay" --json > "$work/a.fifo" 2>&1 &
pids+=($!)
while IFS= read -r line; do echo "$(date +%s.%N) $line"; done < "$work/a.fifo" > "$work/a" &
pids+=($!)
for _ in $(seq 1 300); do grep -q '"reserved"' "$work/a" && break; sleep 0.1; done
relayed=$(grep '"reserved"' "$work/a" | head -n 1 | sed 's/.*"address":"\([^"]*\)".*/\1/')
