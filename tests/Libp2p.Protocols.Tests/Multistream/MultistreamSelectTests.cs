using System.Net;
using System.Net.Sockets;
using Libp2p.Protocols.Multistream;
using static Libp2p.Protocols.Tests.Multistream.NegotiationHarness;

namespace Libp2p.Protocols.Tests.Multistream;

public sealed class MultistreamSelectTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Both_drivers_must_agree_over_an_in_memory_pipe()
    {
        var (a, b) = DuplexStream.CreatePair();
        using var timeout = new CancellationTokenSource(Patience);
        var serving = MultistreamSelect.HandleAsync(b, ["/ipfs/ping/1.0.0", "/echo/1.0.0"], timeout.Token);
        var chosen = await MultistreamSelect.SelectOneOfAsync(a, ["/perf/1.0.0", "/echo/1.0.0"], timeout.Token);
        Assert.Equal("/echo/1.0.0", chosen);
        Assert.Equal("/echo/1.0.0", await serving);
        Assert.Equal([Frame(MultistreamMessage.Header, "/perf/1.0.0"), Frame("/echo/1.0.0")], a.Writes);
    }

    [Fact]
    public async Task The_responder_must_not_read_data_pipelined_behind_the_proposal()
    {
        var (a, b) = DuplexStream.CreatePair();
        using var timeout = new CancellationTokenSource(Patience);
        // A lazy dialer: header, proposal and its first data in one write.
        byte[] input = [.. Frame(MultistreamMessage.Header, "/echo/1.0.0"), .. "ping"u8];
        await a.WriteAsync(input, timeout.Token);

        Assert.Equal("/echo/1.0.0", await MultistreamSelect.HandleAsync(b, ["/echo/1.0.0"], timeout.Token));

        Assert.Equal(Frame(MultistreamMessage.Header, "/echo/1.0.0").Length, b.BytesRead);
        var rest = new byte[4];
        await b.ReadExactlyAsync(rest, timeout.Token);
        Assert.Equal("ping"u8.ToArray(), rest);
    }

    [Fact]
    public async Task The_initiator_must_not_read_data_pipelined_behind_the_echo()
    {
        var (a, b) = DuplexStream.CreatePair();
        using var timeout = new CancellationTokenSource(Patience);
        byte[] input = [.. Frame(MultistreamMessage.Header, "na", "/b"), .. "pong"u8];
        await b.WriteAsync(input, timeout.Token);

        Assert.Equal("/b", await MultistreamSelect.SelectOneOfAsync(a, ["/a", "/b"], timeout.Token));

        var rest = new byte[4];
        await a.ReadExactlyAsync(rest, timeout.Token);
        Assert.Equal("pong"u8.ToArray(), rest);
    }

    [Fact]
    public async Task A_refusal_of_everything_must_surface_as_none_supported_and_end_the_responder()
    {
        var (a, b) = DuplexStream.CreatePair();
        using var timeout = new CancellationTokenSource(Patience);
        var serving = MultistreamSelect.HandleAsync(b, ["/c"], timeout.Token);
        var error = await Assert.ThrowsAsync<MultistreamException>(() => MultistreamSelect.SelectOneOfAsync(a, ["/a", "/b"], timeout.Token));
        Assert.Equal(MultistreamFailure.NoneSupported, error.Reason);
        a.Dispose();
        await Assert.ThrowsAsync<EndOfStreamException>(() => serving);
    }

    [Fact]
    public async Task A_wrong_header_must_surface_as_a_multistream_error()
    {
        var (a, b) = DuplexStream.CreatePair();
        using var timeout = new CancellationTokenSource(Patience);
        await a.WriteAsync(Frame("/multistream/2.0.0"), timeout.Token);
        var error = await Assert.ThrowsAsync<MultistreamException>(() => MultistreamSelect.HandleAsync(b, ["/a"], timeout.Token));
        Assert.Equal(MultistreamFailure.WrongHeader, error.Reason);
        Assert.Empty(b.Writes);
    }

    [Fact]
    public async Task An_oversized_length_must_fail_without_reading_the_body()
    {
        var (a, b) = DuplexStream.CreatePair();
        using var timeout = new CancellationTokenSource(Patience);
        byte[] input = [.. Frame(MultistreamMessage.Header), 0xff, 0xff, 0xff, 0x7f, .. new byte[64]];
        await a.WriteAsync(input, timeout.Token);
        var error = await Assert.ThrowsAsync<MultistreamException>(() => MultistreamSelect.HandleAsync(b, ["/a"], timeout.Token));
        Assert.Equal(MultistreamFailure.ProtocolViolation, error.Reason);
        Assert.Equal(Frame(MultistreamMessage.Header).Length + 2, b.BytesRead);
    }

    [Fact]
    public async Task An_ended_stream_must_be_reported()
    {
        var (a, b) = DuplexStream.CreatePair();
        await b.WriteAsync(Frame(MultistreamMessage.Header));
        b.Dispose();
        await Assert.ThrowsAsync<EndOfStreamException>(() => MultistreamSelect.SelectOneOfAsync(a, ["/a"]));
    }

    [Fact]
    public async Task Cancellation_must_stop_a_waiting_negotiation()
    {
        var (a, _) = DuplexStream.CreatePair();
        using var cancel = new CancellationTokenSource();
        var selecting = MultistreamSelect.SelectOneOfAsync(a, ["/a"], cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => selecting);
    }

    [Fact]
    public async Task The_drivers_must_negotiate_over_a_real_socket_and_leave_the_data_behind()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var server = await listener.AcceptTcpClientAsync();
        var clientStream = client.GetStream();
        var serverStream = server.GetStream();
        using var timeout = new CancellationTokenSource(Patience);

        var serving = MultistreamSelect.HandleAsync(serverStream, ["/ipfs/ping/1.0.0", "/echo/1.0.0"], timeout.Token);
        var chosen = await MultistreamSelect.SelectOneOfAsync(clientStream, ["/perf/1.0.0", "/echo/1.0.0"], timeout.Token);
        await clientStream.WriteAsync("after"u8.ToArray(), timeout.Token);

        Assert.Equal("/echo/1.0.0", chosen);
        Assert.Equal("/echo/1.0.0", await serving);
        var rest = new byte[5];
        await serverStream.ReadExactlyAsync(rest, timeout.Token);
        Assert.Equal("after"u8.ToArray(), rest);
    }
}
