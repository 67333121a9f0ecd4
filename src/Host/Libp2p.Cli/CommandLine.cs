using System.CommandLine;
using System.CommandLine.Parsing;

namespace Libp2p.Cli;

/// <summary>
/// The parsed words of one <c>p2p</c> invocation: a command, its positional arguments and its
/// <c>--options</c>, read from System.CommandLine's parse. Each command reads what it needs and
/// checks the values itself, so every wrong value gets a message that says what is expected.
/// </summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, List<string>> _options = new(StringComparer.Ordinal);

    private CommandLine(string command, IReadOnlyList<string> positional)
    {
        Command = command;
        Positional = positional;
    }

    public string Command { get; }

    public IReadOnlyList<string> Positional { get; }

    /// <summary>Whether <c>--json</c> was given: machine-readable output instead of plain lines.</summary>
    public bool Json => Flag("json");

    /// <summary>
    /// The words of a parse without errors. A word that begins with <c>-</c> where an argument
    /// stands is an option the command does not have, and is named as one.
    /// </summary>
    public static CommandLine From(ParseResult result)
    {
        var command = result.CommandResult.Command;
        var positional = new List<string>();
        foreach (var argument in command.Arguments)
        {
            if (result.GetResult(argument) is { } values)
                positional.AddRange(values.Tokens.Select(t => t.Value));
        }
        if (positional.FirstOrDefault(IsOptionLike) is { } unknown)
            throw UnknownOption(command.Name, unknown);
        var line = new CommandLine(command.Name, positional);
        foreach (var option in command.Options)
        {
            if (result.GetResult(option) is not { Implicit: false } found)
                continue;
            var name = option.Name.TrimStart('-');
            List<string> values = option is Option<bool> flag
                ? [result.GetValue(flag) ? "true" : "false"]
                : [.. found.Tokens.Select(t => t.Value)];
            if (!line._options.TryGetValue(name, out var all))
                line._options[name] = all = [];
            all.AddRange(values);
        }
        return line;
    }

    /// <summary>The usage error for a parse with errors: the unknown option or command named, or what is missing.</summary>
    public static UsageException Explain(ParseResult result)
    {
        var command = result.CommandResult.Command;
        var commandName = command is RootCommand ? null : command.Name;
        if (commandName is null && result.UnmatchedTokens.Count > 0 && !IsOptionLike(result.UnmatchedTokens[0]))
            return new UsageException("unknown-command", $"unknown command '{result.UnmatchedTokens[0]}'; the commands are {string.Join(", ", Grammar.Commands.Select(c => c.Name))}, help");
        foreach (var token in result.UnmatchedTokens)
        {
            if (IsOptionLike(token))
                return UnknownOption(commandName, token);
        }
        foreach (var argument in command.Arguments)
        {
            var tokens = result.GetResult(argument)?.Tokens ?? [];
            if (tokens.FirstOrDefault(t => IsOptionLike(t.Value)) is { } stray)
                return UnknownOption(commandName, stray.Value);
            if (tokens.Count == 0 && argument.Arity.MinimumNumberOfValues > 0)
                return new UsageException("missing-argument", $"'{commandName}' takes one multiaddr ending in /p2p/<peer id>; see 'p2p {commandName} --help'");
        }
        if (result.UnmatchedTokens.Count > 0)
        {
            var word = result.UnmatchedTokens[0];
            return commandName is null
                ? new UsageException("unknown-command", $"unknown command '{word}'; the commands are {string.Join(", ", Grammar.Commands.Select(c => c.Name))}, help")
                : new UsageException("unexpected-argument", $"'{commandName}' does not take '{word}'; see 'p2p {commandName} --help'");
        }
        var error = result.Errors[0];
        if (error.SymbolResult is OptionResult { Tokens.Count: 0 } option)
            return new UsageException("missing-value", $"option {option.Option.Name} needs a value; see 'p2p {(commandName is null ? "" : commandName + " ")}--help'");
        return new UsageException("usage", error.Message);
    }

    private static bool IsOptionLike(string word) => word.Length > 1 && word[0] == '-' && !char.IsAsciiDigit(word[1]);

    private static UsageException UnknownOption(string? command, string option) =>
        new("unknown-option", command is null
            ? $"unknown option '{option}'; see 'p2p --help'"
            : $"unknown option '{option}' for '{command}'; see 'p2p {command} --help'");

    public bool Flag(string name) => Option(name) is { } v && v != "false";

    public string? Option(string name)
    {
        return _options.TryGetValue(name, out var values) ? values[^1] : null;
    }

    public IReadOnlyList<string> Options(string name)
    {
        return _options.TryGetValue(name, out var values) ? values : [];
    }

    public long LongOption(string name, long fallback)
    {
        var text = Option(name);
        if (text is null)
            return fallback;
        // A sign is read, so a negative number gets the same message as any other out of range.
        return long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new UsageException("invalid-value", $"--{name} takes a whole number, not '{text}'");
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
            throw new UsageException("invalid-value", $"--{name} takes a number of bytes such as 1048576 or 1MiB, not '{text}'");
        return value * unit;
    }
}

/// <summary>The command line was wrong; the message says how, and the tool exits with code 2.</summary>
/// <param name="code">The stable <c>error</c> of the <c>--json</c> error object.</param>
/// <param name="message">What was wrong, on one line.</param>
internal sealed class UsageException(string code, string message) : Exception(message)
{
    /// <summary>A usage error with the generic code <c>usage</c>.</summary>
    public UsageException(string message) : this("usage", message) { }

    /// <summary>The stable error code.</summary>
    public string Code { get; } = code;
}
