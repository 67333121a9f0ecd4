#!/usr/bin/env bash
# A network-namespace testbed for NAT traversal and fault tests, shaped like the libp2p hole-punch
# interop harness: two hosts, each behind its own NAT router, and a public relay, all joined by a
# "WAN" bridge. Every address lives only inside the namespaces this script creates:
#
#   ns NAME-a  10.1.0.2 ─ lan0 ns NAME-ra wan0 198.18.0.1 ─┐
#                          (MASQUERADE, drops unsolicited)  ├─ br0 in ns NAME-wan ─ 198.18.0.10 ns NAME-relay
#   ns NAME-b  10.2.0.2 ─ lan0 ns NAME-rb wan0 198.18.0.2 ─┘
#
# The WAN is 198.18.0.0/24 (RFC 2544's benchmarking range: not private, never routed on the
# internet), so the relay looks public to our nodes and the hosts' 10.x addresses look private.
#
# Usage (as root):
#   testbed.sh check                  ok, or why the testbed cannot run here; "netem yes|no" after ok
#   testbed.sh deps                   installs iproute2 and iptables from Debian's packages if missing
#   testbed.sh up NAME                builds the testbed; prints KEY=VALUE lines (namespaces, addresses)
#   testbed.sh down NAME              removes every namespace NAME-* (their links and rules go with them)
#   testbed.sh fault NAME NODE DEV DELAY_MS LOSS_PCT
#                                     delay and loss on DEV's egress in NODE's namespace: tc netem where
#                                     the kernel has it, else iptables statistic drops (loss only)
#   testbed.sh drops NAME NODE DEV    how many packets the fault on DEV dropped so far
#   testbed.sh cut NAME NODE DEV      drops everything through DEV both ways, silently (no FIN, no RST)
#   testbed.sh heal NAME NODE DEV     takes the cut away
#   testbed.sh clear NAME NODE DEV    removes the fault
#   testbed.sh exec NAME NODE CMD...  runs CMD inside NODE's namespace
# NODE is one of a, b, ra, rb, relay, wan. NAME is at most 8 characters of [a-z0-9].
set -euo pipefail

die() { echo "testbed: $*" >&2; exit 1; }

name_ok() { [[ "$1" =~ ^[a-z0-9]{1,8}$ ]] || die "the testbed name '$1' must be 1 to 8 characters of [a-z0-9]"; }

ns_exec() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

check() {
  [ "$(id -u)" -eq 0 ] || { echo "not root: network namespaces, veth links and iptables need root"; return 1; }
  for tool in ip iptables tc; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$tool is missing (testbed.sh deps installs it)"; return 1; }
  done
  local probe="l2pchk$$"
  ip netns add "$probe" 2>/dev/null || { echo "ip netns is unavailable: cannot create a network namespace"; return 1; }
  local reason=""
  ns_exec "$probe" ip link add br0 type bridge 2>/dev/null || reason="no bridge links in this kernel"
  [ -n "$reason" ] || ns_exec "$probe" ip link add v0 type veth peer name v1 2>/dev/null || reason="no veth links in this kernel"
  [ -n "$reason" ] || ns_exec "$probe" iptables -t nat -A POSTROUTING -o v0 -j MASQUERADE 2>/dev/null || reason="iptables cannot MASQUERADE (no nat table)"
  [ -n "$reason" ] || ns_exec "$probe" iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT 2>/dev/null || reason="iptables has no conntrack match"
  local netem=no
  if [ -z "$reason" ]; then
    ns_exec "$probe" ip link set lo up
    ns_exec "$probe" tc qdisc add dev lo root netem delay 1ms 2>/dev/null && netem=yes
  fi
  ip netns del "$probe"
  [ -z "$reason" ] || { echo "$reason"; return 1; }
  echo "ok"
  echo "netem $netem"
}

deps() {
  local missing=()
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  command -v iptables >/dev/null 2>&1 || missing+=(iptables)
  [ ${#missing[@]} -eq 0 ] && return 0
  apt-get update -qq && apt-get install -y -qq "${missing[@]}"
}

# A veth pair between two namespaces, named in each, both up.
link() {
  local ns1=$1 dev1=$2 ns2=$3 dev2=$4
  ip link add "$dev1" netns "$ns1" type veth peer name "$dev2" netns "$ns2"
  ip -n "$ns1" link set "$dev1" up
  ip -n "$ns2" link set "$dev2" up
}

# A NAT router: WAN side on the bridge, LAN side to its host; outbound masqueraded, inbound only
# for connections the inside opened (conntrack), nothing unsolicited.
router() {
  local n=$1 r=$2 wan=$3 lan=$4
  local ns="$n-$r"
  link "$ns" wan0 "$n-wan" "$r"
  ip -n "$n-wan" link set "$r" master br0
  ip -n "$ns" addr add "$wan/24" dev wan0
  ip -n "$ns" addr add "$lan/24" dev lan0
  ns_exec "$ns" sysctl -qw net.ipv4.ip_forward=1
  ns_exec "$ns" iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE
  ns_exec "$ns" iptables -A FORWARD -i wan0 -o lan0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  ns_exec "$ns" iptables -A FORWARD -i wan0 -o lan0 -j DROP
  ns_exec "$ns" iptables -A INPUT -i wan0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  ns_exec "$ns" iptables -A INPUT -i wan0 -p icmp -j ACCEPT
  ns_exec "$ns" iptables -A INPUT -i wan0 -j DROP
}

host_behind() {
  local n=$1 h=$2 r=$3 addr=$4 gateway=$5
  link "$n-$h" eth0 "$n-$r" lan0
  ip -n "$n-$h" addr add "$addr/24" dev eth0
  ip -n "$n-$h" route add default via "$gateway"
}

up() {
  local n=$1
  name_ok "$n"
  for node in wan relay ra rb a b; do
    ip netns add "$n-$node"
    ip -n "$n-$node" link set lo up
  done
  ip -n "$n-wan" link add br0 type bridge
  ip -n "$n-wan" link set br0 up
  link "$n-relay" eth0 "$n-wan" relay
  ip -n "$n-wan" link set relay master br0
  ip -n "$n-relay" addr add 198.18.0.10/24 dev eth0
  # lan0 first exists in the router namespace, made by host_behind; the router takes it from there.
  host_behind "$n" a ra 10.1.0.2 10.1.0.1
  host_behind "$n" b rb 10.2.0.2 10.2.0.1
  router "$n" ra 198.18.0.1 10.1.0.1
  router "$n" rb 198.18.0.2 10.2.0.1
  cat <<VARS
A_NS=$n-a
A_ADDR=10.1.0.2
A_PUBLIC=198.18.0.1
B_NS=$n-b
B_ADDR=10.2.0.2
B_PUBLIC=198.18.0.2
RELAY_NS=$n-relay
RELAY_ADDR=198.18.0.10
RA_NS=$n-ra
RB_NS=$n-rb
VARS
}

down() {
  local n=$1
  name_ok "$n"
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^$n-(wan|relay|ra|rb|a|b)$" || true); do
    ip netns del "$ns"
  done
}

fault() {
  local n=$1 node=$2 dev=$3 delay=$4 loss=$5
  local ns="$n-$node"
  if ns_exec "$ns" tc qdisc replace dev "$dev" root netem delay "${delay}ms" loss "${loss}%" 2>/dev/null; then
    echo "FAULT netem delay ${delay}ms loss ${loss}% on $ns/$dev"
    return 0
  fi
  # No netem in this kernel: loss alone, from iptables' statistic match, on what leaves the device.
  local p
  p=$(awk -v l="$loss" 'BEGIN { printf "%.4f", l / 100 }')
  ns_exec "$ns" iptables -I OUTPUT -o "$dev" -m statistic --mode random --probability "$p" -j DROP
  ns_exec "$ns" iptables -I FORWARD -o "$dev" -m statistic --mode random --probability "$p" -j DROP
  echo "FAULT iptables loss ${loss}% on $ns/$dev (no netem in this kernel: no delay)"
}

# How many packets the fault on DEV dropped so far: netem's count, or the iptables rules' counters.
drops() {
  local n=$1 node=$2 dev=$3
  local ns="$n-$node"
  if ns_exec "$ns" tc qdisc show dev "$dev" | grep -q netem; then
    ns_exec "$ns" tc -s qdisc show dev "$dev" | sed -n 's/.*dropped \([0-9]*\).*/\1/p' | head -n 1
  else
    { ns_exec "$ns" iptables -L OUTPUT -v -x -n; ns_exec "$ns" iptables -L FORWARD -v -x -n; } \
      | awk -v dev="$dev" '/statistic/ && $7 == dev { sum += $1 } END { print sum + 0 }'
  fi
}

# A link cut: everything through NODE's DEV silently dropped both ways (no FIN, no RST), as a
# cable pulled or a route lost; "heal" takes it away.
cut() {
  local n=$1 node=$2 dev=$3
  local ns="$n-$node"
  for chain in INPUT FORWARD; do ns_exec "$ns" iptables -I "$chain" -i "$dev" -m comment --comment l2p-cut -j DROP; done
  for chain in OUTPUT FORWARD; do ns_exec "$ns" iptables -I "$chain" -o "$dev" -m comment --comment l2p-cut -j DROP; done
  echo "CUT $ns/$dev"
}

heal() {
  local n=$1 node=$2 dev=$3
  local ns="$n-$node"
  for chain in INPUT FORWARD; do while ns_exec "$ns" iptables -D "$chain" -i "$dev" -m comment --comment l2p-cut -j DROP 2>/dev/null; do :; done; done
  for chain in OUTPUT FORWARD; do while ns_exec "$ns" iptables -D "$chain" -o "$dev" -m comment --comment l2p-cut -j DROP 2>/dev/null; do :; done; done
  echo "HEALED $ns/$dev"
}

clear_fault() {
  local n=$1 node=$2 dev=$3
  local ns="$n-$node"
  ns_exec "$ns" tc qdisc del dev "$dev" root 2>/dev/null || true
  while ns_exec "$ns" iptables -D OUTPUT -o "$dev" -m statistic --mode random --probability "$(ns_exec "$ns" iptables -S OUTPUT | sed -n 's/.*--probability \([0-9.]*\).*/\1/p' | head -n 1)" -j DROP 2>/dev/null; do :; done
  while ns_exec "$ns" iptables -D FORWARD -o "$dev" -m statistic --mode random --probability "$(ns_exec "$ns" iptables -S FORWARD | sed -n 's/.*--probability \([0-9.]*\).*/\1/p' | head -n 1)" -j DROP 2>/dev/null; do :; done
}

command=${1:-}
shift || true
case "$command" in
  check) check ;;
  deps) deps ;;
  up) [ $# -eq 1 ] || die "usage: testbed.sh up NAME"; up "$1" ;;
  down) [ $# -eq 1 ] || die "usage: testbed.sh down NAME"; down "$1" ;;
  fault) [ $# -eq 5 ] || die "usage: testbed.sh fault NAME NODE DEV DELAY_MS LOSS_PCT"; fault "$@" ;;
  cut) [ $# -eq 3 ] || die "usage: testbed.sh cut NAME NODE DEV"; cut "$@" ;;
  heal) [ $# -eq 3 ] || die "usage: testbed.sh heal NAME NODE DEV"; heal "$@" ;;
  drops) [ $# -eq 3 ] || die "usage: testbed.sh drops NAME NODE DEV"; drops "$@" ;;
  clear) [ $# -eq 3 ] || die "usage: testbed.sh clear NAME NODE DEV"; clear_fault "$@" ;;
  exec) [ $# -ge 3 ] || die "usage: testbed.sh exec NAME NODE CMD..."; n=$1; node=$2; shift 2; ns_exec "$n-$node" "$@" ;;
  *) die "usage: testbed.sh check | deps | up NAME | down NAME | fault NAME NODE DEV DELAY_MS LOSS_PCT | drops NAME NODE DEV | cut NAME NODE DEV | heal NAME NODE DEV | clear NAME NODE DEV | exec NAME NODE CMD..." ;;
esac
