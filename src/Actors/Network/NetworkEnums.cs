namespace Libp2p.Actors.Network;

/// <summary>How connected we are to a peer (the seed's <c>Connectedness</c>; names are its string forms).</summary>
public enum Connectedness
{
    /// <summary>No connection, and no extra information.</summary>
    NotConnected = 0,

    /// <summary>An open, live connection.</summary>
    Connected = 1,

    /// <summary>Recently connected, and the connection ended gracefully.</summary>
    CanConnect = 2,

    /// <summary>Recently tried to connect and failed.</summary>
    CannotConnect = 3,
}

/// <summary>Which side opened a connection or stream (the seed's <c>Direction</c>: DirUnknown, DirInbound, DirOutbound).</summary>
public enum Direction
{
    /// <summary>Not known.</summary>
    Unknown = 0,

    /// <summary>The remote opened it.</summary>
    Inbound = 1,

    /// <summary>This side opened it.</summary>
    Outbound = 2,
}

/// <summary>Whether this node can be reached from the public internet (the seed's <c>Reachability</c>).</summary>
public enum Reachability
{
    /// <summary>Not known.</summary>
    Unknown = 0,

    /// <summary>Reachable from the public internet.</summary>
    Public = 1,

    /// <summary>Not reachable from the public internet (perhaps through relays).</summary>
    Private = 2,
}

/// <summary>The kind of NAT in front of this node (the seed's <c>NATDeviceType</c>).</summary>
public enum NATDeviceType
{
    /// <summary>Not known.</summary>
    Unknown = 0,

    /// <summary>The same public address and port for every destination: hole punching can work.</summary>
    Cone = 1,

    /// <summary>A different public address or port per destination: hole punching cannot work.</summary>
    Symmetric = 2,
}

/// <summary>The transport a NAT type was determined for (the seed's <c>NATTransportProtocol</c>).</summary>
#pragma warning disable CA1707 // The seed's string forms are UDP and TCP.
public enum NATTransportProtocol
{
    /// <summary>UDP.</summary>
    UDP = 0,

    /// <summary>TCP.</summary>
    TCP = 1,
}
#pragma warning restore CA1707

/// <summary>The seed's package-level constants.</summary>
public static class NetworkLimits
{
    /// <summary>The largest message libp2p protocols should send in one piece: 4 MiB.</summary>
    public const int MessageSizeMax = 1 << 22;

    /// <summary>How long a dial may take unless the caller says otherwise (the seed's <c>DialPeerTimeout</c>).</summary>
    public static readonly TimeSpan DialPeerTimeout = TimeSpan.FromSeconds(60);
}
