#!/usr/bin/env python3
"""Prints the methods of src/Meta.Gpu/Compute/Cpu/MedianSelectionNetwork.cs (the class body after its header).

For M = 16, 32, 64 keys in sorted runs of eight: Batcher's odd-even merges of the runs, in depth-first order,
pruned backwards from the middle outputs M/2 - 1 and M/2, scheduled (the ready comparator with the most recently
touched input first, then by its other input) and register-allocated over sixteen locals (evict the key read furthest ahead, to
its own tile row, storing only when it changed). Every network is checked against sorting before it is printed.
Usage: python3 build/median-selection-network.py > body.cs
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


def allocate(ops, m):
    """C# statements over locals r0..r15 and the tile t; returns (lines, stores, loads)."""
    outputs = {m // 2 - 1, m // 2}
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
    lines.append(f"low = r{where[m // 2 - 1]};")
    lines.append(f"high = r{where[m // 2]};")
    return lines, count["stores"], count["loads"]


def evaluate(lines, keys):
    """Runs the generated statements on one lane of integers; returns (low, high)."""
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
    return env["low"], env["high"]


def check(lines, m, trials=2000):
    rng = random.Random(m)
    for _ in range(trials):
        keys = [rng.randrange(m) for _ in range(m)]
        for g in range(0, m, 8):
            keys[g:g + 8] = sorted(keys[g:g + 8])
        ranked = sorted(keys)
        if evaluate(lines, keys) != (ranked[m // 2 - 1], ranked[m // 2]):
            raise SystemExit(f"M = {m}: the generated network is wrong")


def main():
    runs = {16: "two sorted runs", 32: "four sorted runs", 64: "eight sorted runs"}
    out = []
    for m in (16, 32, 64):
        kept = prune(merges(0, m), [m // 2 - 1, m // 2])
        lines, stores, loads = allocate(schedule(kept), m)
        check(lines, m)
        ops = sum(need_a + need_b for _, _, need_a, need_b in kept)
        print(f"M = {m}: {len(kept)} comparators, {ops} min/max, {stores} stores, {loads} loads", file=sys.stderr)
        used = sorted({int(x) for line in lines for x in re.findall(r"\br(\d+)\b", line)})
        out.append(f"    /// <summary>The middle pair (ranks {m // 2 - 1} and {m // 2}) of the {m} keys at "
                   f"<paramref name=\"t\"/>, {runs[m]} of eight; overwrites them.</summary>")
        out.append("    [MethodImpl(MethodImplOptions.AggressiveOptimization)]")
        out.append(f"    public static void Middle{m}(ref Vector256<int> t, out Vector256<int> low, out Vector256<int> high)")
        out.append("    {")
        out.append("        Vector256<int> " + ", ".join(f"r{u}" for u in used) + ";")
        out.extend("        " + line for line in lines)
        out.append("    }")
        out.append("")
    print("\n".join(out).rstrip() + "\n}")


if __name__ == "__main__":
    main()
