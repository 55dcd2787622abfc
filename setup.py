"""Builds the optional compiled helper ``xent_cli.engine._native`` (the rest is in pyproject.toml).

``optional=True``: without a C compiler the install still succeeds and xent uses NumPy for
those loops (transposing copy, column sums, target gather, float16 conversion, the fused
loss pass), with bit-identical results (see xent_cli/engine/_native.c).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "xent_cli.engine._native",
            ["xent_cli/engine/_native.c"],
            optional=True,
            extra_compile_args=["-O3", "-ffp-contract=off"],  # no fused multiply-adds: same bits
        )
    ]
)
