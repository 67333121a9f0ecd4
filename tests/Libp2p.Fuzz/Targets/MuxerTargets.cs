using System.Buffers;
using Libp2p.Protocols.Muxing;
using Libp2p.Protocols.Muxing.Mplex;
using Libp2p.Protocols.Muxing.Yamux;

namespace Libp2p.Fuzz;

public static partial class FuzzTargets
{
    /// <summary>Yamux frames into a client and a server session.</summary>
    public static FuzzTarget Yamux { get; } = new("yamux", "YamuxSession.Receive (client and server) fed in pieces, every Data event consumed, output drained", input =>
    {
        RunMuxer(new YamuxSession(isClient: true), input);
        RunMuxer(new YamuxSession(isClient: false), input);
    });

    /// <summary>Mplex frames into a session.</summary>
    public static FuzzTarget Mplex { get; } = new("mplex", "MplexSession.Receive fed in pieces, every other Data event consumed (laggards shed), output drained", input =>
        RunMuxer(new MplexSession(), input));

    // A session never throws for bad input: a violation is a SessionFailed event and a closed session.
    private static void RunMuxer(IMuxerSession session, byte[] input)
    {
        using var _ = session;
        var events = new List<MuxerEvent>();
        var output = new ArrayBufferWriter<byte>();
        var consume = true;
        foreach (var piece in Pieces(input))
        {
            events.Clear();
            session.Receive(piece, events);
            foreach (var e in events)
            {
                switch (e)
                {
                    case MuxerEvent.Data data:
                        if (consume)
                            session.Consumed(data.StreamId, data.Length);
                        consume = !consume;
                        break;
                    case MuxerEvent.SessionFailed:
                        FuzzCheckException.Check(session.IsClosed, "a failed session is not closed");
                        break;
                }
            }
            if (session.InputPaused)
            {
                events.Clear();
                session.ShedLaggards(events);
            }
            session.DrainOutput(output);
            output.Clear();
        }
    }
}
