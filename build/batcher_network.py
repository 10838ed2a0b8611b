"""Batcher's odd-even merge sort as a list of comparators (i, j), i < j: the sorting network shared by
extreme-list-network.py and weighted-median-network.py (imported from this folder, not run alone)."""


def odd_even_merge_sort(lo, n):
    """The comparators that sort positions lo..lo+n-1 (n a power of two) ascending."""
    if n > 1:
        m = n // 2
        yield from odd_even_merge_sort(lo, m)
        yield from odd_even_merge_sort(lo + m, m)
        yield from odd_even_merge(lo, n, 1)


def odd_even_merge(lo, n, r):
    step = r * 2
    if step < n:
        yield from odd_even_merge(lo, n, step)
        yield from odd_even_merge(lo + r, n, step)
        for i in range(lo + r, lo + n - r, step):
            yield (i, i + r)
    else:
        yield (lo, lo + r)
