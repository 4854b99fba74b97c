using System.Globalization;

namespace MixFit.Callbacks;

/// <summary>Formats doubles as Python's <c>repr</c>/<c>str</c> does, so Keras' messages read the same (0.0001, 1e-05).</summary>
internal static class PythonFloat
{
    public static string Repr(double value)
    {
        if (double.IsNaN(value))
        {
            return "nan";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "inf" : "-inf";
        }

        if (value == Math.Floor(value) && Math.Abs(value) < 1e16)
        {
            return value.ToString("F1", CultureInfo.InvariantCulture);
        }

        string shortest = value.ToString("R", CultureInfo.InvariantCulture);
        double magnitude = Math.Abs(value);
        if (magnitude >= 1e-4 && magnitude < 1e16)
        {
            return double.Parse(shortest, CultureInfo.InvariantCulture).ToString("0.#################", CultureInfo.InvariantCulture);
        }

        // Scientific: mantissa as short as round-tripping allows, exponent with a sign and at least two digits.
        string e = value.ToString("E16", CultureInfo.InvariantCulture);
        int exponent = int.Parse(e[(e.IndexOf('E') + 1)..], CultureInfo.InvariantCulture);
        double mantissa = value / Math.Pow(10, exponent);
        string m = Math.Round(mantissa, 15).ToString("0.###############", CultureInfo.InvariantCulture);
        return $"{m}e{(exponent < 0 ? "-" : "+")}{Math.Abs(exponent):00}";
    }
}
