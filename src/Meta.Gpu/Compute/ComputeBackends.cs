using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meta.Gpu.Compute;

/// <summary>
/// Backend selection by name (DESIGN §13): <c>cpu</c>, <c>cuda</c>, <c>opencl</c>, <c>ilgpu-cpu</c> and <c>auto</c>
/// (cuda, then opencl, then cpu). The ILGPU backends live in another assembly and plug in with
/// <see cref="Register(string, Func{ILogger, IComputeBackend})"/>.
/// </summary>
/// <remarks>
/// A device backend (<c>cuda</c>, <c>opencl</c>) is handed out wrapped in a <see cref="FallbackBackend"/>, so a
/// device failure mid-round finishes the round on <c>cpu</c>. <c>ilgpu-cpu</c> is handed out bare: it exists to
/// test the kernels, and a failure there must surface. The ILGPU backends register themselves when this assembly
/// loads (<see cref="IlgpuBackendRegistration"/>); a caller may replace a factory with <see cref="Register(string, Func{IComputeBackend})"/>.
/// </remarks>
public static class ComputeBackends
{
    public const string Auto = "auto";
    public const string Cpu = CpuBackend.BackendName;
    public const string Cuda = "cuda";
    public const string OpenCl = "opencl";
    public const string IlgpuCpu = "ilgpu-cpu";

    private static readonly Dictionary<string, Func<ILogger, IComputeBackend>> Factories = new(StringComparer.Ordinal);
    private static readonly Lock Gate = new();

    /// <summary>Every valid name, sorted.</summary>
    public static IReadOnlyList<string> Names { get; } = [Auto, Cpu, Cuda, IlgpuCpu, OpenCl];

    /// <summary>
    /// Registers (or replaces) the factory of a device backend: <c>cuda</c>, <c>opencl</c> or <c>ilgpu-cpu</c>. The
    /// factory returns a ready backend or throws when its device is absent or cannot start (the message says why).
    /// </summary>
    public static void Register(string name, Func<IComputeBackend> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Register(name, _ => factory());
    }

    /// <summary>
    /// <see cref="Register(string, Func{IComputeBackend})"/> for a factory that takes the logger the backend is asked
    /// for with (<see cref="Create"/>'s, <see cref="CreateAuto"/>'s), so that the device it picked and what it does
    /// later are logged where the caller's other lines go.
    /// </summary>
    public static void Register(string name, Func<ILogger, IComputeBackend> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        if (name is not (Cuda or OpenCl or IlgpuCpu))
            throw new ArgumentException($"only {Cuda}, {OpenCl} and {IlgpuCpu} can be registered, not \"{name}\"", nameof(name));
        lock (Gate) Factories[name] = factory;
    }

    /// <summary>Whether a factory is registered for <paramref name="name"/> (case-insensitive and trimmed, as
    /// <see cref="Create"/> reads it; cpu always is).</summary>
    public static bool IsRegistered(string name)
    {
        var key = Normalize(name);
        if (key == Cpu) return true;
        lock (Gate) return Factories.ContainsKey(key);
    }

    /// <summary>
    /// The backend called <paramref name="name"/> (case-insensitive). An unknown name, or a device backend that is
    /// not there or cannot start, is an <see cref="InvalidInputException"/> that says which names are valid or
    /// why the device failed, under <paramref name="field"/> (the command line passes its flag).
    /// </summary>
    public static IComputeBackend Create(string name, ILogger? logger = null, string field = "backend")
    {
        var key = Normalize(name);
        logger ??= NullLogger.Instance;
        switch (key)
        {
            case Cpu:
                return new CpuBackend();
            case Auto:
                return CreateAuto(logger);
            case Cuda or OpenCl or IlgpuCpu:
            {
                var factory = FactoryOf(key)
                    ?? throw new InvalidInputException($"{field}: \"{key}\" is not available in this build (nothing registered it)");
                IComputeBackend primary;
                try
                {
                    primary = factory(logger);
                }
                catch (Exception ex) when (ex is not InvalidInputException)
                {
                    throw new InvalidInputException($"{field}: \"{key}\" could not start: {ex.Message}", ex);
                }
                return key == IlgpuCpu ? primary : new FallbackBackend(primary, new CpuBackend(), logger);
            }
            default:
                throw new InvalidInputException($"{field}: unknown name \"{name}\" (valid: {string.Join(", ", Names)})");
        }
    }

    /// <summary>A user-typed backend name as every reader of one takes it: trimmed and lower-cased (the device
    /// telemetry's factory too, so that a name picks the same device for computing and for its memory readings).</summary>
    internal static string Normalize(string? name) => name?.Trim().ToLowerInvariant() ?? "";

    /// <summary>The device backends <c>auto</c> tries, in order, before it settles on <c>cpu</c> (DESIGN §13);
    /// <c>ilgpu-cpu</c> is never among them. The device report (<c>meta-gpu devices</c>) follows the same order.</summary>
    public static IReadOnlyList<string> AutoOrder { get; } = [Cuda, OpenCl];

    /// <summary><c>auto</c>: the first of <see cref="AutoOrder"/> that starts (wrapped in a fallback), else cpu.</summary>
    public static IComputeBackend CreateAuto(ILogger? logger = null)
    {
        logger ??= NullLogger.Instance;
        foreach (var name in AutoOrder)
        {
            var factory = FactoryOf(name);
            if (factory is null) continue;
            try
            {
                return new FallbackBackend(factory(logger), new CpuBackend(), logger);
            }
            catch (Exception ex)
            {
                logger.LogInformation("backend auto: {Backend} unavailable ({Reason})", name, ex.Message);
            }
        }
        return new CpuBackend();
    }

    /// <summary>The factory registered for <paramref name="name"/>, or null (tests save and restore it).</summary>
    internal static Func<ILogger, IComputeBackend>? FactoryOf(string name)
    {
        lock (Gate) return Factories.GetValueOrDefault(name);
    }
}
