using Akka.Actor;
using Akka.TestKit;
using Libp2p.Actors.Connections;
using Libp2p.Actors.Network;
using Libp2p.Actors.Peerstore;
using Libp2p.Actors.Swarm;
using Libp2p.Protocols.Crypto;
using Libp2p.Protocols.Multiformats;
using Libp2p.Protocols.Peer;

namespace Libp2p.Actors.Tests.Swarm;

/// <summary>A clock tests move by hand, so backoff needs no waiting.</summary>
public sealed class ManualClock : TimeProvider
{
    private DateTimeOffset _now = DateTimeOffset.UtcNow;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>Swarms in one actor system, talking over loopback TCP or the in-memory transport.</summary>
public abstract class SwarmTestKit : Akka.TestKit.Xunit2.TestKit
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private int _hosts;

    protected SwarmTestKit() : this("") { }

    /// <summary>With more configuration over the kit's own.</summary>
    protected SwarmTestKit(string config) : base($"akka.loglevel = WARNING\n{config}") { }

    protected sealed record Host(IActorRef Swarm, PeerId Peer, PrivateKey Key, IReadOnlyList<Multiaddr> Addresses)
    {
        public IReadOnlyList<Multiaddr> Dialable => Addresses;
    }

    protected Host StartHost(string listen = "/ip4/127.0.0.1/tcp/0", Func<SwarmSettings, SwarmSettings>? configure = null)
    {
        var key = PrivateKey.Generate(KeyType.Ed25519);
        var settings = new SwarmSettings(key);
        settings = configure?.Invoke(settings) ?? settings;
        var swarm = Sys.ActorOf(SwarmActor.Props(settings), $"swarm-{++_hosts}");
        IReadOnlyList<Multiaddr> addresses = [];
        if (listen.Length > 0)
        {
            var listening = swarm.Ask<SwarmProtocol.Listening>(new SwarmProtocol.Listen([Multiaddr.Parse(listen)]), Patience).Result;
            addresses = listening.Addresses;
        }
        return new Host(swarm, PeerId.FromPublicKey(key.PublicKey), key, addresses);
    }

    protected SwarmProtocol.Dialed Dial(Host from, Host to, DialOptions? options = null) =>
        from.Swarm.Ask<SwarmProtocol.Dialed>(new SwarmProtocol.Dial(to.Peer, options ?? DialOptions.Default, to.Addresses), Patience).Result;

    /// <summary>
    /// Dials and waits until <paramref name="to"/> has taken the connection too. A dial is answered
    /// when the dialer's side is up; the listener's may still be finishing its upgrade, and a
    /// connection that ends before it is up there is never Connected there, nor Disconnected.
    /// </summary>
    protected SwarmProtocol.Dialed DialBothSides(Host from, Host to)
    {
        var dialed = Dial(from, to);
        AwaitCondition(() => Conns(to, from.Peer).Count > 0, Patience);
        return dialed;
    }

    protected static StreamHandler Echo => StreamHandler.From(async stream =>
    {
        await stream.Stream.CopyToAsync(stream.Stream);
    });

    protected static async Task<byte[]> EchoThroughAsync(StreamHandle stream, byte[] data)
    {
        var reading = Task.Run(async () =>
        {
            var all = new MemoryStream();
            await stream.Stream.CopyToAsync(all);
            return all.ToArray();
        });
        await stream.Stream.WriteAsync(data);
        stream.CloseWrite();
        return await reading.WaitAsync(Patience);
    }

    protected void SetHandler(Host host, string protocol, StreamHandler handler) =>
        host.Swarm.Ask<SwarmProtocol.HandlerSet>(new SwarmProtocol.SetStreamHandler(protocol, handler), Patience).Wait();

    protected async Task<StreamHandle> OpenAsync(Host from, Host to, params string[] protocols)
    {
        await KnowAsync(from, to);
        var reply = await from.Swarm.Ask(new SwarmProtocol.OpenStream(to.Peer, protocols, DialOptions.Default), Patience);
        return reply switch
        {
            SwarmProtocol.StreamOpened opened => opened.Stream,
            SwarmProtocol.OpenStreamFailed failed => throw failed.Reason,
            _ => throw new InvalidOperationException($"unexpected {reply}"),
        };
    }

    /// <summary>Tells <paramref name="from"/>'s peerstore where <paramref name="to"/> listens, as identify would.</summary>
    protected async Task KnowAsync(Host from, Host to)
    {
        var peerstore = (await from.Swarm.Ask<SwarmProtocol.PeerstoreIs>(SwarmProtocol.GetPeerstore.Instance, Patience)).Peerstore;
        peerstore.Tell(new PeerstoreProtocol.AddAddresses(to.Peer, to.Addresses, PeerstoreProtocol.Ttl.Provider));
    }

    protected IReadOnlyList<ConnectionInfo> Conns(Host host, PeerId? peer = null) =>
        host.Swarm.Ask<SwarmProtocol.ConnsAre>(new SwarmProtocol.GetConns(peer), Patience).Result.Connections;

    protected Connectedness ConnectednessOf(Host host, PeerId peer) =>
        host.Swarm.Ask<SwarmProtocol.ConnectednessIs>(new SwarmProtocol.GetConnectedness(peer), Patience).Result.Connectedness;

    /// <summary>Every scope of <paramref name="resources"/> back to zero: releases are messages, so this waits for them.</summary>
    protected Task ScopesAtZeroAsync(Libp2p.Actors.Resources.ResourceManager resources) =>
        AwaitAssertAsync(async () => Assert.All(await resources.SnapshotAsync(), s => Assert.Equal(Libp2p.Actors.Resources.ScopeStat.Zero, s.Usage)), Patience);

    protected void CloseAll(params Host[] hosts)
    {
        foreach (var host in hosts)
        {
            host.Swarm.Ask<SwarmProtocol.Closed>(SwarmProtocol.Close.Instance, Patience).Wait();
            Assert.Empty(Conns(host));
            host.Key.Dispose();
        }
    }

    protected static byte[] RandomBytes(int length)
    {
        var data = new byte[length];
        Random.Shared.NextBytes(data);
        return data;
    }
}
