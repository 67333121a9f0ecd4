using System.Runtime.InteropServices;
using Akka.Actor;
using Libp2p.Host;
using Libp2p.Host.Services;
using Libp2p.Actors.Swarm;

namespace Libp2p.Cli.Commands;

/// <summary>Prints a node's events as they happen: one line each, plain or JSON.</summary>
internal static class NodeEvents
{
    /// <summary>Prints the <c>LISTEN</c> line of each dialable address.</summary>
    public static async Task PrintAddressesAsync(Libp2pHost host, CommandLine line, TextWriter output)
    {
        foreach (var address in await host.AddressesAsync().ConfigureAwait(false))
        {
            if (line.Json)
                Output.Json(output, new Dictionary<string, object?> { ["event"] = "listen", ["peer"] = host.PeerId.ToString(), ["address"] = address.ToString() });
            else
                output.WriteLine($"LISTEN {address}");
        }
    }

    /// <summary>Subscribes to <paramref name="host"/>'s connection and identify events; the actor stops with the system.</summary>
    public static void Subscribe(ActorSystem system, Libp2pHost host, CommandLine line, TextWriter output)
    {
        var json = line.Json;
        var relay = system.ActorOf(Props.Create(() => new Relay(message => Print(host, json, output, message))), "events");
        foreach (var type in new[] { typeof(SwarmProtocol.Connected), typeof(SwarmProtocol.Disconnected), typeof(IdentifyService.PeerIdentified),
                     typeof(Libp2p.Actors.Relay.RelayReservationActor.RelayReservationChanged),
                     typeof(Libp2p.Actors.AutoNat.ReachabilityChanged), typeof(Libp2p.Actors.AutoNat.NatDeviceTypeChanged),
                     typeof(Libp2p.Actors.AutoNat.AutoNatChecked),
                     typeof(HolePunchProtocol.HolePunchSucceeded), typeof(HolePunchProtocol.HolePunchFailed) })
            system.EventStream.Subscribe(relay, type);
    }

    private static void Print(Libp2pHost host, bool json, TextWriter output, object message)
    {
        switch (message)
        {
            case SwarmProtocol.Connected { Connection: var c } when c.LocalPeer == host.PeerId:
                Write(json, output, "connected", $"CONNECTED {c.RemotePeer} {c.RemoteAddress} {c.Stat.Direction.ToString().ToLowerInvariant()}", new()
                {
                    ["peer"] = c.RemotePeer.ToString(), ["address"] = c.RemoteAddress.ToString(), ["direction"] = c.Stat.Direction.ToString().ToLowerInvariant(),
                });
                break;
            case SwarmProtocol.Disconnected { Connection: var c } when c.LocalPeer == host.PeerId:
                Write(json, output, "disconnected", $"DISCONNECTED {c.RemotePeer} {c.RemoteAddress}", new()
                {
                    ["peer"] = c.RemotePeer.ToString(), ["address"] = c.RemoteAddress.ToString(),
                });
                break;
            case IdentifyService.PeerIdentified identified when identified.LocalPeer == host.PeerId:
                var r = identified.Result;
                Write(json, output, "identified", $"IDENTIFIED {r.Peer} agent={r.AgentVersion ?? "-"} protocols={string.Join(',', r.Protocols)}{(identified.Push ? " (push)" : "")}", new()
                {
                    ["peer"] = r.Peer.ToString(), ["agentVersion"] = r.AgentVersion, ["protocolVersion"] = r.ProtocolVersion,
                    ["protocols"] = r.Protocols, ["push"] = identified.Push,
                });
                break;
            case Libp2p.Actors.Relay.RelayReservationActor.RelayReservationChanged { Reservation: { } reserved } changed when changed.LocalPeer == host.PeerId:
                // Each relayed address is where others dial this node: printed as LISTEN prints the direct ones.
                foreach (var address in reserved.Addresses)
                {
                    var dialable = address.Encapsulate($"/p2p/{host.PeerId}");
                    Write(json, output, "reserved", $"RESERVED {dialable} until {reserved.Expiration:u}", new()
                    {
                        ["relay"] = reserved.Relay.ToString(), ["address"] = dialable.ToString(), ["expires"] = reserved.Expiration.ToString("u", System.Globalization.CultureInfo.InvariantCulture),
                    });
                }
                break;
            case Libp2p.Actors.AutoNat.ReachabilityChanged reachability when reachability.LocalPeer == host.PeerId:
                Write(json, output, "reachability", $"REACHABILITY {reachability.Reachability}", new() { ["reachability"] = reachability.Reachability.ToString() });
                break;
            case Libp2p.Actors.AutoNat.AutoNatChecked { Result: var result } check when check.LocalPeer == host.PeerId:
                var status = Libp2p.Protocols.AutoNat.AutoNatV2.NameOf(result.Status);
                Write(json, output, "autonat", $"AUTONAT {status} {result.Address} by {result.Server}", new()
                {
                    ["status"] = status, ["address"] = result.Address.ToString(), ["server"] = result.Server.ToString(),
                });
                break;
            case Libp2p.Actors.AutoNat.NatDeviceTypeChanged nat when nat.LocalPeer == host.PeerId:
                Write(json, output, "nat-device-type", $"NAT {nat.Transport} {nat.NatDeviceType}", new()
                {
                    ["transport"] = nat.Transport.ToString(), ["natDeviceType"] = nat.NatDeviceType.ToString(),
                });
                break;
            case HolePunchProtocol.HolePunchSucceeded punched when punched.LocalPeer == host.PeerId:
                Write(json, output, "holepunch", $"HOLEPUNCH {punched.Peer} direct {punched.DirectAddress} attempts={punched.Attempts} elapsed={Output.Ms(punched.Elapsed)} rtt={Output.Ms(punched.Rtt)}", new()
                {
                    ["peer"] = punched.Peer.ToString(), ["address"] = punched.DirectAddress.ToString(), ["attempts"] = punched.Attempts,
                    ["elapsedMs"] = Output.JsonMs(punched.Elapsed), ["rttMs"] = Output.JsonMs(punched.Rtt),
                });
                break;
            case HolePunchProtocol.HolePunchFailed missed when missed.LocalPeer == host.PeerId:
                Write(json, output, "holepunch-failed", $"HOLEPUNCH FAILED {missed.Peer} attempts={missed.Attempts} elapsed={Output.Ms(missed.Elapsed)}: {missed.Reason}", new()
                {
                    ["peer"] = missed.Peer.ToString(), ["attempts"] = missed.Attempts, ["elapsedMs"] = Output.JsonMs(missed.Elapsed), ["error"] = missed.Reason,
                });
                break;
            case Libp2p.Actors.Relay.RelayReservationActor.RelayReservationChanged { Error: { } error } failed when failed.LocalPeer == host.PeerId:
                Write(json, output, "reservation-failed", $"RESERVATION FAILED {failed.Relay}: {error.Message}", new()
                {
                    ["relay"] = failed.Relay.ToString(), ["error"] = error.Message,
                });
                break;
        }
    }

    /// <summary>A direct (not relayed) connection to <paramref name="peer"/>: one that exists, or the next that opens.</summary>
    public static async Task<Libp2p.Actors.Network.ConnectionInfo> DirectConnectionAsync(Libp2pHost host, Libp2p.Protocols.Peer.PeerId peer)
    {
        ArgumentNullException.ThrowIfNull(host);
        var system = host.System;
        var found = new TaskCompletionSource<Libp2p.Actors.Network.ConnectionInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Subscribed before looking, so a connection that opens in between is not missed.
        Action<object> take = message =>
        {
            if (message is SwarmProtocol.Connected { Connection: var c } && c.LocalPeer == host.PeerId && c.RemotePeer == peer && !c.Stat.Transient)
                found.TrySetResult(c);
        };
        var watcher = system.ActorOf(Props.Create(() => new Relay(take)));
        system.EventStream.Subscribe(watcher, typeof(SwarmProtocol.Connected));
        try
        {
            if ((await host.Network.ConnsAsync(peer).ConfigureAwait(false)).FirstOrDefault(c => !c.Stat.Transient) is { } existing)
                found.TrySetResult(existing);
            return await found.Task.ConfigureAwait(false);
        }
        finally
        {
            system.Stop(watcher);
        }
    }

    private static void Write(bool json, TextWriter output, string name, string plain, Dictionary<string, object?> fields) =>
        Output.Event(output, json, name, plain, fields);

    private sealed class Relay : ReceiveActor
    {
        public Relay(Action<object> handle) => ReceiveAny(handle);
    }
}

/// <summary>Completes when the user asks the process to stop: Ctrl-C or SIGTERM.</summary>
internal sealed class StopSignal : IDisposable
{
    private readonly TaskCompletionSource<string> _stop = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PosixSignalRegistration? _term;
    private readonly CancellationTokenRegistration _token;

    public StopSignal(CancellationToken cancellationToken)
    {
        Console.CancelKeyPress += OnCancelKeyPress;
        try
        {
            // Cancelling the default keeps the process alive until the node has closed its connections.
            _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                _stop.TrySetResult("SIGTERM");
            });
        }
        catch (PlatformNotSupportedException)
        {
            _term = null;
        }
        _token = cancellationToken.Register(() => _stop.TrySetResult("cancelled"));
    }

    /// <summary>Completes with the signal's name.</summary>
    public Task<string> Task => _stop.Task;

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        _term?.Dispose();
        _token.Dispose();
    }

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        e.Cancel = true;
        _stop.TrySetResult("SIGINT");
    }
}
