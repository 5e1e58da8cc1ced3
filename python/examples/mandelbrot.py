"""Mandelbrot escape counts: a scalar Python function mapped over a grid.
strata.loop carries (zr, zi, n) through one scf.for (a Python for would
unroll); strata.where picks per element."""
import numpy as np

import strata

ITERATIONS = 100


def escape(cr, ci):
    def step(zr, zi, n):
        zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
        return zr, zi, n + strata.where(zr * zr + zi * zi < 4.0, 1.0, 0.0)

    return strata.loop(ITERATIONS, step, 0.0, 0.0, 0.0)[2]


mandelbrot = strata.jit(lambda cr, ci: strata.map(escape, cr, ci))

ys, xs = np.mgrid[-1.25:1.25:48j, -2.1:0.7:96j]
counts = mandelbrot(xs, ys)
for row in counts[::3]:
    print("".join(" .:-=+*#%@"[min(int(c) * 10 // (ITERATIONS + 1), 9)] for c in row))
big = np.mgrid[-1.25:1.25:1024j, -2.1:0.7:1024j]
print("1024x1024:", mandelbrot.benchmark(big[1], big[0], runs=10))
