using System.Text;
using MixFit.Checkpoints;
using static TorchSharp.torch;

namespace MixFit.Tests.Checkpoints;

public sealed class SafeTensorsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-st-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Tensors_of_every_common_dtype_and_the_metadata_round_trip_exactly()
    {
        string path = Path.Combine(dir, "t.safetensors");
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = randn(3, 4),
            ["bf16"] = randn(5).to(ScalarType.BFloat16),
            ["f16"] = randn(2, 2).to(ScalarType.Float16),
            ["i64"] = tensor(new long[] { 1, -2, 3 }),
            ["u8"] = tensor(new byte[] { 0, 255 }),
            ["scalar"] = tensor(7f),
        };
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["epoch"] = "3" });
        var (loaded, metadata) = SafeTensors.Load(path);
        Assert.Equal("3", metadata["epoch"]);
        foreach (var (name, value) in tensors)
        {
            Assert.Equal(value.dtype, loaded[name].dtype);
            Assert.Equal(value.shape, loaded[name].shape);
            Assert.True(value.Equals(loaded[name]), name);
        }
    }

    [Fact]
    public void The_header_follows_the_safetensors_layout()
    {
        string path = Path.Combine(dir, "layout.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = tensor(new float[] { 1, 2 }) });
        var bytes = File.ReadAllBytes(path);
        long headerLength = BitConverter.ToInt64(bytes, 0);
        Assert.Equal(0, headerLength % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength).TrimEnd();
        Assert.Equal("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", header);
        Assert.Equal(8 + headerLength + 8, bytes.Length);
        Assert.Equal(2f, BitConverter.ToSingle(bytes, (int)(8 + headerLength + 4)));
    }

    [Fact]
    public void A_truncated_file_is_an_error_naming_it()
    {
        string path = Path.Combine(dir, "cut.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = randn(100) });
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^40]);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("\"w\"", e.Message);
    }

    [Fact]
    public void A_failed_atomic_write_leaves_the_previous_file_and_no_temporary()
    {
        string path = Path.Combine(dir, "ckpt.bin");
        File.WriteAllText(path, "previous complete checkpoint");
        Assert.Throws<IOException>(() => MixFit.IO.AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[1000]);
            throw new IOException("disk full");
        }));
        Assert.Equal("previous complete checkpoint", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(dir));
    }
}
