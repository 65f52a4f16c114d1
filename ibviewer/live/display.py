"""What the worker sends of a large matrix: a block-mean image at most :data:`DISPLAY_SIDE` entries a side.

At d = 1,000 the product is 8 MB; sent whole with every snapshot, pickling, the pipe and the image upload took more
of the GUI's time than drawing everything else.  No panel shows more than a few hundred pixels a side, so the
worker sends the mean of each f x f block (f the smallest whole factor that brings the longer side to at most
DISPLAY_SIDE), in float32: at d = 1,000 a 500 x 500 image (1 MB), at d = 4,000 the same.  The panels place the image
over the matrix's own extent (rows and columns keep their meaning on the axes).  Runs and their metrics never see
this image: they use the full product.
"""

from __future__ import annotations

import math

import numpy as np

#: the longest side, in entries, of a matrix image sent to the GUI
DISPLAY_SIDE = 512


def display_factor(shape: tuple[int, ...], side: int = DISPLAY_SIDE) -> int:
    """The block size that brings a matrix of ``shape`` to at most ``side`` entries a side (1: sent whole)."""
    if len(shape) != 2:
        return 1
    return max(1, math.ceil(max(shape) / side))


def display_matrix(p: np.ndarray, side: int = DISPLAY_SIDE) -> np.ndarray:
    """``p`` as it is drawn: itself when small, else the mean of each f x f block (a partial block at the bottom
    or right edge: the mean of the entries it has), in float32."""
    p = np.asarray(p)
    f = display_factor(p.shape, side)
    if f == 1:
        return p
    r, c = p.shape
    rows, cols = -(-r // f), -(-c // f)
    padded = np.zeros((rows * f, cols * f), dtype=np.float64)
    padded[:r, :c] = p
    sums = padded.reshape(rows, f, cols, f).sum(axis=(1, 3))
    # entries per block: f x f, fewer in the last block row and column
    n = np.outer(np.bincount(np.arange(r) // f), np.bincount(np.arange(c) // f))
    return (sums / n).astype(np.float32)
