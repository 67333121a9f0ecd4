namespace Libp2p.Interop.Tests;

public sealed class MatrixReportTests
{
    private static readonly InteropImplementation Us = InteropImplementation.Dotnet;
    private static readonly InteropImplementation Them = InteropImplementation.Js("/nowhere");

    [Fact]
    public void The_table_has_a_row_per_combination_and_a_column_per_pair()
    {
        InteropResult[] results =
        [
            new(new InteropCell(Us, Them, "tcp", "noise", "yamux"), new PingMeasurement(12.34, 0.56), null, null),
            new(new InteropCell(Them, Us, "tcp", "noise", "yamux"), null, "the dialer exited with 1: refused", null),
            new(new InteropCell(Us, Them, "ws", "tls", "mplex"), new PingMeasurement(40, 2), null, null),
        ];

        var table = MatrixReport.Table(results, InteropContract.TransportInterop, "test run");

        Assert.Equal("""
            | transport | security | muxer | dotnet → js | js → dotnet |
            |---|---|---|---:|---:|
            | tcp | noise | yamux | 12.3 (0.6) | ❌ |
            | ws | tls | mplex | 40.0 (2.0) | – |

            2 of 3 passed under the test-plans transport-interop contract; test run.

            Failures:

            - js x dotnet (tcp, noise, yamux): the dialer exited with 1: refused

            """.ReplaceLineEndings("\n"), table);
    }

    [Fact]
    public void Splicing_replaces_only_what_lies_between_the_markers()
    {
        var document = $"# Interop\n\nprose before\n\n{MatrixReport.Begin}\nold table\n{MatrixReport.End}\n\nprose after\n";

        var spliced = MatrixReport.Splice(document, "new table\n");

        Assert.Equal($"# Interop\n\nprose before\n\n{MatrixReport.Begin}\nnew table\n{MatrixReport.End}\n\nprose after\n", spliced);
    }

    [Fact]
    public void A_document_without_markers_gets_the_table_appended()
    {
        Assert.Equal($"# Interop\n\n{MatrixReport.Begin}\nt\n{MatrixReport.End}\n", MatrixReport.Splice("# Interop\n", "t"));
        Assert.Equal($"{MatrixReport.Begin}\nt\n{MatrixReport.End}\n", MatrixReport.Splice("", "t"));
    }

    [Fact]
    public void The_test_key_is_the_first_eight_hex_digits_of_the_names_sha256()
    {
        var cell = new InteropCell(Us, Them, "tcp", "noise", "yamux");

        Assert.Equal("dotnet x js (tcp, noise, yamux)", cell.Name);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("dotnet x js (tcp, noise, yamux)"u8))[..8], cell.TestKey);
        Assert.Matches("^[0-9a-f]{8}$", cell.TestKey);
    }
}
