using System.Net;
using System.Net.Sockets;
using Akka;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Libp2p.Protocols.Connections;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Tests.Connections;
using Libp2p.Protocols.Transport;

namespace Libp2p.Protocols.Tests.Transport;

public sealed class SocketTransportTests : ConnectionTestKit
{
    private static readonly SocketTransport Transport = SocketTransport.Instance;

    [Fact]
    public void Sends_must_take_the_ByteStrings_arrays_as_they_are()
    {
        // Akka.NET's ByteString.Buffers is internal; if an upgrade drops it, sends copy (and this shows).
        Assert.True(ByteStringSegments.IsZeroCopy);
    }

    [Fact]
    public async Task A_dial_to_a_closed_port_must_fail_with_connection_refused()
    {
        var port = FreePort();
        var address = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{port}");

        var connected = Source.Never<ByteString>().ViaMaterialized(Transport.Dial(Sys, address, Patience), Keep.Right)
            .To(Sink.Ignore<ByteString>()).Run(Materializer);

        var error = await Assert.ThrowsAsync<TransportException>(() => connected.WaitAsync(Patience));
        Assert.Equal($"tcp: dial {address} failed: connection refused (nothing listens there)", error.Message);
        Assert.Equal(SocketError.ConnectionRefused, Assert.IsType<SocketException>(error.InnerException).SocketErrorCode);
    }

    [Fact]
    public async Task A_dial_nobody_answers_must_time_out_with_the_timeout_in_the_message()
    {
        // A listener that never accepts, with a backlog of one: once its queue is full, Linux drops
        // further SYNs and a connect hangs until our timeout.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var address = TcpAddresses.ToMultiaddr(listener.LocalEndPoint!);
        var fillers = new List<UniqueKillSwitch>();
        try
        {
            TransportException? error = null;
            // Each dial that still gets in fills the queue further; the first that does not is the one we check.
            for (var i = 0; i < 8 && error is null; i++)
            {
                var (kill, connected) = Source.Never<ByteString>().ViaMaterialized(KillSwitches.Single<ByteString>(), Keep.Right)
                    .ViaMaterialized(Transport.Dial(Sys, address, TimeSpan.FromMilliseconds(500)), Keep.Both)
                    .To(Sink.Ignore<ByteString>()).Run(Materializer);
                fillers.Add(kill);
                try
                {
                    await connected.WaitAsync(Patience);
                }
                catch (TransportException e)
                {
                    error = e;
                }
            }

            Assert.NotNull(error);
            Assert.Equal($"tcp: dial {address} failed: timed out after 0.5 s", error.Message);
            Assert.Equal(SocketError.TimedOut, Assert.IsType<SocketException>(error.InnerException).SocketErrorCode);
        }
        finally
        {
            foreach (var kill in fillers)
                kill.Shutdown();
        }
    }

    [Theory]
    [InlineData("/ip4/0.0.0.0/tcp/0")]
    [InlineData("/ip6/::/tcp/0")]
    public async Task A_listener_on_every_interface_must_take_a_dial_to_loopback_and_show_it_as_ip4(string listenOn)
    {
        var inbound = new TaskCompletionSource<InboundConnection>();
        var bound = await Transport.Listen(Sys, Multiaddr.Parse(listenOn))
            .To(Sink.ForEach<InboundConnection>(c =>
            {
                c.Flow.Join(Flow.Create<ByteString>()).Run(Materializer);
                inbound.TrySetResult(c);
            }))
            .Run(Materializer).WaitAsync(Patience);
        var port = bound.Address.ValueFor("tcp");

        var (connected, answer) = Source.Single(ByteString.FromString("hello")).Concat(Source.Never<ByteString>())
            .ViaMaterialized(Transport.Dial(Sys, Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{port}"), Patience), Keep.Right)
            .ToMaterialized(Sink.First<ByteString>(), Keep.Both).Run(Materializer);

        Assert.Equal("hello", (await answer.WaitAsync(Patience)).ToString());
        var accepted = await inbound.Task.WaitAsync(Patience);
        var dialer = await connected.WaitAsync(Patience);
        Assert.Equal(dialer.LocalAddress, accepted.Addresses.RemoteAddress);
        Assert.StartsWith("/ip4/127.0.0.1/tcp/", accepted.Addresses.RemoteAddress.ToString(), StringComparison.Ordinal);
        Assert.Equal($"/ip4/127.0.0.1/tcp/{port}", accepted.Addresses.LocalAddress.ToString());
        await bound.UnbindAsync();
    }

    [Fact]
    public async Task Sixty_four_MiB_must_echo_byte_identical_through_the_bare_stages()
    {
        var bound = await Transport.Listen(Sys, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))
            .To(Sink.ForEach<InboundConnection>(c => c.Flow.Join(Flow.Create<ByteString>()).Run(Materializer)))
            .Run(Materializer).WaitAsync(Patience);
        var data = RandomBytes(64 * 1024 * 1024);
        var received = new MemoryStream(data.Length);
        var done = new TaskCompletionSource();

        // The writer stays open: half-close is off, so finishing it would close the socket as a whole.
        var connected = Source.From(Chunks(data, 64 * 1024)).Concat(Source.Never<ByteString>())
            .ViaMaterialized(Transport.Dial(Sys, bound.Address, Patience), Keep.Right)
            .TakeWhile(bytes =>
            {
                received.Write(bytes.ToReadOnlySpan());
                if (received.Length >= data.Length)
                    done.TrySetResult();
                return received.Length < data.Length;
            })
            .To(Sink.Ignore<ByteString>()).Run(Materializer);

        await connected.WaitAsync(Patience);
        await done.Task.WaitAsync(Patience);
        Assert.True(data.AsSpan().SequenceEqual(received.ToArray()), "the echo differs");
        await bound.UnbindAsync();
    }

    [Fact]
    public async Task A_port_another_listener_holds_must_be_refused()
    {
        var first = await Transport.Listen(Sys, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))
            .To(Sink.Ignore<InboundConnection>()).Run(Materializer).WaitAsync(Patience);

        var second = Transport.Listen(Sys, first.Address).To(Sink.Ignore<InboundConnection>()).Run(Materializer);

        var error = await Assert.ThrowsAsync<TransportException>(() => second.WaitAsync(Patience));
        Assert.StartsWith($"tcp: listen on {first.Address} failed: ", error.Message, StringComparison.Ordinal);
        Assert.Equal(SocketError.AddressAlreadyInUse, Assert.IsType<SocketException>(error.InnerException).SocketErrorCode);
        await first.UnbindAsync();
    }

    [Fact]
    public async Task A_port_must_be_bound_again_while_its_last_connection_sits_in_TIME_WAIT()
    {
        var first = await Transport.Listen(Sys, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))
            .To(Sink.ForEach<InboundConnection>(c => c.Flow.RunWith(Source.Empty<ByteString>(), Sink.Ignore<ByteString>(), Materializer)))
            .Run(Materializer).WaitAsync(Patience);
        first.Address.TryGetIPEndPoint(out var endPoint);
        using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await client.ConnectAsync(endPoint!);
            // The listener's side closes first (its upstream is empty), so its end goes to TIME_WAIT.
            Assert.Equal(0, await client.ReceiveAsync(new byte[1], SocketFlags.None).WaitAsync(Patience));
        }
        await first.UnbindAsync().WaitAsync(Patience);

        var again = await Transport.Listen(Sys, first.Address).To(Sink.Ignore<InboundConnection>()).Run(Materializer).WaitAsync(Patience);

        Assert.Equal(first.Address, again.Address);
        await again.UnbindAsync();
    }

    [Fact]
    public async Task A_connection_never_taken_must_be_closed_when_its_listener_stops()
    {
        var (bound, client, dropped) = await AcceptRawAsync();
        using var _ = client;

        await bound.UnbindAsync().WaitAsync(Patience);

        // The client reads the end of the stream: the accepted socket was closed.
        Assert.Equal(0, await client.ReceiveAsync(new byte[1], SocketFlags.None).WaitAsync(Patience));
        var late = dropped.Flow.RunWith(Source.Never<ByteString>(), Sink.Ignore<ByteString>(), Materializer).Item2;
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => late.WaitAsync(Patience));
        Assert.Contains("closed when its listener stopped", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_inbound_flow_must_run_once()
    {
        var (bound, client, accepted) = await AcceptRawAsync();
        using var _ = client;

        var first = accepted.Flow.RunWith(Source.Never<ByteString>(), Sink.Ignore<ByteString>(), Materializer).Item2;
        var second = accepted.Flow.RunWith(Source.Never<ByteString>(), Sink.Ignore<ByteString>(), Materializer).Item2;

        // Whichever started second fails; the other runs on.
        var loser = await Task.WhenAny(first, second).WaitAsync(Patience);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => loser);
        Assert.False((loser == first ? second : first).IsCompleted);
        Assert.Contains("can be materialized only once", error.Message, StringComparison.Ordinal);
        await bound.UnbindAsync();
    }

    [Fact]
    public async Task A_remote_reset_must_fail_the_stage_naming_the_address_and_the_socket_error()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var address = TcpAddresses.ToMultiaddr(listener.LocalEndPoint!);
        var (connected, completion) = Source.Never<ByteString>()
            .ViaMaterialized(Transport.Dial(Sys, address, Patience), Keep.Right)
            .ToMaterialized(Sink.Ignore<ByteString>(), Keep.Both).Run(Materializer);
        await connected.WaitAsync(Patience);
        using (var server = await listener.AcceptAsync())
            server.LingerState = new LingerOption(true, 0);

        var error = await Assert.ThrowsAsync<TransportException>(() => completion.WaitAsync(Patience));
        Assert.Equal($"tcp: the connection to {address} failed: ConnectionReset", error.Message);
        Assert.Equal(SocketError.ConnectionReset, Assert.IsType<SocketException>(error.InnerException).SocketErrorCode);
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>A listener, a plain socket connected to it, and the inbound connection it accepted.</summary>
    private async Task<(TransportListener Bound, Socket Client, InboundConnection Accepted)> AcceptRawAsync()
    {
        var inbound = new TaskCompletionSource<InboundConnection>();
        var bound = await Transport.Listen(Sys, Multiaddr.Parse("/ip4/127.0.0.1/tcp/0"))
            .To(Sink.ForEach<InboundConnection>(c => inbound.TrySetResult(c)))
            .Run(Materializer).WaitAsync(Patience);
        bound.Address.TryGetIPEndPoint(out var endPoint);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(endPoint!);
        return (bound, client, await inbound.Task.WaitAsync(Patience));
    }
}
