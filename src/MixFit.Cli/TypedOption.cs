using System.CommandLine;

namespace MixFit.Cli;

/// <summary>Options parsed once into typed values: a bad value is a parse error naming the option and listing what is valid.</summary>
internal static class TypedOption
{
    /// <summary>An option whose text <paramref name="parse"/> turns into a <typeparamref name="T"/> (it throws <see cref="ArgumentException"/> or <see cref="FormatException"/> on bad text).</summary>
    public static Option<T> Create<T>(string name, string description, Func<string, T> parse, T defaultValue, string defaultText)
    {
        var option = new Option<T>(name)
        {
            Description = $"{description} Default: {defaultText}.",
            CustomParser = result =>
            {
                string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Join(' ', result.Tokens.Select(t => t.Value));
                try
                {
                    return parse(text);
                }
                catch (Exception e) when (e is ArgumentException or FormatException)
                {
                    string message = e is ArgumentException { ParamName: { } param } ? e.Message.Replace($" (Parameter '{param}')", "", StringComparison.Ordinal) : e.Message;
                    result.AddError($"{name}: {message}");
                    return defaultValue;
                }
            },
            DefaultValueFactory = _ => defaultValue,
        };
        return option;
    }

    /// <summary>A plain option with its default taken from the job options and shown in the help.</summary>
    public static Option<T> Plain<T>(string name, string description, T defaultValue) => new(name)
    {
        Description = $"{description} Default: {Format(defaultValue)}.",
        DefaultValueFactory = _ => defaultValue,
    };

    private static string Format<T>(T value) => value switch
    {
        null => "none",
        double d => d.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
