"""The tiler's memory hierarchy and presets: moved to :mod:`npulab.hw.hierarchy` (issue 13).

Hardware description lives in ``npulab.hw``; these names stay importable from here.
"""
from npulab.hw.hierarchy import (
    LEVEL_KINDS,
    PRESETS,
    Architecture,
    MemoryLevel,
    as_architecture,
    eyeriss_like,
    tpu_like,
)

__all__ = ["Architecture", "MemoryLevel", "LEVEL_KINDS", "PRESETS", "eyeriss_like", "tpu_like",
           "as_architecture"]
