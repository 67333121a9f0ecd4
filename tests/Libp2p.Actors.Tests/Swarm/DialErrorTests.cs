using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Libp2p.Actors.Network;
using Libp2p.Actors.Resources;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Noise;
using Libp2p.Protocols.Peer;
using Libp2p.Protocols.Transport;
using Libp2p.Actors.Swarm;

namespace Libp2p.Actors.Tests.Swarm;

/// <summary>What the dialer is told when a dial fails: each cause by its name, on loopback only.</summary>
public sealed class DialErrorTests : SwarmTestKit
{
    [Fact]
    public async Task A_refused_TCP_connect_must_say_refused()
    {
        var b = StartHost("");
        var address = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{ReleasedPort()}");

        var (error, attempt) = await DialFailsAsync(b, Nobody(), address);

        var transport = Assert.IsType<TransportException>(attempt);
        Assert.Equal(TransportFailure.Refused, transport.Failure);
        Assert.EndsWith($"all addresses failed: {address}: tcp: dial {address} failed: connection refused (nothing listens there)", error.Message, StringComparison.Ordinal);
        CloseAll(b);
    }

    [Fact]
    public async Task A_TCP_connect_that_hangs_must_time_out_within_the_dials_time_and_say_so()
    {
        var b = StartHost("");
        using var full = FullBacklog(out var address);

        var (error, attempt) = await DialFailsAsync(b, Nobody(), address, DialOptions.Default.WithTimeout(TimeSpan.FromSeconds(2)));

        // The connect had what was left of the dial's 2 s, not a fixed 10 s: whichever of the two
        // ends first, the dialer reads that this address timed out.
        Assert.Contains("timed out after", attempt.Message, StringComparison.Ordinal);
        Assert.True(attempt is TransportException { Failure: TransportFailure.TimedOut } or TimeoutException, attempt.GetType().Name);
        Assert.Contains($"{address}: ", error.Message, StringComparison.Ordinal);
        CloseAll(b);
    }

    [Fact]
    public async Task A_remote_over_its_connection_limit_must_be_reported_as_closed_during_the_upgrade()
    {
        // The remote refuses before its handshake and says nothing on the wire about why: the dialer
        // can only tell that it closed the connection during the upgrade.
        var full = StartHost(configure: s => s with { Resources = new ResourceManager(new ResourceLimits { System = ScopeLimit.Unlimited with { ConnsInbound = 0 } }) });
        var b = StartHost("");

        var (error, attempt) = await DialFailsAsync(b, full.Peer, full.Addresses[0]);

        // Closed, or reset when our first bytes reached it before it refused (it had not read them).
        Assert.IsType<ConnectionClosedException>(attempt);
        Assert.Matches("^connection failed: the remote (closed|reset) the connection during the upgrade$", attempt.Message);
        Assert.EndsWith($"{full.Addresses[0]}: {attempt.Message}", error.Message, StringComparison.Ordinal);
        CloseAll(full, b);
    }

    [Fact]
    public async Task A_remote_that_closes_right_after_accepting_must_be_reported_as_closed_during_the_upgrade()
    {
        var b = StartHost("");
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var closed = Task.Run(async () =>
        {
            using var accepted = await listener.AcceptSocketAsync();
            // Its side closed at once (a FIN), what the dialer sent meanwhile read and dropped: a socket
            // closed with unread bytes sends a reset instead, and the dialer's first bytes may be in
            // by now or not, as threads are scheduled.
            accepted.Shutdown(SocketShutdown.Send);
            try
            {
                while (await accepted.ReceiveAsync(new byte[1024], SocketFlags.None) > 0)
                {
                }
            }
            catch (SocketException)
            {
                // The dialer cut its side after it failed.
            }
        });
        var address = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{((IPEndPoint)listener.LocalEndpoint).Port}");

        var (_, attempt) = await DialFailsAsync(b, Nobody(), address);

        await closed.WaitAsync(Patience);
        Assert.IsType<ConnectionClosedException>(attempt);
        Assert.Equal("connection failed: the remote closed the connection during the upgrade", attempt.Message);
        CloseAll(b);
    }

    [Fact]
    public async Task A_remote_with_another_peer_ID_must_be_named_in_the_error()
    {
        var a = StartHost();
        var b = StartHost("");
        var expected = Nobody();

        var (error, attempt) = await DialFailsAsync(b, expected, a.Addresses[0]);

        Assert.IsType<ConnectionClosedException>(attempt);
        Assert.IsType<NoiseException>(attempt.GetBaseException());
        Assert.EndsWith($"noise: dialed {expected} but the remote is {a.Peer}", error.Message, StringComparison.Ordinal);
        CloseAll(a, b);
    }

    private async Task<(DialException Error, Exception Attempt)> DialFailsAsync(Host from, PeerId peer, Multiaddr address, DialOptions? options = null)
    {
        var failed = await from.Swarm.Ask<SwarmProtocol.DialFailed>(new SwarmProtocol.Dial(peer, options ?? DialOptions.Default, [address]), Patience);
        var error = Assert.IsType<DialException>(failed.Reason);
        var (at, attempt) = Assert.Single(error.Attempts);
        Assert.Equal(address, at);
        return (error, attempt);
    }

    private static PeerId Nobody()
    {
        using var key = PrivateKey.Generate(KeyType.Ed25519);
        return PeerId.FromPublicKey(key.PublicKey);
    }

    private static int ReleasedPort()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        return ((IPEndPoint)taken.LocalEndpoint).Port;
    }

    /// <summary>
    /// A loopback listener that never accepts, its backlog filled by one connection: Linux drops
    /// further SYNs, so a connect to it hangs until its timeout.
    /// </summary>
    private static IDisposable FullBacklog(out Multiaddr address)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        filler.Connect(listener.LocalEndPoint!);
        address = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{((IPEndPoint)listener.LocalEndPoint!).Port}");
        return new Both(listener, filler);
    }

    private sealed class Both(Socket listener, Socket filler) : IDisposable
    {
        public void Dispose()
        {
            filler.Dispose();
            listener.Dispose();
        }
    }
}
