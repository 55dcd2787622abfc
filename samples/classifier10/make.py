"""Make samples/classifier10: a small 10-class image classifier's evaluation logits and labels.

The numbers imitate a CIFAR-10 model at about 85% accuracy: easy classes (automobile, ship,
truck) and hard ones (cat, bird, dog), the usual confusions (cat/dog, automobile/truck,
airplane/ship, deer/horse), logits that are a little over-confident, and a few mislabelled
samples (the worst losses). Seeded: running it again writes the same files.

    python samples/classifier10/make.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
SKILL = np.array([3.2, 4.0, 2.5, 1.9, 2.9, 2.4, 3.6, 3.4, 3.8, 3.7])  # margin of the true class
CONFUSED = {0: 8, 1: 9, 2: 0, 3: 5, 4: 7, 5: 3, 6: 2, 7: 4, 8: 0, 9: 1}
N, SEED, TEMPERATURE, MISLABELLED = 400, 20240501, 2.4, 6


def make(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Logits (N, 10) and labels (N,)."""
    c = len(CLASSES)
    y = rng.integers(0, c, N)
    z = rng.normal(0.0, 1.0, (N, c))
    rows = np.arange(N)
    z[rows, y] += SKILL[y] * rng.uniform(0.6, 1.8, N)
    z[rows, [CONFUSED[k] for k in y]] += rng.uniform(0.0, 2.0, N)
    z *= TEMPERATURE
    labels = y.copy()
    bad = rng.choice(N, MISLABELLED, replace=False)
    labels[bad] = (y[bad] + rng.integers(1, c, MISLABELLED)) % c
    return z, labels


def main() -> None:
    """Write logits.csv (a header row of class names) and labels.csv next to this script."""
    here = Path(__file__).resolve().parent
    z, labels = make(np.random.default_rng(SEED))
    np.savetxt(
        here / "logits.csv", z, fmt="%.4f", delimiter=",", header=",".join(CLASSES), comments=""
    )
    np.savetxt(here / "labels.csv", labels, fmt="%d", header="label", comments="")


if __name__ == "__main__":
    main()
