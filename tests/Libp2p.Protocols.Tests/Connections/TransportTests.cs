using Akka.IO;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Tests.Connections;

public sealed class TransportTests : ConnectionTestKit
{
    [Theory]
    [InlineData("tcp", "/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/tcp/")]
    [InlineData("tcp", "/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/")]
    [InlineData("tcp", "/ip6/::1/tcp/0", "/ip6/::1/tcp/")]
    [InlineData("socket", "/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/tcp/")]
    [InlineData("socket", "/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/")]
    [InlineData("socket", "/ip6/::1/tcp/0", "/ip6/::1/tcp/")]
    [InlineData("socket", "/ip6/::/tcp/0", "/ip6/::/tcp/")]
    public async Task Tcp_must_listen_and_report_the_bound_port(string engine, string address, string prefix)
    {
        var bound = await Tcp(engine).Listen(Sys, Multiaddr.Parse(address))
            .To(Sink.Ignore<InboundConnection>()).Run(Materializer).WaitAsync(Patience);
        Assert.StartsWith(prefix, bound.Address.ToString(), StringComparison.Ordinal);
        Assert.NotEqual("0", bound.Address.ValueFor("tcp"));
        await bound.UnbindAsync();
    }

    [Fact]
    public async Task Memory_must_refuse_a_dial_to_nowhere_with_the_reason()
    {
        var connected = Source.Never<ByteString>()
            .ViaMaterialized(MemoryTransport.Instance.Dial(Sys, Multiaddr.Parse("/memory/987654321"), Patience), Keep.Right)
            .To(Sink.Ignore<ByteString>()).Run(Materializer);
        var error = await Assert.ThrowsAsync<TransportException>(() => connected.WaitAsync(Patience));
        Assert.Equal("memory: dial /memory/987654321 failed: nothing listens there", error.Message);
    }

    [Fact]
    public async Task Tcp_must_report_a_refused_connect_as_refused()
    {
        // A port just released: nothing listens there.
        int port;
        using (var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            taken.Start();
            port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        }
        var address = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{port}");

        var error = await Assert.ThrowsAsync<TransportException>(() => DialAsync(address, Patience));

        Assert.Equal(TransportFailure.Refused, error.Failure);
        Assert.Equal($"tcp: dial {address} failed: connection refused (nothing listens there)", error.Message);
    }

    [Fact]
    public async Task Tcp_must_report_a_connect_that_hangs_as_timed_out_after_the_given_time()
    {
        using var full = FullBacklog(out var address);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();

        var error = await Assert.ThrowsAsync<TransportException>(() => DialAsync(address, TimeSpan.FromSeconds(1)));

        Assert.Equal(TransportFailure.TimedOut, error.Failure);
        Assert.Equal($"tcp: dial {address} failed: timed out after 1 s", error.Message);
        Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Tcp_must_end_a_connect_its_owner_cut_at_once_without_trying_again()
    {
        using var full = FullBacklog(out var address);
        var ((connected, owner), _) = Source.Never<ByteString>()
            .ViaMaterialized(TcpTransport.Instance.Dial(Sys, address, Patience), Keep.Right)
            .ViaMaterialized(Akka.Streams.KillSwitches.Single<ByteString>(), Keep.Both)
            .ToMaterialized(Sink.Ignore<ByteString>(), Keep.Both).Run(Materializer);

        // As a dial does to the addresses that lost the race.
        owner.Abort(new InvalidOperationException("another address won"));

        // Not a second connect to find out why, which would hang here until the timeout.
        var error = await Assert.ThrowsAsync<TransportException>(() => connected.WaitAsync(Patience));
        Assert.Equal(TransportFailure.Other, error.Failure);
        Assert.Equal($"tcp: dial {address} ended: the connection was closed before it connected", error.Message);
    }

    private Task<TransportConnection> DialAsync(Multiaddr address, TimeSpan timeout) =>
        Source.Never<ByteString>()
            .ViaMaterialized(TcpTransport.Instance.Dial(Sys, address, timeout), Keep.Right)
            .To(Sink.Ignore<ByteString>()).Run(Materializer).WaitAsync(Patience);

    /// <summary>
    /// A loopback listener that never accepts, its backlog filled by one connection: Linux drops
    /// further SYNs, so a connect to it hangs until its timeout.
    /// </summary>
    internal static IDisposable FullBacklog(out Multiaddr address)
    {
        var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        listener.Listen(0);
        var endPoint = (System.Net.IPEndPoint)listener.LocalEndPoint!;
        var filler = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        filler.Connect(endPoint);
        address = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{endPoint.Port}");
        return new Sockets(listener, filler);
    }

    private sealed class Sockets(params System.Net.Sockets.Socket[] sockets) : IDisposable
    {
        public void Dispose()
        {
            foreach (var socket in sockets)
                socket.Dispose();
        }
    }
}
