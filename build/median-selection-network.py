#!/usr/bin/env python3
"""Prints the selection networks of the median kernels.

For M = 16, 32, 64 keys in sorted runs of eight: Batcher's odd-even merges of the runs, in depth-first order,
pruned backwards from the outputs that are read, scheduled (the ready comparator with the most recently touched
input first, then by its other input) and register-allocated over sixteen locals (evict the key read furthest
ahead, to its own tile row, storing only when it changed). Every network is checked against sorting before it is
printed.

  python3 build/median-selection-network.py > body.cs
      the methods of src/Meta.Gpu/Compute/Cpu/MedianSelectionNetwork.cs (the class body after its header): the
      middle outputs M/2 - 1 and M/2, returned in locals.
  python3 build/median-selection-network.py windows > src/Meta.Gpu/Compute/Cpu/WeightedMedianSelectionNetwork.cs
      the whole file of the weighted median's networks: every rank of a window [a, b] (the middle half and the
      middle three quarters), each stored into its own tile row.
"""
import random
import re
import sys

REGISTERS = 16


def odd_even_merge(lo, hi, r):
    """Batcher's merge of the sorted halves of wires lo..hi (inclusive) taken with stride r."""
    step = r * 2
    if step < hi - lo:
        return (odd_even_merge(lo, hi, step) + odd_even_merge(lo + r, hi, step)
                + [(i, i + r) for i in range(lo + r, hi - r, step)])
    return [(lo, lo + r)]


def merges(lo, n):
    """Merges runs of eight at lo..lo+n-1 into one sorted run, depth first."""
    if n == 8:
        return []
    return merges(lo, n // 2) + merges(lo + n // 2, n // 2) + odd_even_merge(lo, lo + n - 1, 1)


def prune(network, outputs):
    """(a, b, min needed, max needed) for every comparator that feeds an output, in network order."""
    needed = set(outputs)
    kept = []
    for a, b in reversed(network):
        need_a, need_b = a in needed, b in needed
        if need_a or need_b:
            kept.append((a, b, need_a, need_b))
            needed |= {a, b}
    return kept[::-1]


def schedule(kept):
    """A topological order of the comparators (per wire order kept): most recently touched input first."""
    last, users, indegree = {}, [[] for _ in kept], [0] * len(kept)
    for i, (a, b, _, _) in enumerate(kept):
        for w in (a, b):
            if w in last:
                users[last[w]].append(i)
                indegree[i] += 1
            last[w] = i
    ready = [i for i in range(len(kept)) if indegree[i] == 0]
    touched, order = {}, []
    while ready:
        ready.sort(key=lambda i: (-max(touched.get(kept[i][0], -1e9), touched.get(kept[i][1], -1e9)),
                                  -min(touched.get(kept[i][0], -1e9), touched.get(kept[i][1], -1e9)), i))
        i = ready.pop(0)
        order.append(kept[i])
        touched[kept[i][0]] = touched[kept[i][1]] = len(order)
        for u in users[i]:
            indegree[u] -= 1
            if indegree[u] == 0:
                ready.append(u)
    return order


def allocate(ops, outputs, store):
    """C# statements over locals r0..r15 and the tile t; returns (lines, stores, loads). The outputs end in the
    locals low and high (the two of them, in rank order) or, when store, each in its own tile row."""
    uses = {}
    for i, (a, b, _, _) in enumerate(ops):
        uses.setdefault(a, []).append(i)
        uses.setdefault(b, []).append(i)
    regs, dirty, where = [None] * REGISTERS, [False] * REGISTERS, {}
    lines, count = [], {"stores": 0, "loads": 0}

    def row(w):
        return f"Unsafe.Add(ref t, {w})" if w else "t"

    def next_use(w, i):
        later = [j for j in uses[w] if j >= i]
        return later[0] if later else (10 ** 9 if w in outputs else -1)

    def free(i, keep):
        for r in range(REGISTERS):
            if regs[r] is None:
                return r
        r = max((r for r in range(REGISTERS) if regs[r] not in keep),
                key=lambda r: (next_use(regs[r], i), not dirty[r]))
        if dirty[r]:
            lines.append(f"{row(regs[r])} = r{r};")
            count["stores"] += 1
        del where[regs[r]]
        regs[r], dirty[r] = None, False
        return r

    def load(w, i, keep):
        r = free(i, keep)
        lines.append(f"r{r} = {row(w)};")
        count["loads"] += 1
        regs[r], where[w], dirty[r] = w, r, False

    def kill(w):
        if w in where:
            r = where.pop(w)
            regs[r], dirty[r] = None, False

    def place(w, r):
        regs[r], where[w], dirty[r] = w, r, True

    for i, (a, b, need_a, need_b) in enumerate(ops):
        if need_a and need_b:
            # Both inputs in registers: a memory operand read twice would become a hidden JIT temporary.
            for w in (a, b):
                if w not in where:
                    load(w, i, (a, b))
            low = free(i, (a, b))
            ra, rb = where[a], where[b]
            lines.append(f"r{low} = Vector256.MinNative(r{ra}, r{rb});")
            lines.append(f"r{rb} = Vector256.MaxNative(r{ra}, r{rb});")
            kill(a)
            place(b, rb)
            place(a, low)
        else:
            kept, other = (a, b) if need_a else (b, a)
            f = "MinNative" if need_a else "MaxNative"
            if kept in where:
                r = where[kept]
                operand = f"r{where[other]}" if other in where else row(other)
                lines.append(f"r{r} = Vector256.{f}(r{r}, {operand});")
            elif other in where:
                r = where[other]
                lines.append(f"r{r} = Vector256.{f}(r{r}, {row(kept)});")
            else:
                r = free(i, (a, b))
                lines.append(f"r{r} = Vector256.{f}({row(kept)}, {row(other)});")
            kill(other)
            kill(kept)
            place(kept, r)
    if store:
        for w in sorted(outputs):
            if w in where and dirty[where[w]]:
                lines.append(f"{row(w)} = r{where[w]};")
                count["stores"] += 1
    else:
        low, high = sorted(outputs)
        lines.append(f"low = r{where[low]};")
        lines.append(f"high = r{where[high]};")
    return lines, count["stores"], count["loads"]


def evaluate(lines, keys):
    """Runs the generated statements on one lane of integers; returns the locals and the tile."""
    t, env = keys[:], {}

    def value(e):
        e = e.strip()
        call = re.fullmatch(r"Vector256\.(Min|Max)Native\((.*)\)", e)
        if call:
            inner, depth = call.group(2), 0
            for k, ch in enumerate(inner):
                depth += ch == "("
                depth -= ch == ")"
                if ch == "," and depth == 0:
                    f = min if call.group(1) == "Min" else max
                    return f(value(inner[:k]), value(inner[k + 1:]))
        if e == "t":
            return t[0]
        tile = re.fullmatch(r"Unsafe\.Add\(ref t, (\d+)\)", e)
        return t[int(tile.group(1))] if tile else env[e]

    for line in lines:
        lhs, rhs = line.rstrip(";").split(" = ", 1)
        v = value(rhs)
        tile = re.fullmatch(r"Unsafe\.Add\(ref t, (\d+)\)", lhs)
        if lhs == "t":
            t[0] = v
        elif tile:
            t[int(tile.group(1))] = v
        else:
            env[lhs] = v
    return env, t


def check(lines, m, outputs, store, trials=2000):
    """Random keys (many ties) in sorted runs of eight: the outputs must be the order statistics of a sort."""
    rng = random.Random(m * 1000 + min(outputs))
    for _ in range(trials):
        keys = [rng.randrange(m) for _ in range(m)]
        for g in range(0, m, 8):
            keys[g:g + 8] = sorted(keys[g:g + 8])
        ranked = sorted(keys)
        env, t = evaluate(lines, keys)
        if store:
            right = all(t[j] == ranked[j] for j in outputs)
        else:
            low, high = sorted(outputs)
            right = (env["low"], env["high"]) == (ranked[low], ranked[high])
        if not right:
            raise SystemExit(f"M = {m}, outputs {sorted(outputs)}: the generated network is wrong")


def network(m, outputs, store):
    """The checked statements for outputs of M keys, the locals they use, and the counts for the log."""
    kept = prune(merges(0, m), outputs)
    lines, stores, loads = allocate(schedule(kept), set(outputs), store)
    check(lines, m, outputs, store)
    ops = sum(need_a + need_b for _, _, need_a, need_b in kept)
    print(f"M = {m}, ranks {min(outputs)}-{max(outputs)}: {len(kept)} comparators, {ops} min/max, {stores} stores, "
          f"{loads} loads", file=sys.stderr)
    used = sorted({int(x) for line in lines for x in re.findall(r"\br(\d+)\b", line)})
    return lines, used, ops


RUNS = {16: "two sorted runs", 32: "four sorted runs", 64: "eight sorted runs"}


def half(lines):
    """The statements over one 128-bit half of each key: a row's half two Vector128 on, Vector128 min/max."""
    out = []
    for line in lines:
        line = re.sub(r"Unsafe\.Add\(ref t, (\d+)\)", lambda w: f"Unsafe.Add(ref t, {2 * int(w.group(1))})", line)
        out.append(line.replace("Vector256.MinNative(", "Vector128.Min(").replace("Vector256.MaxNative(", "Vector128.Max("))
    return out


def middle():
    out = []
    for m in (16, 32, 64):
        lines, used, _ = network(m, [m // 2 - 1, m // 2], False)
        out.append(f"    /// <summary>The middle pair (ranks {m // 2 - 1} and {m // 2}) of the {m} keys at "
                   f"<paramref name=\"t\"/>, {RUNS[m]} of eight; overwrites them.</summary>")
        out.append("    [MethodImpl(MethodImplOptions.AggressiveOptimization)]")
        out.append(f"    public static void Middle{m}(ref Vector256<int> t, out Vector256<int> low, out Vector256<int> high)")
        out.append("    {")
        out.append("        Vector256<int> " + ", ".join(f"r{u}" for u in used) + ";")
        out.extend("        " + line for line in lines)
        out.append("    }")
        out.append("")
    for m in (16, 32, 64):
        lines, used, _ = network(m, [m // 2 - 1, m // 2], False)
        out.append(f"    /// <summary><see cref=\"Middle{m}\"/> over one 128-bit half of each key (hardware whose vectors are "
                   f"128-bit): <paramref name=\"t\"/> is row 0's half, and each row's lies two Vector128 on.</summary>")
        out.append("    [MethodImpl(MethodImplOptions.AggressiveOptimization)]")
        out.append(f"    public static void Middle{m}Half(ref Vector128<int> t, out Vector128<int> low, out Vector128<int> high)")
        out.append("    {")
        out.append("        Vector128<int> " + ", ".join(f"r{u}" for u in used) + ";")
        out.extend("        " + line for line in half(lines))
        out.append("    }")
        out.append("")
    print("\n".join(out).rstrip() + "\n}")


# The windows of ranks per M, narrowest first (the dispatch takes the first that holds the ranks asked for): the
# middle half, the middle three quarters and all M (a full sort), so a network serves every band of 16 to 64 rows.
WINDOWS = [(m, a, m - 1 - a) for m in (16, 32, 64) for a in (m // 4, m // 8, 0)]

HEADER = """// <auto-generated>
// Generated by build/median-selection-network.py: python3 build/median-selection-network.py windows > {path}
// Do not edit by hand; change the generator and run it again.
// </auto-generated>
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Meta.Gpu.Compute.Cpu;

/// <summary>
/// Partial sorts for the weighted median: of M = 16, 32 or 64 keys per lane, whose sorted runs of eight are
/// already in the tile, the ranks of a window [a, b] end in their own tile rows (rows outside the window hold
/// anything afterwards). The weighted median's pick, the mass below its first candidate and the neighbours of the
/// pick read only a band of ranks around the middle, known per call from the weights alone. The windows are the
/// middle half, the middle three quarters and all M (for weights so uneven that the band is wide): Batcher's
/// odd-even merges of the runs pruned backwards from the window cost, in min/max (the bitonic merges through
/// memory that a full sort of 64 takes are 960),
{counts}
/// Measured (in cache, AMD Zen 3): a weighted median of 64 rows whose band fits the middle half took 49 ms where
/// the bitonic merges took 81; one whose band needs the three quarters 56 where the merges took 88 and the full
/// sort 58.
/// </summary>
/// <remarks>
/// Built as <see cref="MedianSelectionNetwork"/> is (same generator): the keys live in sixteen locals r0..r15,
/// a comparator of which only one output is read later becomes a single min or max, an evicted key goes back to
/// its own tile row, and at the end every window rank still in a local that changed is stored to its row. By the
/// 0-1 principle the window's rows are the exact order statistics whatever the ties. The methods are compiled
/// optimised at once: a call's first thousands of vectors would otherwise run the unoptimised first tier.
/// </remarks>
[SkipLocalsInit]
internal static class WeightedMedianSelectionNetwork
{{
    /// <summary>
    /// Sorts ranks [<paramref name="from"/>, <paramref name="to"/>] of the <paramref name="size"/> keys at
    /// <paramref name="t"/> (runs of eight) into their rows with the narrowest window that holds them; false,
    /// touching nothing, for a size with no networks (8 rows, or more than 64).
    /// </summary>
    public static bool TrySortRanks(ref Vector256<int> t, int size, int from, int to)
    {{
        switch (size)
        {{
{cases}
        }}
        return false;
    }}
"""


def windows():
    path = "src/Meta.Gpu/Compute/Cpu/WeightedMedianSelectionNetwork.cs"
    methods, counts, cases = [], [], {}
    for m, a, b in WINDOWS:
        lines, used, ops = network(m, list(range(a, b + 1)), True)
        name = f"SortRanks{a}To{b}Of{m}"
        counts.append(f"ranks {a}-{b} of {m}: {ops}")
        cases.setdefault(m, []).append(f"                if (from >= {a} && to <= {b}) {{ {name}(ref t); return true; }}")
        methods.append("")
        methods.append(f"    /// <summary>Sorts ranks {a} to {b} of the {m} keys at <paramref name=\"t\"/>, {RUNS[m]} of eight, "
                       f"into their rows.</summary>")
        methods.append("    [MethodImpl(MethodImplOptions.AggressiveOptimization)]")
        methods.append(f"    public static void {name}(ref Vector256<int> t)")
        methods.append("    {")
        methods.append("        Vector256<int> " + ", ".join(f"r{u}" for u in used) + ";")
        methods.extend("        " + line for line in lines)
        methods.append("    }")
    case_lines = []
    for m, body in cases.items():
        case_lines.append(f"            case {m}:")
        case_lines.extend(body)
        case_lines.append("                break;")
    print(HEADER.format(path=path, counts="\n".join(f"/// {c}{'.' if k == len(counts) - 1 else ';'}" for k, c in enumerate(counts)),
                        cases="\n".join(case_lines)), end="")
    print("\n".join(methods) + "\n}")


def main():
    if sys.argv[1:] == ["windows"]:
        windows()
    elif sys.argv[1:]:
        raise SystemExit("usage: median-selection-network.py [windows]")
    else:
        middle()


if __name__ == "__main__":
    main()
