using System.Security.Cryptography;
using System.Text;

namespace Libp2p.Interop;

/// <summary>One test of the matrix: which harness dials, which listens, and over what.</summary>
public sealed record InteropCell(InteropImplementation Dialer, InteropImplementation Listener, string Transport, string Security, string Muxer)
{
    /// <summary>The test's name as the contracts' runners write it: <c>dialer x listener (transport, security, muxer)</c>.</summary>
    public string Name => $"{Dialer.Name} x {Listener.Name} ({Transport}, {Security}, {Muxer})";

    /// <summary>unified-testing's <c>TEST_KEY</c>: the first 8 hex digits of the SHA-256 of the test's name.</summary>
    public string TestKey => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Name)))[..8];
}

/// <summary>How one test ended: a measurement, or why there is none.</summary>
/// <param name="Cell">The test.</param>
/// <param name="Measurement">The dialer's report; null when the test failed.</param>
/// <param name="Failure">Why it failed; null when it passed.</param>
/// <param name="Listener">What the listener published in Redis (the runner reads it back); null if it published nothing.</param>
public sealed record InteropResult(InteropCell Cell, PingMeasurement? Measurement, string? Failure, string? Listener)
{
    /// <summary>Whether the dialer reported a measurement and exited 0.</summary>
    public bool Passed => Measurement is not null && Failure is null;
}
