using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Meta.Gpu.TorchSharp.Sine;

/// <summary>
/// The regression network of the sine experiment and its inner loop: a 1-40-40-1 multilayer perceptron with tanh
/// activations (the MAML/Reptile sizes; tanh as in the Reptile authors' sine example, which keeps the fitted
/// curves smooth), adapted by plain full-batch SGD on the K shots.
/// </summary>
public sealed class SineRegressor : IDisposable
{
    private readonly Sequential _model;
    private readonly optim.Optimizer _sgd;
    private bool _disposed;

    [ThreadStatic]
    private static bool t_oneThread;

    /// <summary>The network's parameters (1-40-40-1: weights and biases), the width of a round's batch row.</summary>
    public const int ParameterCount = (1 * 40 + 40) + (40 * 40 + 40) + (40 * 1 + 1);

    /// <summary>A network initialised by TorchSharp's default (Kaiming-uniform) init from <paramref name="seed"/>: the
    /// weights <c>manual_seed(seed)</c> followed by the modules' constructors would give, drawn from a generator of
    /// its own, so models may be built on several threads at once.</summary>
    public SineRegressor(long seed, double innerLearningRate)
    {
        // TorchSharp's SGD took a NaN or infinite rate (every adapted network NaN) and refused a negative one
        // without naming the argument.
        if (!(innerLearningRate > 0) || !double.IsFinite(innerLearningRate))
            throw new ArgumentOutOfRangeException(nameof(innerLearningRate), innerLearningRate, "the inner learning rate must be finite and > 0");
        var hidden1 = nn.Linear(1, 40);
        var hidden2 = nn.Linear(40, 40);
        var output = nn.Linear(40, 1);
        // The modules' constructors drew their init from libtorch's one process-wide generator, so a model built
        // while another thread drew from it (another model, any torch.rand) got weights that depended on timing.
        // The same draws come from a generator of the model's own, seeded as manual_seed would seed the global one.
        using (var generator = new Generator((ulong)seed, CPU))
        {
            foreach (var layer in new[] { hidden1, hidden2, output }) DefaultLinearInit(layer, generator);
        }
        _model = nn.Sequential(
            ("hidden1", hidden1),
            ("tanh1", nn.Tanh()),
            ("hidden2", hidden2),
            ("tanh2", nn.Tanh()),
            ("output", output));
        _sgd = optim.SGD(_model.parameters(), innerLearningRate);
        LearningRate = innerLearningRate;
    }

    public Sequential Module => _model;

    /// <summary>The inner SGD steps' learning rate.</summary>
    public double LearningRate { get; }

    /// <summary>Mean squared error of the current parameters on (x, y).</summary>
    public double Loss(float[] x, float[] y)
    {
        CheckPoints(x, y);
        UseOneThreadHere();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = tensor(x).reshape(x.Length, 1);
        var target = tensor(y).reshape(y.Length, 1);
        return nn.functional.mse_loss(_model.forward(input), target).item<float>();
    }

    /// <summary>Adapts the network in place with <paramref name="steps"/> full-batch SGD steps on (x, y).
    /// Returns the loss before the first step. <paramref name="cancellationToken"/> is looked at before every step
    /// (a cancelled adaptation leaves the network part-adapted).</summary>
    public double Adapt(float[] x, float[] y, int steps, CancellationToken cancellationToken = default)
    {
        CheckPoints(x, y);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        UseOneThreadHere();
        using var scope = NewDisposeScope();
        var input = tensor(x).reshape(x.Length, 1);
        var target = tensor(y).reshape(y.Length, 1);
        var before = double.NaN;
        for (var step = 0; step < steps; step++)
        {
            // Looked at every step: a long inner loop (--inner-steps 2147483647) ran on after Ctrl-C or SIGTERM, the
            // token being looked at between domains (and held-out tasks) only.
            cancellationToken.ThrowIfCancellationRequested();
            // A scope a step: in the loop's one scope every step's forward pass, loss and graph (8 tensors) lived until
            // the loop ended, so memory grew with the step count (about 50 MB a second at --inner-steps 2000000).
            using var stepScope = NewDisposeScope();
            _sgd.zero_grad();
            var loss = nn.functional.mse_loss(_model.forward(input), target);
            if (step == 0) before = loss.item<float>();
            loss.backward();
            _sgd.step();
        }
        return steps > 0 ? before : Loss(x, y);
    }

    /// <summary>The network's predictions at <paramref name="x"/>.</summary>
    public float[] Predict(float[] x)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(x);
        UseOneThreadHere();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return _model.forward(tensor(x).reshape(x.Length, 1)).data<float>().ToArray();
    }

    /// <summary>libtorch's default <c>Linear</c> init (as <c>reset_parameters</c>): the weight Kaiming-uniform with
    /// a = sqrt(5) on its fan-in, then the bias uniform in +-1/sqrt(fan-in), each bound computed as libtorch computes
    /// it so that the same generator state gives the same bits.</summary>
    internal static void DefaultLinearInit(Linear layer, Generator generator)
    {
        using var noGrad = no_grad();
        var weight = layer.weight!;
        var fanIn = (double)weight.shape[1];
        var a = Math.Sqrt(5.0);
        var gain = Math.Sqrt(2.0 / (1 + Math.Pow(a, 2)));
        var weightBound = Math.Sqrt(3.0) * (gain / Math.Sqrt(fanIn));
        weight.uniform_(-weightBound, weightBound, generator);
        var biasBound = 1 / Math.Sqrt(fanIn);
        layer.bias!.uniform_(-biasBound, biasBound, generator);
    }

    /// <summary>The sine networks run on one libtorch thread (they are tiny: more threads cost more than they save)
    /// on whichever thread calls them. libtorch keeps that setting per thread (OpenMP's and MKL's): a thread that had
    /// not yet run a parallel op ran the matrix products on every core although <c>set_num_threads(1)</c> had been
    /// called on another, and rounded differently, so a domain worker's update depended on the pool thread its await
    /// resumed on and two identical bus demo runs saved different priors.</summary>
    internal static void UseOneThreadHere()
    {
        if (t_oneThread) return;
        set_num_threads(1);
        t_oneThread = true;
    }

    // Targets of another length were broadcast against the predictions (libtorch only warns, on stderr) and no
    // points at all gave a NaN loss; after Dispose libtorch failed on an "empty handle".
    private void CheckPoints(float[] x, float[] y)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Length == 0) throw new ArgumentException("x: at least one point is needed", nameof(x));
        if (y.Length != x.Length) throw new ArgumentException($"y: {y.Length} targets for {x.Length} points (one a point)", nameof(y));
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _sgd.Dispose();
        _model.Dispose();
    }
}
