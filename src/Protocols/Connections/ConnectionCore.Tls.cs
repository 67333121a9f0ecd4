using Libp2p.Protocols.Muxing;
using Libp2p.Protocols.Tls;

namespace Libp2p.Protocols.Connections;

/// <summary>The TLS side of <see cref="ConnectionCore"/>: its handshake and plaintext arrive off the owner's thread, taken in by <see cref="Poll"/>.</summary>
public sealed partial class ConnectionCore
{
    /// <inheritdoc />
    public bool HasPendingInput => _tls is { Channel: var channel } && _phase is Phase.Muxer or Phase.Muxed
        && channel.Error is null && !channel.RemoteClosed;

    /// <inheritdoc />
    public int BufferedInput => _tls?.Channel.BufferedBytes ?? 0;

    /// <summary>The TLS channel, once TLS was chosen.</summary>
    internal TlsChannel? Tls => _tls?.Channel;

    /// <inheritdoc />
    public void SetWakeup(Action wake) => _wake = wake ?? throw new ArgumentNullException(nameof(wake));

    /// <inheritdoc />
    public void Poll(ICollection<MuxerEvent> events)
    {
        if (_tls is null || _phase == Phase.Failed)
            return;
        try
        {
            if (_phase == Phase.TlsHandshake)
                PollTlsHandshake(events);
            else if (_phase is Phase.Muxer or Phase.Muxed)
                ReceiveTlsPlaintext(events);
        }
        catch (Exception e) when (e is TlsException or MuxerException)
        {
            Fail(e.Message, e, events);
        }
    }

    /// <inheritdoc />
    public void EndInput() => _tls?.Channel.EndInput();

    private void PollTlsHandshake(ICollection<MuxerEvent> events)
    {
        if (!_tls!.Poll())
            return;
        if (_tls.Error is { } error)
        {
            Fail(error.Message, error, events);
            return;
        }
        _tlsSession = _tls.Session!;
        if (_tlsSession.Muxer is { } early)
        {
            // ALPN settled the muxer in the handshake: one round trip saved, no multistream-select.
            StartMuxer(_muxers.First(m => m.Protocol == early));
        }
        else
        {
            StartMuxerNegotiation();
        }
        ReceiveTlsPlaintext(events);
    }

    private void ReceiveTlsPlaintext(ICollection<MuxerEvent> events)
    {
        var channel = _tls!.Channel;
        while (_phase is Phase.Muxer or Phase.Muxed && channel.TryTakePlaintext(out var buffer, out var length))
        {
            try
            {
                ReceivePlaintext(buffer.AsSpan(0, length), events);
            }
            finally
            {
                TlsChannel.Return(buffer);
            }
        }
        if (channel.Error is { } error && _phase != Phase.Failed)
            Fail($"tls: {error.Message}", error, events);
    }
}
