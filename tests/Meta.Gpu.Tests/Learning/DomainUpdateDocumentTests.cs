using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Meta.Gpu.Learning.Aggregation;
using Meta.Gpu.Serialization;

namespace Meta.Gpu.Tests.Learning;

/// <summary>Updates read from a <see cref="System.Text.Json.JsonDocument"/> (`meta-gpu aggregate`'s input), against
/// the same updates read from a JsonNode tree.</summary>
public sealed class DomainUpdateDocumentTests
{
    /// <summary>16 domains of the same 8,000 parameter names, about 3 MB of JSON.</summary>
    private static byte[] ManyDomains()
    {
        var random = new Random(11);
        var keys = string.Join(',', Enumerable.Range(0, 8000).Select(k => $"\"w{k:D6}\""));
        var text = new StringBuilder("{\"updates\":[");
        for (var d = 0; d < 16; d++)
        {
            if (d > 0) text.Append(',');
            var vector = string.Join(',', Enumerable.Range(0, 8000).Select(_ => (random.NextDouble() * 2 - 1).ToString("G9", CultureInfo.InvariantCulture)));
            text.Append(CultureInfo.InvariantCulture, $"{{\"domain_id\":\"d{d}\",\"keys\":[{keys}],\"vector\":[{vector}],\"confidence\":0.{d + 1},\"metrics\":{{\"reward\":1}}}}");
        }
        return Encoding.UTF8.GetBytes(text.Append("]}").ToString());
    }

    [Fact]
    public void Reading_many_large_vectors_allocates_a_few_times_the_text_not_a_tree_of_it()
    {
        // Through a JsonNode tree the same input took about twenty times its size (a 50 MB input peaked at 1.2 GB).
        var utf8 = ManyDomains();
        ListFromDocument(utf8); // warm: the first call's code and pooled buffers are not what is measured

        var before = GC.GetAllocatedBytesForCurrentThread();
        var updates = ListFromDocument(utf8);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(16, updates.Count);
        Assert.True(allocated < 6L * utf8.Length, $"{allocated} bytes allocated reading {utf8.Length} bytes of JSON");
    }

    [Fact]
    public void The_document_and_the_tree_give_the_same_updates()
    {
        var utf8 = ManyDomains();
        var fromTree = DomainUpdateInput.ListFromJson(JsonInput.Parse(utf8)!["updates"], "updates");
        var fromDocument = ListFromDocument(utf8);

        Assert.Equal(fromTree.Count, fromDocument.Count);
        for (var i = 0; i < fromTree.Count; i++)
        {
            Assert.Equal(fromTree[i].DomainId, fromDocument[i].DomainId);
            Assert.Equal(fromTree[i].Keys, fromDocument[i].Keys);
            Assert.Equal(fromTree[i].Vector, fromDocument[i].Vector);
            Assert.Equal(fromTree[i].Confidence, fromDocument[i].Confidence);
        }
        // Names many domains share are kept once.
        Assert.Same(fromDocument[0].Keys[5], fromDocument[15].Keys[5]);
    }

    [Theory]
    [InlineData("""[{"domain_id":"a","keys":["x"],"vector":[true],"confidence":1}]""")]
    [InlineData("""[{"domain_id":"a","keys":["x",{"k":"é<"}],"vector":[1,2],"confidence":1}]""")]
    [InlineData("""[{"domain_id":"a","keys":["x"],"vector":[null],"confidence":1}]""")]
    [InlineData("""[{"domain_id":7,"keys":["x"],"vector":[1],"confidence":1}]""")]
    [InlineData("""[{"domain_id":"a","keys":["x"],"vector":[1],"confidence":"often"}]""")]
    [InlineData("""[{"domain_id":"a","keys":["x","x"],"vector":[1,2],"confidence":1}]""")]
    [InlineData("""[{"domain_id":"a","vector":[1],"confidence":1}]""")]
    [InlineData("""[{"domain_id":null,"keys":["x"],"vector":[1],"confidence":1}]""")]
    [InlineData("""[{"domain_id":"a","keys":["x"],"vector":[1],"confidence":null}]""")]
    [InlineData("""[null]""")]
    [InlineData("""{"a":[1,"\u00e9"]}""")]
    public void The_document_and_the_tree_refuse_alike(string updates)
    {
        var utf8 = Encoding.UTF8.GetBytes($$"""{"updates":{{updates}}}""");
        var fromTree = Assert.Throws<InvalidInputException>(() => DomainUpdateInput.ListFromJson(JsonInput.Parse(utf8)!["updates"], "updates"));
        var fromDocument = Assert.Throws<InvalidInputException>(() => ListFromDocument(utf8));

        Assert.Equal(fromTree.Message, fromDocument.Message);
    }

    private static IReadOnlyList<DomainUpdateInput> ListFromDocument(byte[] utf8)
    {
        using var document = JsonInput.ParseDocument(utf8);
        return DomainUpdateInput.ListFromJson(document.RootElement.GetProperty("updates"), "updates");
    }
}
