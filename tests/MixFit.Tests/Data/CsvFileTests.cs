using MixFit.Data;

namespace MixFit.Tests.Data;

public sealed class CsvFileTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mixfit-csv-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Write(string text)
    {
        string path = Path.Combine(dir, "data.csv");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_bom_crlf_line_ends_and_quoted_fields_are_read()
    {
        string path = Write("\uFEFFimage,category\r\n\"a,1.jpg\",1\r\n\"say \"\"hi\"\".jpg\",2\r\n\"two\nlines.jpg\",3\r\n\r\n");
        var csv = CsvFile.Read(path);
        Assert.Equal(new[] { "image", "category" }, csv.Header);
        Assert.Equal(3, csv.Rows.Count);
        Assert.Equal("a,1.jpg", csv.Rows[0].Fields[0]);
        Assert.Equal("say \"hi\".jpg", csv.Rows[1].Fields[0]);
        Assert.Equal("two\nlines.jpg", csv.Rows[2].Fields[0]);
        Assert.Equal(new[] { 2, 3, 4 }, csv.Rows.Select(r => r.Line));
    }

    [Fact]
    public void An_empty_file_has_no_header()
    {
        var e = Assert.Throws<InvalidDataException>(() => CsvFile.Read(Write("")));
        Assert.Contains("data.csv:1: missing header", e.Message);
    }

    [Fact]
    public void A_row_with_the_wrong_field_count_names_its_line_and_the_expected_columns()
    {
        var e = Assert.Throws<InvalidDataException>(() => CsvFile.Read(Write("image,category\na.jpg,1\nb.jpg,2,extra\n")));
        Assert.Contains("data.csv:3:", e.Message);
        Assert.Contains("expected 2 fields (image,category), found 3", e.Message);
        Assert.Contains("b.jpg,2,extra", e.Message);
    }

    [Fact]
    public void An_unbalanced_quote_names_the_line_where_the_field_started()
    {
        var e = Assert.Throws<InvalidDataException>(() => CsvFile.Read(Write("image,category\na.jpg,1\n\"b.jpg,2\nc.jpg,3\n")));
        Assert.Contains("data.csv:3: unbalanced quote", e.Message);
    }

    [Fact]
    public void Skip_bad_keeps_the_good_rows_and_lists_the_bad_ones()
    {
        var csv = CsvFile.Read(Write("image,category\na.jpg,1\nb.jpg\nc.jpg,3\n"), skipBad: true);
        Assert.Equal(new[] { "a.jpg", "c.jpg" }, csv.Rows.Select(r => r.Fields[0]));
        var problem = Assert.Single(csv.Problems);
        Assert.Equal(3, problem.Line);
    }

    [Fact]
    public void A_missing_column_lists_the_header()
    {
        var csv = CsvFile.Read(Write("file,label\na.jpg,1\n"));
        var e = Assert.Throws<InvalidDataException>(() => csv.Column("image"));
        Assert.Contains("no column \"image\"", e.Message);
        Assert.Contains("file, label", e.Message);
    }
}
