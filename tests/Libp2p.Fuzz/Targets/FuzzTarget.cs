namespace Libp2p.Fuzz;

/// <summary>
/// One parser under fuzzing. <see cref="Run"/> feeds it one input and swallows only the errors the
/// parser documents for bad input; anything else escaping (an IndexOutOfRangeException, a
/// NullReferenceException, an OverflowException, a broken round trip reported as
/// <see cref="FuzzCheckException"/>) is a crash, and so is a run that does not end.
/// </summary>
/// <param name="Name">How the command line and the corpus folder name it.</param>
/// <param name="Covers">What it feeds the input to, for docs and <c>list</c>.</param>
/// <param name="Run">Runs one input.</param>
public sealed record FuzzTarget(string Name, string Covers, Action<byte[]> Run);

/// <summary>A parser accepted an input but broke a property it promises (a round trip, a consistent length).</summary>
public sealed class FuzzCheckException : Exception
{
    /// <summary>Creates the exception with what broke.</summary>
    public FuzzCheckException(string message) : base(message) { }

    /// <summary>Throws unless <paramref name="condition"/> holds.</summary>
    public static void Check(bool condition, string what)
    {
        if (!condition)
            throw new FuzzCheckException(what);
    }
}

/// <summary>Every target, by name.</summary>
public static partial class FuzzTargets
{
    // Built on first use: the targets are static properties of several files, whose initializers run in no set order.
    private static FuzzTarget[]? _all;

    /// <summary>All targets, in the order <c>--fuzz-target=all</c> runs them.</summary>
    public static IReadOnlyList<FuzzTarget> All => _all ??=
    [
        Varint,
        MultiaddrText,
        MultiaddrBytes,
        Multistream,
        NoiseFrames,
        NoiseHandshake,
        NoisePayload,
        Yamux,
        Mplex,
        Identify,
        SignedEnvelope,
        PeerRecord,
        PublicKey,
        PrivateKey,
        WebSocketFrames,
        WebSocketReader,
        WebSocketUpgrade,
        TlsCertificate,
        TlsClientHello,
    ];

    /// <summary>The target called <paramref name="name"/>, or null.</summary>
    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);

    /// <summary>
    /// Cuts <paramref name="input"/> into the pieces a stream parser receives: the first byte is the
    /// piece size (0: all at once), the rest is the stream. Lets the fuzzer explore every split.
    /// </summary>
    internal static IEnumerable<ArraySegment<byte>> Pieces(byte[] input)
    {
        if (input.Length == 0)
            yield break;
        var size = input[0] == 0 ? input.Length : input[0];
        for (var offset = 1; offset < input.Length; offset += size)
            yield return new ArraySegment<byte>(input, offset, Math.Min(size, input.Length - offset));
    }
}
