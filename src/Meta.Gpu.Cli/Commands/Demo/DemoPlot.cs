using System.Globalization;
using Meta.Gpu.TorchSharp.Sine;
using ScottPlot;

namespace Meta.Gpu.Cli.Commands.Demo;

/// <summary>demo.png: one held-out task's true curve, its K shots, and each start's prediction after
/// adaptation on those shots.</summary>
internal static class DemoPlot
{
    public static byte[] Png(SineDemoResult result)
    {
        var e = result.Example;
        var x = Widen(e.GridX);
        var plot = new Plot();

        var truth = plot.Add.ScatterLine(x, Widen(e.GridY));
        truth.LegendText = "true curve";
        truth.Color = Colors.Black;
        truth.LineWidth = 2;
        truth.LinePattern = LinePattern.Dashed;

        AddCurve(plot, x, e.Meta, "meta-learned prior", Colors.Blue);
        AddCurve(plot, x, e.Joint, "joint training", Colors.Orange);
        AddCurve(plot, x, e.Random, "random init", Colors.Gray);

        var shots = plot.Add.ScatterPoints(Widen(e.ShotsX), Widen(e.ShotsY));
        shots.LegendText = $"K = {e.ShotsX.Length} shots";
        shots.Color = Colors.Red;
        shots.MarkerSize = 9;

        var o = result.Options;
        plot.Title(string.Create(CultureInfo.InvariantCulture,
            $"After {o.InnerSteps} SGD steps on {o.Shots} shots (amplitude {e.Task.Amplitude:F2}, phase {e.Task.Phase:F2})"));
        plot.XLabel("x");
        plot.YLabel("y");
        plot.ShowLegend(Alignment.LowerRight);
        return plot.GetImageBytes(900, 540, ImageFormat.Png);
    }

    private static void AddCurve(Plot plot, double[] x, float[] y, string label, Color color)
    {
        var line = plot.Add.ScatterLine(x, Widen(y));
        line.LegendText = label;
        line.Color = color;
        line.LineWidth = 2;
    }

    private static double[] Widen(float[] values) => Array.ConvertAll(values, v => (double)v);
}
