using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using MixFit.Applications;
using MixFit.Checkpoints;
using MixFit.Data;
using MixFit.Data.Images;
using MixFit.Experiments;
using MixFit.Tests.Cli;

namespace MixFit.Tests.Data;

/// <summary>Inputs stay where they belong and are checked before anything large is allocated.</summary>
public sealed class InputSafetyTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-inputs-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string P(string name) => Path.Combine(dir, name);

    private string Folder(params string[] names)
    {
        string folder = P("data");
        FashionMnistExporter.Export(FashionMnist.LoadEmbedded(FashionMnistSplit.Train), folder, count: 4);
        File.WriteAllLines(Path.Combine(folder, "train.csv"), new[] { "image,category" }.Concat(names.Select(n => $"{n},1")));
        return folder;
    }

    [Theory]
    [InlineData("../outside.png")]
    [InlineData("../missing.png")]
    [InlineData("/etc/hostname")]
    [InlineData("sub/../../outside.png")]
    [InlineData("link-to-outside.png")]
    [InlineData("linked-dir/outside.png")]
    public void Csv_image_names_that_lead_outside_the_images_folder_are_refused_with_one_message(string name)
    {
        File.Copy(Path.Combine(Folder(), "images", "00000.png"), P("outside.png"));
        string folder = Folder("00000.png", name);
        File.CreateSymbolicLink(Path.Combine(folder, "images", "link-to-outside.png"), P("outside.png"));
        Directory.CreateSymbolicLink(Path.Combine(folder, "images", "linked-dir"), dir);
        var e = Assert.Throws<InvalidDataException>(() => ImageDataset.FromCsv(Path.Combine(folder, "train.csv"), Path.Combine(folder, "images")));
        Assert.Contains("train.csv:3", e.Message);
        Assert.Contains("leads outside the images folder", e.Message);
        Assert.DoesNotContain("not found", e.Message);       // the same words whether or not the file exists out there

        var allowed = ImageDataset.FromCsv(Path.Combine(folder, "train.csv"), Path.Combine(folder, "images"), new CsvDatasetOptions { AllowOutsideImages = true, SkipBad = true });
        Assert.Contains(allowed.Records, r => r.Name == "00000.png");
    }

    [Fact]
    public void A_link_that_stays_inside_the_images_folder_is_fine()
    {
        string folder = Folder("00000.png", "alias.png");
        File.CreateSymbolicLink(Path.Combine(folder, "images", "alias.png"), Path.Combine(folder, "images", "00001.png"));
        Assert.Equal(2, ImageDataset.FromCsv(Path.Combine(folder, "train.csv"), Path.Combine(folder, "images")).Count);
    }

    /// <summary>A PNG chunk: length, type, data, CRC.</summary>
    private static byte[] Chunk(string type, byte[] data)
    {
        var body = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(body));
        return length.Concat(body).Concat(crc).ToArray();
    }

    /// <summary>A PNG of a few hundred bytes whose header claims <paramref name="side"/> x <paramref name="side"/> pixels (the data is one short row).</summary>
    private static byte[] HugePng(int side)
    {
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, side);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), side);
        header[8] = 8;     // bit depth
        header[9] = 0;     // greyscale
        var pixels = new MemoryStream();
        using (var zlib = new ZLibStream(pixels, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            zlib.Write(new byte[1 + side]);
        }

        return new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10 }
            .Concat(Chunk("IHDR", header)).Concat(Chunk("IDAT", pixels.ToArray())).Concat(Chunk("IEND", Array.Empty<byte>())).ToArray();
    }

    /// <summary>PNG's CRC-32 (ISO 3309, reflected polynomial 0xEDB88320).</summary>
    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
        }

        return ~crc;
    }

    [Fact]
    public void An_image_over_the_pixel_limit_is_refused_from_its_header_before_any_allocation()
    {
        File.WriteAllBytes(P("huge.png"), HugePng(23000));
        // Without the check the decoder would allocate 2.1 GB of pixels and then report the data as truncated.
        var e = Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(P("huge.png")));
        Assert.Contains("huge.png", e.Message);
        Assert.Contains("23000x23000", e.Message);
        Assert.Contains("MaxPixels", e.Message);
        Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(P("huge.png"), maxPixels: 1000));
    }

    private string SafeTensorsFile(string header, int dataBytes = 4)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        string path = P($"st-{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Theory]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[4000000,4000000],\"data_offsets\":[0,4]}}", "needs 64000000000000 bytes")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[9223372036854775807,4],\"data_offsets\":[0,4]}}", "more than 2^63")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "negative dimension")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,400]}}", "outside the file")]
    [InlineData("{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", "unsupported dtype")]
    [InlineData("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "malformed safetensors header")]
    [InlineData("[1,2,3]", "not a JSON object")]
    public void A_safetensors_header_is_checked_against_the_file_before_anything_is_allocated(string header, string expected)
    {
        string path = SafeTensorsFile(header);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.Contains(Path.GetFileName(path), e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_broken_torch_save_file_names_the_file()
    {
        using (var zip = ZipFile.Open(P("broken.pt"), ZipArchiveMode.Create))
        {
            using var entry = new StreamWriter(zip.CreateEntry("archive/data.pkl").Open());
            entry.Write("not a pickle");
        }

        var e = Assert.Throws<InvalidDataException>(() => WeightLoader.Read(P("broken.pt")));
        Assert.Contains("broken.pt", e.Message);
    }

    [Fact]
    public void A_malformed_model_spec_names_the_file()
    {
        File.WriteAllText(P(ModelSpec.FileName), "{ \"Model\": \"small-cnn\", ");
        var e = Assert.Throws<InvalidDataException>(() => ModelSpec.LoadBeside(P("last.ckpt.safetensors")));
        Assert.Contains(ModelSpec.FileName, e.Message);
        File.WriteAllText(P(ModelSpec.FileName), "{ \"Model\": \"small-cnn\" }");
        Assert.Contains("incomplete model spec", Assert.Throws<InvalidDataException>(() => ModelSpec.LoadBeside(P("last.ckpt.safetensors"))).Message);
    }

    [Theory]
    [InlineData("--image-size", "0")]
    [InlineData("--limit", "0")]
    public void Out_of_range_sizes_are_refused_naming_the_option(string option, string value)
    {
        var (code, _, error) = CliRunner.Run("train", option, value, "--store", P("store"));
        Assert.Equal(2, code);
        Assert.Contains(option, error);
        Assert.False(Directory.Exists(P("store")), "nothing is written before the options are checked");
    }
}
