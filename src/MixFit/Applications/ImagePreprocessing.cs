using MixFit.Onnx;
using Onnx;
using static TorchSharp.torch;

namespace MixFit.Applications;

/// <summary>
/// What a pretrained model expects of its input, applied to [0, 1] RGB images: <c>(x * Scale)</c>, channels
/// reordered (RGB to BGR for Caffe/CNTK models), minus a mean (per channel, or a mean image), divided by a
/// per-channel std.
/// </summary>
/// <remarks>
/// <see cref="FromOnnx"/> reads a preprocessing graph such as ML.NET's <c>ResNetPreprocess.onnx</c> (Split the
/// channels, Concat them in another order, Sub a 224x224 ImageNet mean image), so the model sees exactly what its
/// authors fed it. A mean image is subtracted as it is from inputs of its size and resized bilinearly for others.
/// </remarks>
public sealed class ImagePreprocessing : nn.Module<Tensor, Tensor>
{
    private readonly long[] order;

    /// <summary>Creates the preprocessing with per-channel statistics.</summary>
    /// <param name="scale">Multiplies the [0, 1] input first (255 for models trained on 0..255 pixels).</param>
    /// <param name="channelOrder">Which input channel feeds each model channel, e.g. <c>2, 1, 0</c> for BGR.</param>
    /// <param name="mean">Subtracted per model channel (after scaling and reordering).</param>
    /// <param name="std">Divides per model channel; null: 1.</param>
    /// <exception cref="ArgumentException">The counts differ.</exception>
    public ImagePreprocessing(double scale, IReadOnlyList<long> channelOrder, IReadOnlyList<float> mean, IReadOnlyList<float>? std = null)
        : this(scale, channelOrder, tensor((mean ?? throw new ArgumentNullException(nameof(mean))).ToArray()).reshape(1, -1, 1, 1), std)
    {
    }

    private ImagePreprocessing(double scale, IReadOnlyList<long> channelOrder, Tensor mean, IReadOnlyList<float>? std)
        : base("ImagePreprocessing")
    {
        ArgumentNullException.ThrowIfNull(channelOrder);
        if (mean.shape[1] != channelOrder.Count || (std is not null && std.Count != channelOrder.Count))
        {
            throw new ArgumentException($"The preprocessing has {channelOrder.Count} channels but {mean.shape[1]} means{(std is null ? "" : $" and {std.Count} stds")}.");
        }

        Scale = scale;
        order = channelOrder.ToArray();
        var floatMean = mean.to(ScalarType.Float32);
        Mean = floatMean.mean(new long[] { 0, 2, 3 }).data<float>().ToArray();
        MeanImageSize = mean.shape[2] > 1 || mean.shape[3] > 1 ? ((int)mean.shape[2], (int)mean.shape[3]) : null;
        Std = std?.ToArray() ?? Enumerable.Repeat(1f, order.Length).ToArray();
        register_buffer("mean", floatMean);
        register_buffer("std", tensor(Std.ToArray()).reshape(1, -1, 1, 1));
    }

    /// <summary>The factor applied to [0, 1] input.</summary>
    public double Scale { get; }

    /// <summary>The input channel behind each model channel.</summary>
    public IReadOnlyList<long> ChannelOrder => order;

    /// <summary>The mean subtracted from each model channel (of the mean image, when there is one).</summary>
    public IReadOnlyList<float> Mean { get; }

    /// <summary>The size of the mean image (height, width), or null when the mean is per channel.</summary>
    public (int Height, int Width)? MeanImageSize { get; }

    /// <summary>The per-channel stds divided by.</summary>
    public IReadOnlyList<float> Std { get; }

    /// <summary>
    /// Reads a preprocessing graph: Split/Concat reorder the channels, Sub/Add of constant tensors (per channel or a
    /// mean image) give the mean, Mul/Div of per-channel constants the scale. <paramref name="inputScale"/> is the
    /// range the graph expects its input in (ML.NET feeds 0..255 pixels).
    /// </summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not an ONNX model, or truncated; the message names the file.</exception>
    /// <exception cref="NotSupportedException">The graph does something else (the message names the node).</exception>
    public static ImagePreprocessing FromOnnx(string path, double inputScale = 255)
    {
        var model = OnnxGraph.Read(path);
        var initializers = model.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        string file = Path.GetFileName(path);
        const int channels = 3;
        var channelsOf = new Dictionary<string, long[]>(StringComparer.Ordinal) { [model.Graph.Input.First(i => !initializers.ContainsKey(i.Name)).Name] = new long[] { 0, 1, 2 } };
        var mean = zeros(new long[] { 1, channels, 1, 1 }, ScalarType.Float64);
        var divide = ones(new long[] { 1, channels, 1, 1 }, ScalarType.Float64);
        foreach (var node in model.Graph.Node)
        {
            switch (node.OpType)
            {
                case "Split":
                    {
                        var source = channelsOf[node.Input[0]];
                        for (int i = 0; i < node.Output.Count; i++)
                        {
                            channelsOf[node.Output[i]] = new[] { source[i] };
                        }

                        break;
                    }

                case "Concat":
                    channelsOf[node.Output[0]] = node.Input.SelectMany(i => channelsOf[i]).ToArray();
                    break;
                case "Sub" or "Add" or "Mul" or "Div" when initializers.TryGetValue(node.Input[1], out var constant):
                    {
                        var value = Shaped(OnnxTensors.ToTensor(constant, file).to(ScalarType.Float64), channels, file, node);
                        bool perPixel = value.shape[2] > 1 || value.shape[3] > 1;
                        if (perPixel && node.OpType is "Mul" or "Div")
                        {
                            throw new NotSupportedException($"{file}: node \"{node.Name}\" ({node.OpType}) scales by a per-pixel constant; MixFit reads per-channel scales.");
                        }

                        // Keep the whole as (x - mean) / divide: fold each op into the two.
                        switch (node.OpType)
                        {
                            case "Sub": mean = mean + (value * divide); break;
                            case "Add": mean = mean - (value * divide); break;
                            case "Mul": divide = divide / value; break;
                            case "Div": divide = divide * value; break;
                        }

                        channelsOf[node.Output[0]] = channelsOf[node.Input[0]];
                        break;
                    }

                default:
                    throw new NotSupportedException($"{file}: node \"{node.Name}\" ({node.OpType}) is not a channel reorder or a constant Sub/Add/Mul/Div, which is all MixFit reads from a preprocessing graph.");
            }
        }

        var output = channelsOf[model.Graph.Output[0].Name];
        var std = divide.reshape(-1).to(ScalarType.Float32).data<float>().ToArray();
        return new ImagePreprocessing(inputScale, output, mean / divide, std);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4 || input.shape[1] != order.Length)
        {
            throw new ArgumentException($"The preprocessing takes [N,{order.Length},H,W] images in [0, 1], got [{string.Join(",", input.shape)}].", nameof(input));
        }

        var buffers = named_buffers(recurse: false).ToDictionary(b => b.name, b => b.buffer);
        var x = input * Scale;
        if (!order.SequenceEqual(Enumerable.Range(0, order.Length).Select(i => (long)i)))
        {
            x = x.index_select(1, tensor(order, device: input.device));
        }

        var mean = buffers["mean"];
        if (MeanImageSize is { } size && (size.Height != input.shape[2] || size.Width != input.shape[3]))
        {
            mean = nn.functional.interpolate(mean, new[] { input.shape[2], input.shape[3] }, mode: InterpolationMode.Bilinear, align_corners: false);
        }

        return (x - mean) / buffers["std"];
    }

    /// <summary>A constant as [1, C, H, W] (a mean image) or [1, C, 1, 1] (per channel; a scalar applies to every channel).</summary>
    private static Tensor Shaped(Tensor value, int channels, string file, NodeProto node)
    {
        if (value.numel() == 1)
        {
            return value.reshape(1, 1, 1, 1).expand(1, channels, 1, 1);
        }

        var dims = value.shape.SkipWhile(d => d == 1).ToArray();
        if (dims.Length == 0 || dims[0] != channels || dims.Length > 3)
        {
            throw new NotSupportedException($"{file}: node \"{node.Name}\" ({node.OpType}) uses a constant of shape [{string.Join(",", value.shape)}]; MixFit reads per-channel constants and [1,{channels},H,W] mean images.");
        }

        return dims.Length == 3 ? value.reshape(1, channels, dims[1], dims[2]) : value.reshape(1, channels, 1, 1);
    }
}
