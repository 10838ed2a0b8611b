using System.Reflection;
using System.Reflection.Emit;
using Meta.Gpu.Compute;

namespace Meta.Gpu.Tests.Compute;

/// <summary>
/// The cpu backend's loops are compiled fully optimised from their first call. .NET first runs a method as quickly
/// compiled code (vector operations there are calls, not instructions) and swaps in optimised code only after 30
/// calls and a quiet moment, which a busy process may not reach for a second or more: the weighted mean's
/// tolerance check ran that way and took a 16 x 100,000 round from 0.3 ms to 2 ms for its first second of rounds.
/// Every method with a loop in the kernels (<c>Meta.Gpu.Compute.Cpu</c>) and in <see cref="CpuBackend"/> is marked
/// <see cref="System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization"/> (or inlined into a method
/// that is).
/// </summary>
public sealed class CpuKernelCompilationTests
{
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    [Fact]
    public void Every_method_with_a_loop_is_compiled_optimised_from_the_first_call()
    {
        var assembly = typeof(CpuBackend).Assembly;
        var types = assembly.GetTypes().Where(t => t.Namespace == "Meta.Gpu.Compute.Cpu" || IsWithin(t, typeof(CpuBackend)));
        var unmarked = new List<string>();
        var loops = 0;
        foreach (var type in types)
        foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
                     .Concat<MethodBase>(type.GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)))
        {
            var il = method.GetMethodBody()?.GetILAsByteArray();
            if (il is null || !HasBackwardBranch(il)) continue;
            loops++;
            // AggressiveInlining: compiled into its caller (the kernels' generic list merges), which is marked.
            if ((method.MethodImplementationFlags & (MethodImplAttributes.AggressiveOptimization | MethodImplAttributes.AggressiveInlining)) == 0)
                unmarked.Add($"{type.FullName}.{method.Name}");
        }
        Assert.True(loops > 20, $"found only {loops} methods with loops: the IL scan is broken");
        Assert.True(unmarked.Count == 0, "loops compiled tier 0 first: " + string.Join(", ", unmarked));
    }

    private static bool IsWithin(Type type, Type outer)
    {
        for (var t = type; t is not null; t = t.DeclaringType)
            if (t == outer) return true;
        return false;
    }

    /// <summary>A branch to an earlier instruction: a loop.</summary>
    private static bool HasBackwardBranch(byte[] il)
    {
        var at = 0;
        while (at < il.Length)
        {
            var start = at;
            short value = il[at++];
            if (value == 0xFE) value = (short)(0xFE00 | il[at++]);
            var op = OpCodesByValue[value];
            switch (op.OperandType)
            {
                case OperandType.ShortInlineBrTarget:
                    var shortTarget = at + 1 + (sbyte)il[at];
                    if (shortTarget <= start) return true;
                    at += 1;
                    break;
                case OperandType.InlineBrTarget:
                    var target = at + 4 + BitConverter.ToInt32(il, at);
                    if (target <= start) return true;
                    at += 4;
                    break;
                case OperandType.InlineSwitch:
                    var count = BitConverter.ToInt32(il, at);
                    at += 4 + 4 * count;
                    break;
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineI or OperandType.ShortInlineVar: at += 1; break;
                case OperandType.InlineVar: at += 2; break;
                case OperandType.InlineI8 or OperandType.InlineR: at += 8; break;
                default: at += 4; break;
            }
        }
        return false;
    }
}
