using ScottPlot;

namespace Meta.Gpu.Cli.Bench;

/// <summary>
/// <c>bench.png</c>: effective GB/s per dense workload (groups) and backend (bars), with the read bandwidths of the
/// run as dashed lines (the host's, and each device's measured in the run). A backend timed at two sizes (cpu
/// beside ilgpu-cpu) gets one series per D.
/// </summary>
public static class BenchChart
{
    public static byte[] Png(BenchReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var rows = report.Results.Where(r => r.Skipped is null && r.Gbs is not null).ToList();
        var workloads = BenchWorkloads.Dense.Where(w => rows.Any(r => r.Workload == w)).ToList();
        var series = rows.Select(r => (r.Backend, r.D)).Distinct()
            .OrderBy(s => BenchBackends.All.ToList().IndexOf(s.Backend)).ThenByDescending(s => s.D).ToList();
        var multiSize = series.Select(s => s.Backend).Distinct().Count() < series.Count;

        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var width = 0.8 / Math.Max(series.Count, 1);
        var bars = new List<Bar>();
        for (var s = 0; s < series.Count; s++)
        {
            var color = palette.GetColor(s);
            for (var w = 0; w < workloads.Count; w++)
            {
                var row = rows.FirstOrDefault(r => r.Workload == workloads[w] && r.Backend == series[s].Backend && r.D == series[s].D);
                if (row?.Gbs is not { } gbs) continue;
                bars.Add(new Bar { Position = w - 0.4 + width * (s + 0.5), Value = gbs, FillColor = color, Size = width * 0.9 });
            }
            var label = multiSize ? $"{series[s].Backend} (D={series[s].D})" : series[s].Backend;
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = label, FillColor = color });
        }
        if (bars.Count > 0) plot.Add.Bars(bars);
        if (report.ReadBandwidthGbs > 0)
        {
            var line = plot.Add.HorizontalLine(report.ReadBandwidthGbs);
            line.LinePattern = LinePattern.Dashed;
            line.Color = Colors.Gray;
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = FormattableString.Invariant($"read bandwidth {report.ReadBandwidthGbs:0.0} GB/s"), LineColor = Colors.Gray, LinePattern = LinePattern.Dashed, LineWidth = 2 });
        }
        foreach (var (name, figure) in report.DeviceBandwidth.Where(d => d.Value.Usable))
        {
            var line = plot.Add.HorizontalLine(figure.ReadGbs!.Value);
            line.LinePattern = LinePattern.Dotted;
            line.Color = Colors.Black;
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = FormattableString.Invariant($"{name} device read {figure.ReadGbs:0.0} GB/s"), LineColor = Colors.Black, LinePattern = LinePattern.Dotted, LineWidth = 2 });
        }
        var ticks = workloads.Select((w, i) => new Tick(i, w)).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Margins(bottom: 0);
        plot.Axes.SetLimitsX(-0.6, Math.Max(workloads.Count, 1) - 0.4);
        plot.YLabel("effective GB/s (N x D x 4 bytes / median time)");
        plot.Title($"meta-gpu bench: {report.Machine.Cpu}, {report.Machine.Cores} cores{(report.Machine.Gpu is { } gpu ? ", " + gpu : "")}");
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImageBytes(1100, 600, ImageFormat.Png);
    }
}
