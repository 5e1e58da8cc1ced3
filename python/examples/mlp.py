"""An MLP layer (matmul + bias + ReLU), traced; the matmul's epilogue is
fused into its micro-kernel by strata-vectorize."""
import numpy as np

import strata


@strata.jit
def mlp(x, w, b):
    return strata.maximum(x @ w + b, 0.0)


rng = np.random.default_rng(0)
x = rng.standard_normal((256, 512)).astype(np.float32)
w = rng.standard_normal((512, 256)).astype(np.float32)
b = rng.standard_normal(256).astype(np.float32)
y = mlp(x, w, b)
print("max |strata - numpy| =", float(np.abs(y - np.maximum(x @ w + b, 0)).max()))
print("strata:", mlp.benchmark(x, w, b, runs=50))
print(mlp.mlir(x, w, b))
