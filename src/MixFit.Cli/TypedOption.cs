using System.CommandLine;

namespace MixFit.Cli;

/// <summary>Options parsed once into typed values: a bad value is a parse error naming the option and listing what is valid.</summary>
internal static class TypedOption
{
    /// <summary>
    /// An option whose text <paramref name="parse"/> turns into a <typeparamref name="T"/> (it throws
    /// <see cref="ArgumentException"/> or <see cref="FormatException"/> on bad text). Absent, it reads as null: the
    /// binder substitutes the job options' default, which <paramref name="defaultText"/> names in the help.
    /// </summary>
    public static Option<T?> Create<T>(string name, string description, Func<string, T> parse, string defaultText)
        where T : class
    {
        var option = new Option<T?>(name)
        {
            Description = $"{description} Default: {defaultText}.",
            CustomParser = result =>
            {
                if (result.Tokens.Count == 0)
                {
                    return null;
                }

                string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Join(' ', result.Tokens.Select(t => t.Value));
                try
                {
                    return parse(text);
                }
                catch (Exception e) when (e is ArgumentException or FormatException)
                {
                    result.AddError($"{name}: {CommandGuard.UserMessage(e)}");
                    return null;
                }
            },
        };
        return option;
    }

    /// <summary>A plain option with its default taken from the job options (the help shows it).</summary>
    public static Option<T> Plain<T>(string name, string description, T defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
    };
}
