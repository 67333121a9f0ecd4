using Libp2p.Host;

namespace Libp2p.Cli.Commands;

/// <summary>
/// <c>p2p listen [--listen MULTIADDR…] [--key FILE] [--config FILE] [--serve-resources] [--relay] [--reserve MULTIADDR…]</c>:
/// a node serving identify, ping, echo and perf (and the circuit relay with --relay; reachable through
/// each --reserve relay) until Ctrl-C or SIGTERM.
/// </summary>
internal static class ListenCommand
{
    public static async Task<int> RunAsync(CommandLine line, TextWriter output, CancellationToken cancellationToken)
    {
        var config = Node.ReadConfig(line);
        var settings = Node.ListenerSettings(line, config);
        if (line.Flag("serve-resources"))
            settings = settings with { Resources = true };
        if (line.Flag("relay"))
            settings = settings with { RelayService = settings.RelayService ?? Libp2p.Actors.Relay.RelayServiceSettings.Default };
        var relays = line.Options("reserve").Select(a => Node.ParsePeerAddress(a).Address).ToArray();
        if (line.Positional.Count > 0)
            throw new UsageException("unexpected-argument", $"'listen' takes no arguments, got '{line.Positional[0]}'; use --listen MULTIADDR");

        using var stop = new StopSignal(cancellationToken);
        var system = Node.CreateSystem("p2p", config);
        try
        {
            var host = await StartAsync(system, settings).ConfigureAwait(false);
            NodeEvents.Subscribe(system, host, line, output);
            await NodeEvents.PrintAddressesAsync(host, line, output).ConfigureAwait(false);
            await KeepReservationsAsync(system, host, relays).ConfigureAwait(false);
            var ended = await Task.WhenAny(stop.Task, host.Stopped).ConfigureAwait(false);
            if (ended == host.Stopped)
                throw new CommandFailedException("the node stopped by itself");
            await host.StopAsync().ConfigureAwait(false);
            if (line.Json)
                Output.Json(output, new Dictionary<string, object?> { ["event"] = "stopped", ["signal"] = await stop.Task.ConfigureAwait(false) });
            else
                output.WriteLine($"STOPPED on {await stop.Task.ConfigureAwait(false)}");
            return 0;
        }
        finally
        {
            await system.Terminate().ConfigureAwait(false);
        }
    }

    /// <summary>Listens on <c>/p2p-circuit</c> and keeps a reservation on each relay; each outcome is printed as it comes (RESERVED …).</summary>
    private static async Task KeepReservationsAsync(Akka.Actor.ActorSystem system, Libp2pHost host, IReadOnlyList<Libp2p.Protocols.Multiformats.Multiaddr> relays)
    {
        if (relays.Count == 0)
            return;
        if (!host.Settings.Swarm.Transports.OfType<Libp2p.Actors.Relay.RelayTransport>().Any())
            throw new UsageException("invalid-value", "--reserve needs the relay client: remove akka.libp2p.relay.client = off from the config");
        await host.Network.ListenAsync([Libp2p.Protocols.Multiformats.Multiaddr.Parse("/p2p-circuit")]).ConfigureAwait(false);
        foreach (var relay in relays)
        {
            var (peer, address) = Libp2pHost.Split(relay);
            system.ActorOf(Libp2p.Actors.Relay.RelayReservationActor.Props(host.Network, peer, address.IsEmpty ? [] : [address], host.Settings.DialTimeout));
        }
    }

    /// <summary>Starts the node, turning a listener that cannot bind into a one-line failure.</summary>
    public static async Task<Libp2pHost> StartAsync(Akka.Actor.ActorSystem system, HostSettings settings)
    {
        try
        {
            return await Libp2pHost.StartAsync(system, settings, "libp2p").ConfigureAwait(false);
        }
        catch (Exception e) when (e is not CommandFailedException)
        {
            throw new CommandFailedException($"cannot listen on {string.Join(", ", settings.ListenAddresses)}: {Failure.Describe(e)}", e);
        }
    }
}
