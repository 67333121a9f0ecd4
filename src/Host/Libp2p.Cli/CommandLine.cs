namespace Libp2p.Cli;

/// <summary>
/// The parsed words of one <c>p2p</c> invocation: a command, its positional arguments and its
/// <c>--options</c>. Small on purpose: each command reads what it needs and rejects the rest.
/// </summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, List<string>> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    private CommandLine(string command, IReadOnlyList<string> positional)
    {
        Command = command;
        Positional = positional;
    }

    public string Command { get; }

    public IReadOnlyList<string> Positional { get; }

    /// <summary>Whether <c>--json</c> was given: machine-readable output instead of plain lines.</summary>
    public bool Json => Flag("json");

    /// <summary>Splits the arguments; options that take no value are named in <paramref name="flags"/>.</summary>
    public static CommandLine Parse(IReadOnlyList<string> args, ISet<string> flags)
    {
        var command = args.Count > 0 && !args[0].StartsWith('-') ? args[0] : "help";
        var start = args.Count > 0 && !args[0].StartsWith('-') ? 1 : 0;
        var positional = new List<string>();
        var options = new List<(string Name, string Value)>();
        for (var i = start; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                positional.Add(arg);
                continue;
            }
            var name = arg[2..];
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
                options.Add((name[..eq], name[(eq + 1)..]));
            else if (flags.Contains(name))
                options.Add((name, "true"));
            else if (i + 1 < args.Count)
                options.Add((name, args[++i]));
            else
                throw new UsageException($"option --{name} needs a value");
        }
        var line = new CommandLine(command, positional);
        foreach (var (name, value) in options)
        {
            if (!line._options.TryGetValue(name, out var values))
                line._options[name] = values = [];
            values.Add(value);
        }
        return line;
    }

    public bool Flag(string name) => Option(name) is { } v && v != "false";

    public string? Option(string name)
    {
        _read.Add(name);
        return _options.TryGetValue(name, out var values) ? values[^1] : null;
    }

    public IReadOnlyList<string> Options(string name)
    {
        _read.Add(name);
        return _options.TryGetValue(name, out var values) ? values : [];
    }

    public long LongOption(string name, long fallback)
    {
        var text = Option(name);
        if (text is null)
            return fallback;
        return long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new UsageException($"--{name} takes a whole number, not '{text}'");
    }

    /// <summary>A byte count: a whole number, optionally with a binary unit (<c>64KiB</c>, <c>8MiB</c>, <c>1GiB</c>).</summary>
    public long SizeOption(string name, long fallback)
    {
        var text = Option(name);
        if (text is null)
            return fallback;
        var digits = text.TrimEnd("KMGiBkmgib".ToCharArray());
        var unit = text[digits.Length..].ToLowerInvariant() switch
        {
            "" or "b" => 1L,
            "k" or "kib" => 1L << 10,
            "m" or "mib" => 1L << 20,
            "g" or "gib" => 1L << 30,
            _ => 0,
        };
        if (unit == 0 || !long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) || value > long.MaxValue / unit)
            throw new UsageException($"--{name} takes a number of bytes such as 1048576 or 1MiB, not '{text}'");
        return value * unit;
    }

    /// <summary>Fails on options the command never asked for, so a typo is not silently ignored.</summary>
    public void RejectUnknownOptions()
    {
        _read.Add("json");
        foreach (var name in _options.Keys)
        {
            if (!_read.Contains(name))
                throw new UsageException($"'{Command}' has no option --{name}");
        }
    }
}

/// <summary>The command line was wrong; the message says how, and the tool exits with code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
