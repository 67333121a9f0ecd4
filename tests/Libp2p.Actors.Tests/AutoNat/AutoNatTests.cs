using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Google.Protobuf;
using Libp2p.Actors.AutoNat;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Actors.Swarm;
using Libp2p.Actors.Tests.Swarm;
using Libp2p.Protocols.AutoNat;
using Libp2p.Protocols.AutoNat.Pb;
using Libp2p.Protocols.Encoding;
using Libp2p.Protocols.Multiformats;
using ResponseStatus = Libp2p.Protocols.AutoNat.Pb.DialResponse.Types.ResponseStatus;

namespace Libp2p.Actors.Tests.AutoNat;

/// <summary>Our AutoNAT v2 client against our server, over loopback TCP (so the server is told to dial private addresses).</summary>
public sealed class AutoNatTests : SwarmTestKit
{
    private static readonly AutoNatServerSettings Loopback = AutoNatServerSettings.Default with { AllowPrivateAddresses = true };

    private Host StartServer(AutoNatServerSettings? settings = null)
    {
        var server = StartHost();
        var dialer = StartHost("");
        var service = new AutoNatServer(new NetworkClient(dialer.Swarm, dialer.Peer), settings ?? Loopback);
        SetHandler(server, AutoNatV2.DialRequestProtocolId, StreamHandler.From(service.ServeAsync));
        return server;
    }

    private (Host Host, AutoNatClient AutoNat) StartClient(Host server, int maxDialData = AutoNatV2.MaxDialData)
    {
        var client = StartHost();
        var autonat = new AutoNatClient(new NetworkClient(client.Swarm, client.Peer)) { MaxDialData = maxDialData };
        SetHandler(client, AutoNatV2.DialBackProtocolId, StreamHandler.From(autonat.ServeDialBackAsync));
        Dial(client, server);
        return (client, autonat);
    }

    private static Multiaddr Unused()
    {
        var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        var port = ((IPEndPoint)socket.LocalEndpoint).Port;
        socket.Stop();
        return Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{port}");
    }

    [Fact]
    public async Task A_listening_address_must_be_reported_reachable()
    {
        var server = StartServer();
        var (client, autonat) = StartClient(server);

        var result = await autonat.CheckAsync(server.Peer, client.Addresses, Patience);

        Assert.Equal((client.Addresses[0], 0, DialStatus.Ok), (result.Address, result.Index, result.Status));
        Assert.True(result.Reachable);
    }

    [Fact]
    public async Task An_address_nobody_listens_on_must_be_reported_unreachable()
    {
        var server = StartServer();
        var (_, autonat) = StartClient(server);
        var nobody = Unused();

        var result = await autonat.CheckAsync(server.Peer, [nobody], Patience);

        Assert.Equal((nobody, DialStatus.EDialError), (result.Address, result.Status));
        Assert.True(result.Unreachable);
    }

    [Fact]
    public async Task The_server_must_dial_the_first_address_it_is_willing_to_and_skip_relayed_ones()
    {
        var server = StartServer();
        var (client, autonat) = StartClient(server);
        var relayed = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/1/p2p/{server.Peer}/p2p-circuit");

        var result = await autonat.CheckAsync(server.Peer, [relayed, client.Addresses[0]], Patience);

        Assert.Equal((1, DialStatus.Ok), (result.Index, result.Status));
    }

    [Fact]
    public async Task An_address_of_another_IP_must_cost_dial_data_that_the_client_pays()
    {
        var server = StartServer();
        var (client, autonat) = StartClient(server);
        // The client reached the server from 127.0.0.1; 127.0.0.2 is another IP of the same machine.
        var other = (await client.Swarm.Ask<SwarmProtocol.Listening>(new SwarmProtocol.Listen([Multiaddr.Parse("/ip4/127.0.0.2/tcp/0")]), Patience)).Addresses[0];

        var result = await autonat.CheckAsync(server.Peer, [other], Patience);

        Assert.Equal((other, DialStatus.Ok), (result.Address, result.Status));
    }

    [Fact]
    public async Task A_server_must_ask_for_dial_data_before_dialing_another_IP()
    {
        var server = StartServer();
        var (client, _) = StartClient(server);
        var other = (await client.Swarm.Ask<SwarmProtocol.Listening>(new SwarmProtocol.Listen([Multiaddr.Parse("/ip4/127.0.0.2/tcp/0")]), Patience)).Addresses[0];
        var stream = await OpenAsync(client, server, AutoNatV2.DialRequestProtocolId);
        var request = new DialRequest { Nonce = 42 };
        request.Addrs.Add(ByteString.CopyFrom(Multiaddr.Parse("/ip4/10.0.0.1/tcp/4001").Bytes));
        request.Addrs.Add(ByteString.CopyFrom(other.Bytes));

        await DelimitedMessages.WriteAsync(stream.Stream, new Message { DialRequest = request });
        var ask = await ReadAsync(stream);

        Assert.Equal(Message.MsgOneofCase.DialDataRequest, ask.MsgCase);
        // 10.0.0.1 is private but allowed here, and the first address: it is the one charged for.
        Assert.Equal((0u, 30_000ul), (ask.DialDataRequest.AddrIdx, ask.DialDataRequest.NumBytes));
        stream.Reset();
    }

    [Fact]
    public async Task A_client_must_refuse_more_dial_data_than_it_pays()
    {
        var server = StartServer();
        var (client, autonat) = StartClient(server, maxDialData: 1000);
        var other = (await client.Swarm.Ask<SwarmProtocol.Listening>(new SwarmProtocol.Listen([Multiaddr.Parse("/ip4/127.0.0.2/tcp/0")]), Patience)).Addresses[0];

        var error = await Assert.ThrowsAsync<AutoNatException>(() => autonat.CheckAsync(server.Peer, [other], Patience));

        Assert.Contains("30000 bytes of dial data", error.Message);
        Assert.Null(error.Status);
    }

    [Fact]
    public async Task A_nonce_no_check_sent_must_come_back_as_E_DIAL_BACK_ERROR()
    {
        var server = StartServer();
        var (client, _) = StartClient(server);
        var stream = await OpenAsync(client, server, AutoNatV2.DialRequestProtocolId);
        var request = new DialRequest { Nonce = 42 };
        request.Addrs.Add(ByteString.CopyFrom(client.Addresses[0].Bytes));

        await DelimitedMessages.WriteAsync(stream.Stream, new Message { DialRequest = request });
        var answer = await ReadAsync(stream);

        Assert.Equal(Message.MsgOneofCase.DialResponse, answer.MsgCase);
        Assert.Equal((ResponseStatus.Ok, 0u, DialStatus.EDialBackError), (answer.DialResponse.Status, answer.DialResponse.AddrIdx, answer.DialResponse.DialStatus));
    }

    [Fact]
    public async Task A_private_address_must_be_refused_unless_allowed()
    {
        var server = StartServer(AutoNatServerSettings.Default);
        var (client, autonat) = StartClient(server);

        var error = await Assert.ThrowsAsync<AutoNatException>(() => autonat.CheckAsync(server.Peer, client.Addresses, Patience));

        Assert.Equal(ResponseStatus.EDialRefused, error.Status);
    }

    [Fact]
    public async Task A_peer_over_its_rate_must_be_rejected()
    {
        var server = StartServer(Loopback with { RequestsPerPeerPerMinute = 1 });
        var (client, autonat) = StartClient(server);
        await autonat.CheckAsync(server.Peer, client.Addresses, Patience);

        var error = await Assert.ThrowsAsync<AutoNatException>(() => autonat.CheckAsync(server.Peer, client.Addresses, Patience));

        Assert.Equal(ResponseStatus.ERequestRejected, error.Status);
    }

    [Fact]
    public async Task A_message_of_no_type_must_reset_the_stream()
    {
        var server = StartServer();
        var (client, _) = StartClient(server);
        var stream = await OpenAsync(client, server, AutoNatV2.DialRequestProtocolId);

        await DelimitedMessages.WriteAsync(stream.Stream, new Message());

        await Assert.ThrowsAsync<Libp2p.Protocols.Connections.StreamResetException>(() => ReadAsync(stream));
    }

    [Fact]
    public async Task An_oversized_message_must_reset_the_stream()
    {
        var server = StartServer();
        var (client, _) = StartClient(server);
        var stream = await OpenAsync(client, server, AutoNatV2.DialRequestProtocolId);
        var prefix = new System.Buffers.ArrayBufferWriter<byte>();
        Varint.Write(prefix, (ulong)AutoNatV2.MaxMessageSize + 1);

        await stream.Stream.WriteAsync(prefix.WrittenMemory);
        await stream.Stream.FlushAsync();

        await Assert.ThrowsAsync<Libp2p.Protocols.Connections.StreamResetException>(() => ReadAsync(stream));
    }

    [Fact]
    public async Task A_dial_data_chunk_over_4096_bytes_must_reset_the_stream()
    {
        var server = StartServer();
        var (client, _) = StartClient(server);
        var other = (await client.Swarm.Ask<SwarmProtocol.Listening>(new SwarmProtocol.Listen([Multiaddr.Parse("/ip4/127.0.0.2/tcp/0")]), Patience)).Addresses[0];
        var stream = await OpenAsync(client, server, AutoNatV2.DialRequestProtocolId);
        var request = new DialRequest { Nonce = 7 };
        request.Addrs.Add(ByteString.CopyFrom(other.Bytes));
        await DelimitedMessages.WriteAsync(stream.Stream, new Message { DialRequest = request });
        Assert.Equal(Message.MsgOneofCase.DialDataRequest, (await ReadAsync(stream)).MsgCase);

        await DelimitedMessages.WriteAsync(stream.Stream, new Message { DialDataResponse = new DialDataResponse { Data = ByteString.CopyFrom(new byte[AutoNatV2.MaxDialDataChunk + 1]) } });

        await Assert.ThrowsAsync<Libp2p.Protocols.Connections.StreamResetException>(() => ReadAsync(stream));
    }

    [Fact]
    public async Task A_server_claiming_OK_without_delivering_the_nonce_must_not_be_believed()
    {
        var liar = StartHost();
        SetHandler(liar, AutoNatV2.DialRequestProtocolId, StreamHandler.From(async stream =>
        {
            await DelimitedMessages.ReadAsync(stream.Stream, Message.Parser, AutoNatV2.MaxMessageSize, "test");
            await DelimitedMessages.WriteAsync(stream.Stream, new Message { DialResponse = new DialResponse { Status = ResponseStatus.Ok, DialStatus = DialStatus.Ok } });
            stream.CloseWrite();
        }));
        var (client, autonat) = StartClient(liar);

        var error = await Assert.ThrowsAsync<AutoNatException>(() => autonat.CheckAsync(liar.Peer, client.Addresses, Patience));

        Assert.Contains("nonce never arrived", error.Message);
    }

    private async Task<Message> ReadAsync(StreamHandle stream) =>
        await DelimitedMessages.ReadAsync(stream.Stream, Message.Parser, AutoNatV2.MaxMessageSize, "test").WaitAsync(Patience)
        ?? throw new Xunit.Sdk.XunitException("the server closed the stream without answering");
}
