using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Libp2p.Actors.Swarm;
using Libp2p.Host;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Noise;
using Libp2p.Protocols.Tls;

namespace Libp2p.Interop;

/// <summary>
/// One side of the contracts' ping test on a <see cref="Libp2pHost"/> that speaks exactly the
/// transport, security protocol and muxer it is given, so a passing run proves that combination.
/// </summary>
public static class PingTest
{
    /// <summary>Exit code of a test that passed (or a listener stopped by its runner).</summary>
    public const int Passed = 0;

    /// <summary>Exit code of a test that failed or ran out of time.</summary>
    public const int Failed = 1;

    /// <summary>
    /// Runs the dialer (prints its measurement to <paramref name="result"/>) or the listener
    /// (publishes its address, then serves until <paramref name="stop"/> or the deadline). Every
    /// diagnostic goes to <paramref name="log"/>.
    /// </summary>
    /// <returns><see cref="Passed"/> or <see cref="Failed"/>.</returns>
    public static async Task<int> RunAsync(InteropSettings settings, TextWriter result, TextWriter log, bool debug = false, CancellationToken stop = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(log);
        var deadline = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(settings.Timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stop);
        var system = ActorSystem.Create("interop", ConfigurationFactory.ParseString($"""
            akka.loglevel = {(debug ? "DEBUG" : "WARNING")}
            akka.stdout-loglevel = {(debug ? "DEBUG" : "WARNING")}
            akka.log-dead-letters = off
            akka.log-dead-letters-during-shutdown = off
            akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
            {AkkaIoSettings.Hocon}
            """));
        // What the run is doing, so running out of time says where it was.
        var phase = new Phase($"connecting to Redis at {settings.RedisAddress}");
        try
        {
            await using var redis = await RedisRendezvous.ConnectAsync(settings.RedisAddress, settings.Timeout).ConfigureAwait(false);
            phase.Now = "starting the libp2p host";
            var host = await Libp2pHost.StartAsync(system, HostSettingsFor(settings), "libp2p", linked.Token).ConfigureAwait(false);
            return settings.IsDialer
                ? await DialAsync(settings, host, redis, result, log, deadline, phase, linked.Token).ConfigureAwait(false)
                : await ListenAsync(settings, host, redis, log, phase, stop, linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when ((e is OperationCanceledException && timeout.IsCancellationRequested) || e is TimeoutException)
        {
            // A deadline inside the run (BLPOP's, the dial's) carries its own account of what it waited for.
            var detail = e is TimeoutException ? $": {Describe(e)}" : "";
            await log.WriteLineAsync($"ERROR the test ran over its {settings.Timeout.TotalSeconds:0.#} s while {phase.Now}{detail}").ConfigureAwait(false);
            return Failed;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped by the runner: a listener's normal end, a dialer's interruption.
            return settings.IsDialer ? Failed : Passed;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            await log.WriteLineAsync($"ERROR {Describe(e)} (while {phase.Now})").ConfigureAwait(false);
            return Failed;
        }
        finally
        {
            await system.Terminate().ConfigureAwait(false);
        }
    }

    /// <summary>A host with one transport, one security protocol and one muxer, as <paramref name="settings"/> names them.</summary>
    public static HostSettings HostSettingsFor(InteropSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var identity = PrivateKey.Generate(KeyType.Ed25519);
        var listen = settings.IsDialer
            ? Array.Empty<Multiaddr>()
            : [Multiaddr.Parse($"/ip4/{settings.ListenIp}/tcp/0{(settings.Transport == "ws" ? "/ws" : "")}")];
        return new HostSettings(identity)
        {
            ListenAddresses = listen,
            DialTimeout = settings.Timeout,
            Echo = false,
            Perf = false,
            Swarm = new SwarmSettings(identity)
            {
                Security = [settings.Security == "tls" ? TlsHandshake.ProtocolId : NoiseHandshake.ProtocolId],
                Muxers = [settings.Muxer == "mplex" ? MuxerFactory.Mplex : MuxerFactory.Yamux],
            },
        };
    }

    private static async Task<int> DialAsync(InteropSettings settings, Libp2pHost host, RedisRendezvous redis, TextWriter result, TextWriter log,
        Stopwatch deadline, Phase phase, CancellationToken cancellationToken)
    {
        phase.Now = $"waiting for the listener's address in Redis {(settings.Contract == InteropContract.TransportInterop ? "list" : "key")} '{settings.ListenerKey}' at {settings.RedisAddress}";
        var text = await redis.WaitForListenerAsync(settings, settings.Timeout - deadline.Elapsed, cancellationToken).ConfigureAwait(false);
        if (!Multiaddr.TryParse(text, out var address) || address.PeerIdText is null)
            throw new FormatException($"the listener published '{text}', which is not a multiaddr ending in /p2p/<peer id>");
        var (peer, _) = Libp2pHost.Split(address);
        await log.WriteLineAsync($"dialing {address}").ConfigureAwait(false);
        phase.Now = $"dialing {address}";

        // The contracts' measurement: from starting the dial to the first ping's answer.
        var started = Stopwatch.GetTimestamp();
        await host.ConnectAsync(address, cancellationToken).ConfigureAwait(false);
        phase.Now = $"pinging {peer}";
        var rtt = (await host.PingAsync(peer, 1, cancellationToken).ConfigureAwait(false))[0];
        var handshakePlusOneRtt = Stopwatch.GetElapsedTime(started);

        await result.WriteLineAsync(new PingMeasurement(handshakePlusOneRtt.TotalMilliseconds, rtt.TotalMilliseconds).Format(settings.Contract)).ConfigureAwait(false);
        await result.FlushAsync(cancellationToken).ConfigureAwait(false);
        await host.StopAsync(cancellationToken).ConfigureAwait(false);
        return Passed;
    }

    private static async Task<int> ListenAsync(InteropSettings settings, Libp2pHost host, RedisRendezvous redis, TextWriter log,
        Phase phase, CancellationToken stop, CancellationToken cancellationToken)
    {
        var addresses = await host.AddressesAsync(cancellationToken).ConfigureAwait(false);
        // Bound to every interface, the listener publishes one a peer elsewhere can reach: not loopback when there is another.
        var address = addresses.FirstOrDefault(a => !a.ToString().StartsWith("/ip4/127.", StringComparison.Ordinal)) ?? addresses.FirstOrDefault()
            ?? throw new InvalidOperationException($"the host listens on no address (asked for {string.Join(", ", host.Settings.ListenAddresses)})");
        await redis.PublishAsync(settings, address.ToString()).ConfigureAwait(false);
        await log.WriteLineAsync($"listening on {address}, published as '{settings.ListenerKey}'").ConfigureAwait(false);
        phase.Now = $"listening on {address}: the runner stops the listener when its dialer is done";

        // The runner ends the listener once the dialer is done; reaching the deadline first is a failure.
        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        return stop.IsCancellationRequested ? Passed : Failed;
    }

    private sealed class Phase(string now)
    {
        public string Now { get; set; } = now;
    }

    private static string Describe(Exception e)
    {
        var message = e.Message;
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
            message += $": {inner.Message}";
        return string.Join(' ', $"{e.GetType().Name}: {message}".Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}
