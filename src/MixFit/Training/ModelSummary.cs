using System.Globalization;
using System.Text;
using MixFit.Precision;
using static TorchSharp.torch;

namespace MixFit.Training;

/// <summary>
/// Keras' <c>model.summary()</c> with the mixed-precision view: per layer its type, output shape (from a forward pass
/// on a zero input when an input shape is given), parameter count, how many of them train, its dtype policy and the
/// dtype its weights are held in; then totals, frozen parameters and the float32 master copies.
/// </summary>
internal static class ModelSummary
{
    public static string Describe(nn.Module<Tensor, Tensor> model, PrecisionStrategy precision, long[]? inputShape)
    {
        var layers = model.named_modules()
            .Where(m => m.name.Length > 0 && (!m.module.children().Any() || m.module.parameters(recurse: false).Any()))
            .ToList();
        var shapes = inputShape is { Length: > 0 } ? OutputShapes(model, precision, layers, inputShape) : new Dictionary<string, long[]>();
        var header = new[] { "Layer (type)", "Output Shape", "Param #", "Trainable", "dtype policy", "weights" };
        var rows = layers.Select(m =>
        {
            var own = m.module.parameters(recurse: false).ToList();
            long count = own.Sum(p => p.numel());
            long trainable = own.Where(p => p.requires_grad).Sum(p => p.numel());
            string policy = precision.ModulePolicies.TryGetValue(m.name, out var p) ? p.Name : precision.Policy.Name;
            string weights = own.Count == 0 ? "-" : string.Join("/", own.Select(x => DTypeName(x.dtype)).Distinct());
            string shape = shapes.TryGetValue(m.name, out var s) ? "[" + string.Join(", ", s) + "]" : "?";
            return new[]
            {
                $"{m.name} ({m.module.GetType().Name})", shape, count.ToString("N0", CultureInfo.InvariantCulture),
                trainable.ToString("N0", CultureInfo.InvariantCulture), policy, weights,
            };
        }).ToList();

        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        string Line(string[] cells) => string.Join("  ", cells.Select((c, i) => i is 2 or 3 ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))).TrimEnd();
        var all = model.parameters().ToList();
        long total = all.Sum(x => x.numel());
        long trainableTotal = all.Where(x => x.requires_grad).Sum(x => x.numel());
        long masters = precision is MixedPrecisionStrategy mixed ? mixed.MasterWeights.Values.Sum(x => x.numel()) : 0;
        var text = new StringBuilder();
        text.AppendLine($"Model: \"{model.GetType().Name}\" under {precision.Policy.Name} (compute {DTypeName(precision.Policy.ComputeDType)}, variables {DTypeName(precision.Policy.VariableDType)})");
        string rule = new('─', Line(header).Length);
        text.AppendLine(rule).AppendLine(Line(header)).AppendLine(rule);
        foreach (var row in rows)
        {
            text.AppendLine(Line(row));
        }

        text.AppendLine(rule);
        text.AppendLine($"Total params: {total.ToString("N0", CultureInfo.InvariantCulture)}");
        text.AppendLine($"Trainable params: {trainableTotal.ToString("N0", CultureInfo.InvariantCulture)}");
        text.AppendLine($"Non-trainable params: {(total - trainableTotal).ToString("N0", CultureInfo.InvariantCulture)}");
        if (masters > 0)
        {
            text.AppendLine($"float32 master copies: {masters.ToString("N0", CultureInfo.InvariantCulture)} params (the optimizer updates these; the model holds them in {DTypeName(precision.Policy.ComputeDType)})");
        }

        return text.ToString();
    }

    private static Dictionary<string, long[]> OutputShapes(nn.Module<Tensor, Tensor> model, PrecisionStrategy precision, IEnumerable<(string name, nn.Module module)> layers, long[] inputShape)
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var removers = new List<Action>();
        foreach (var (name, module) in layers)
        {
            if (module is nn.Module<Tensor, Tensor> layer)
            {
                string key = name;
                var remover = layer.register_forward_hook((_, _, output) =>
                {
                    shapes[key] = output.shape.Select((d, i) => i == 0 ? -1 : d).ToArray();
                    return output;
                });
                removers.Add(remover.remove);
            }
        }

        bool training = model.training;
        try
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            model.eval();
            model.call(precision.ConvertInput(zeros(inputShape)));
        }
        finally
        {
            model.train(training);
            foreach (var remove in removers)
            {
                remove();
            }
        }

        return shapes;
    }

    private static string DTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.Float16 => "float16",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float64 => "float64",
        _ => dtype.ToString().ToLowerInvariant(),
    };
}
