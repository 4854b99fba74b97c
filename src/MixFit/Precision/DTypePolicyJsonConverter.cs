using System.Text.Json;
using System.Text.Json.Serialization;

namespace MixFit.Precision;

/// <summary>Writes a <see cref="DTypePolicy"/> as its name and reads it back, failing with the valid names on an unknown one.</summary>
public sealed class DTypePolicyJsonConverter : JsonConverter<DTypePolicy>
{
    /// <inheritdoc />
    public override DTypePolicy Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"Expected a dtype policy name string, got {reader.TokenType}.");
        }

        string name = reader.GetString()!;
        return DTypePolicy.TryParse(name, out var policy)
            ? policy
            : throw new JsonException($"Unknown dtype policy \"{name}\". Valid policies: {string.Join(", ", DTypePolicy.Names)}.");
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, DTypePolicy value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Name);
}
