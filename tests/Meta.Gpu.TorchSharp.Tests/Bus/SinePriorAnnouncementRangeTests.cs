using System.Text.Json.Nodes;
using Meta.Gpu.Cli.Commands.Demo;

namespace Meta.Gpu.TorchSharp.Tests.Bus;

/// <summary>An announcement is remote input (core NATS, any process on the prefix may send one): a whole number out of
/// the range of its field is refused naming the field, as every other malformed field is, not with .NET's "Arithmetic
/// operation resulted in an overflow." that names nothing.</summary>
public sealed class SinePriorAnnouncementRangeTests
{
    [Theory]
    [InlineData("seed", 3e9)]
    [InlineData("seed", -3e9)]
    [InlineData("shots", 3e9)]
    [InlineData("inner_steps", 3e9)]
    public void A_whole_number_past_its_fields_range_is_refused_naming_the_field(string field, double value)
    {
        var json = new SinePriorAnnouncement(Round: 1, Seed: 42, Shots: 10, InnerSteps: 5, InnerLearningRate: 0.05, SequenceBase: 0, Prior: [1f, 2f]).ToJson();
        json[field] = value;

        var error = Assert.Throws<InvalidInputException>(() => SinePriorAnnouncement.FromPayload(JsonNode.Parse(json.ToJsonString())));
        Assert.Contains($"{SinePriorAnnouncement.Topic}.{field}", error.Message);
    }
}
