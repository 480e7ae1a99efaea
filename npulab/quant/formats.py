"""Memory cost of number formats: bytes per parameter, scale overhead included.

Used by the scorecard to size weights in DRAM/SRAM.  Per-tensor and per-channel scales are
amortised over thousands of weights and counted as zero; group-wise and MX formats store one
scale per group, which is counted:

* ``int4`` / ``int8`` with ``group_size=g``: ``bits/8 + 2/g`` (an fp16 scale per group, as in
  GPTQ/AWQ checkpoints); asymmetric groups with a zero point add ``zero_point_bytes/g``.
* MX formats (OCP MX v1.0): ``element_bits/8 + 1/32`` (one E8M0 byte per 32 elements), e.g.
  MXFP4 = 0.5 + 1/32 = 0.53125 bytes = 4.25 bits per parameter.
"""
from __future__ import annotations

#: Bytes per element of the plain formats (no scale, or a negligible per-tensor/channel one).
PLAIN_BYTES = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8_e4m3": 1.0, "fp8_e5m2": 1.0,
               "fp8": 1.0, "int8": 1.0, "int4": 0.5}  # "fp8": either FP8 format
#: MX formats: bits per element (OCP MX v1.0 section 5).
MX_ELEMENT_BITS = {"mxint8": 8, "mxfp8": 8, "mxfp6": 6, "mxfp4": 4}
FORMATS = tuple(PLAIN_BYTES) + tuple(MX_ELEMENT_BITS)


def bytes_per_param(fmt: str, group_size: int | None = None, scale_bytes: float = 2.0,
                    zero_point_bytes: float = 0.0) -> float:
    """Storage per parameter of ``fmt``, including the per-group scale overhead.

    Parameters
    ----------
    fmt : str
        One of "fp32", "fp16", "bf16", "int8", "int4", "fp8_e4m3", "fp8_e5m2" ("fp8"), "mxint8",
        "mxfp8", "mxfp6", "mxfp4".
    group_size : int, optional
        int4/int8: weights per scale (None = per-channel, overhead ignored).  MX: the block
        size (None = 32, the spec's).  Not allowed for the float formats.
    scale_bytes : float, default 2.0
        Bytes of one int4/int8 group scale (fp16).  MX scales are always 1 byte (E8M0).
    zero_point_bytes : float, default 0.0
        Bytes of one group zero point (asymmetric groups, e.g. 0.5 for a packed uint4).

    Returns
    -------
    float
        Units: bytes per parameter.

    Examples
    --------
    >>> bytes_per_param("fp16"), bytes_per_param("int4", group_size=128), bytes_per_param("mxfp4")
    (2.0, 0.515625, 0.53125)
    """
    if fmt not in FORMATS:
        raise ValueError(f"bytes_per_param: fmt must be one of {list(FORMATS)}; got {fmt!r}")
    if group_size is not None and (isinstance(group_size, bool) or not isinstance(group_size, int)
                                   or group_size < 1):
        raise ValueError(f"bytes_per_param: group_size must be an int >= 1 or None; got {group_size!r}")
    if fmt in MX_ELEMENT_BITS:
        return MX_ELEMENT_BITS[fmt] / 8 + 1.0 / (group_size or 32)
    if group_size is None:
        return PLAIN_BYTES[fmt]
    if fmt not in ("int8", "int4"):
        raise ValueError(f"bytes_per_param: group_size applies to int4/int8/MX formats, not {fmt!r}")
    return PLAIN_BYTES[fmt] + (scale_bytes + zero_point_bytes) / group_size
