"""Measured kernel timings of one device, and how the engine reads them.

The data file (``datasets/measured/h100_measured.json``; ``npulab calibrate`` writes the
same schema) holds::

    device, how                       text
    copy:   {bytes_rw, s, TBps}       a large device-to-device copy (bytes read + written)
    gemm:   {"<name>|M=..|K=..|N=..": {s, ...}}   y[M,N] = x[M,K] @ W[K,N]
    attention:   {"b=..|h=..|kvh=..|hd=..|q=..|ctx=..": {s}}     (optional)
    elementwise: {"<op>|n=..": {s}}   (optional; silu(x) * x of n elements)
    conv:   {"conv|h=..|w=..|c=..|f=..|k=..|s=..": {s}}   (optional; one direct conv2d)
    timing: "isolated" | "graph"      (optional, default "isolated")
    kernel_latency_s, launch_floor_s  (optional, written by calibrate)

**Isolated timings.**  A GEMM timed alone between two CUDA events also contains the host
time between the first event and the kernel's launch, and small ones sit on the ~25 us
launch floor.  For ``timing: "isolated"`` the engine (a) drops points within 25% of that
floor (censored: they say only "at most this fast"), and (b) estimates the host overhead as
the intercept of ``time = a + bytes / B`` over the bandwidth-bound points (small M, above
the floor) and subtracts it, keeping the device's own ``kernel_latency_s``.

**Interpolation.**  Each kept point ``i`` gives an *efficiency against the achieved
roofline*::

    roof_i = max(flops_i / peak, bytes_i / copy_bandwidth)      f_i = roof_i / t_i

and the engine predicts a GEMM as ``kernel_latency + roof / f(M, N, K)``, with ``f``
interpolated by inverse-distance weighting (Shepard, 1968) in ``(log M, log N, log K)``
space.  A shape on the grid gets its measured time back; a shape outside it gets the
efficiency of its nearest measured neighbours, so the roofline (with its bytes and flops
of the new shape) carries the extrapolation.  The same applies to attention points
(coordinates ``log(b*h*q), log ctx, log hd``) when they are graph-timed; isolated SDPA
timings carry ~40 us of host dispatch and are not used (the engine's attention model
takes over, see :mod:`npulab.gpu.estimate`).

Several files of one device (``measured: "a.json, b.json"``) are fitted one by one (each
its own host overhead) and their points pooled (:func:`combine`).

Units: seconds, bytes, ops.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

#: Points within this factor of the launch floor are censored (isolated timings only).
CENSOR_FACTOR = 2.0
#: Inverse-distance power and the weight of each log-coordinate (M dominates a GEMM).
IDW_POWER = 2.0
GEMM_AXES = (1.0, 0.5, 0.5)


def parse_key(key: str) -> dict:
    """``"q_proj|M=1|K=4096|N=4096"`` -> ``{"name": "q_proj", "M": 1, "K": 4096, "N": 4096}``."""
    out: dict[str, int | float | str] = {}
    for part in str(key).split("|"):
        if "=" in part:
            k, v = part.split("=", 1)
            try:
                out[k.strip()] = int(v)
            except ValueError:
                out[k.strip()] = float(v)
        elif part:
            out["name"] = part
    return out


def gemm_flops_bytes(M, N, K, elem_bytes=2.0):
    """``(2 M N K, elem_bytes * (M K + K N + M N))``: a GEMM's operations and minimum bytes."""
    return 2.0 * M * N * K, elem_bytes * (M * K + K * N + M * N)


def attention_flops_bytes(b, h, kvh, hd, q, ctx, elem_bytes=2.0, causal=None):
    """Fused attention's operations and bytes: ``Q K^T`` and ``P V`` over ``ctx`` keys.

    ``flops = 4 b h q ctx hd`` (halved when causal, i.e. ``q > 1`` over its own prompt);
    ``bytes = (Q + O) + (K + V)`` with ``kvh`` key/value heads (grouped-query attention).
    """
    causal = q > 1 if causal is None else causal
    flops = 4.0 * b * h * q * ctx * hd * (0.5 if causal else 1.0)
    nbytes = elem_bytes * (2 * b * h * q * hd + 2 * b * kvh * ctx * hd)
    return flops, nbytes


@dataclass(frozen=True)
class Points:
    """Log-space coordinates and efficiencies of the kept measurements of one operator."""

    coords: np.ndarray          # [n, d] log coordinates (already axis-weighted)
    eff: np.ndarray             # [n] efficiency against the achieved roofline
    axes: tuple = GEMM_AXES

    def __len__(self):
        return len(self.eff)

    def efficiency(self, coord) -> float:
        """Inverse-distance-weighted efficiency at ``coord`` (log space, unweighted)."""
        x = np.log(np.asarray(coord, dtype=float)) * np.asarray(self.axes)
        d2 = ((self.coords - x) ** 2).sum(axis=1)
        hit = d2 < 1e-18
        if hit.any():
            return float(self.eff[hit].mean())
        w = d2 ** (-IDW_POWER / 2)
        # interpolate in log efficiency: a factor of 2 above and below averages to 1
        return float(np.exp((w * np.log(self.eff)).sum() / w.sum()))


@dataclass(frozen=True)
class MeasuredData:
    """One device's measurements, ready for interpolation (see the module docstring).

    Attributes
    ----------
    copy_bytes_per_s : float or None
        Achieved copy bandwidth (bytes read + written per second).
    read_bytes_per_s : float or None
        Achieved read-only streaming bandwidth, when measured (CPU calibrations): the memory
        roof of GEMMs and convolutions, which read far more than they write.
    gemm, attention, conv : Points or None
        Kept points and their efficiencies (``conv``: direct convolutions, in the
        coordinates of their im2col GEMM).
    host_overhead_s : float
        Subtracted from every isolated timing (0 for ``timing: "graph"``).
    censored : int
        GEMM points dropped as launch-bound.
    raw : dict
        The file's contents.
    """

    copy_bytes_per_s: float | None
    gemm: Points | None
    attention: Points | None
    host_overhead_s: float
    censored: int
    kernel_latency_s: float | None
    launch_floor_s: float | None
    elem_bytes: float
    raw: dict = field(repr=False, default_factory=dict)
    conv: Points | None = None
    read_bytes_per_s: float | None = None


def _elem_bytes(raw) -> float:
    text = f"{raw.get('dtype', '')} {raw.get('device', '')}".lower()
    if "float32" in text or "fp32" in text:
        return 4.0
    return 2.0


def _rate(raw: dict, key: str, size: str) -> float | None:
    """Bytes per second of the ``key`` section (``{size: bytes, "s": seconds}``), None when the
    file has none; a malformed section is a one-line ``ValueError``."""
    part = raw.get(key)
    if not part:
        return None
    if not isinstance(part, dict):
        raise ValueError(f"measured data: {key!r} must be an object with {size!r} and 's'; got {str(part)[:80]}")
    n, t = part.get(size), part.get("s")
    if not n or not t:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < float("inf") for v in (n, t)):
        raise ValueError(f"measured data: {key}.{size} and {key}.s must be numbers > 0; got {n!r}, {t!r}")
    return float(n) / float(t)


def build(raw: dict, *, peak_ops_per_s: float, kernel_latency_s: float,
          launch_floor_s: float, fallback_bytes_per_s: float) -> MeasuredData:
    """Turn a measured-data dict into :class:`MeasuredData` for a device with these peaks."""
    if not isinstance(raw, dict):
        raise ValueError("measured data must be a JSON object")
    eb = float(raw.get("elem_bytes", _elem_bytes(raw)))
    bw = _rate(raw, "copy", "bytes_rw")
    bw_roof = bw or fallback_bytes_per_s
    stream = _rate(raw, "read", "bytes")
    gemm_roof_bw = max(stream or 0.0, bw_roof)  # GEMMs stream their weights: the read roof
    k_lat = float(kernel_latency_s)  # the device's, so that fit and prediction agree
    floor = float(raw.get("launch_floor_s", launch_floor_s))
    isolated = raw.get("timing", "isolated") == "isolated"

    rows = []
    for key, v in (raw.get("gemm") or {}).items():
        p = parse_key(key)
        if not all(k in p for k in ("M", "N", "K")) or not isinstance(v, dict) or not v.get("s"):
            continue
        rows.append((p["M"], p["N"], p["K"], float(v["s"])))
    censored = 0
    overhead = 0.0
    if isolated and rows:
        kept = [r for r in rows if r[3] >= CENSOR_FACTOR * floor]
        censored = len(rows) - len(kept)
        rows = kept
        # intercept of time vs bytes over the bandwidth-bound points (roof set by bytes)
        mem = [(gemm_flops_bytes(M, N, K, eb)[1], s) for M, N, K, s in rows
               if gemm_flops_bytes(M, N, K, eb)[0] / peak_ops_per_s
               < 0.25 * gemm_flops_bytes(M, N, K, eb)[1] / bw_roof]
        if len(mem) >= 3:
            x = np.array([m[0] for m in mem])
            y = np.array([m[1] for m in mem])
            slope, intercept = np.polyfit(x, y, 1)
            overhead = max(0.0, float(intercept) - k_lat)
    gemm = None
    axes = raw.get("gemm_axes", GEMM_AXES)
    if not isinstance(axes, (list, tuple)) or len(axes) != 3 or not all(
            isinstance(a, (int, float)) and not isinstance(a, bool) and 0 < a < float("inf") for a in axes):
        raise ValueError(f"measured data: gemm_axes must be three numbers > 0; got {str(axes)[:80]}")
    axes = tuple(float(a) for a in axes)
    if rows:
        coords, eff = [], []
        for M, N, K, s in rows:
            flops, nbytes = gemm_flops_bytes(M, N, K, eb)
            roof = max(flops / peak_ops_per_s, nbytes / gemm_roof_bw)
            t = s - overhead - k_lat
            if t <= 0:
                continue
            coords.append(np.log([M, N, K]) * np.asarray(axes))
            eff.append(min(1.0, roof / t))
        if eff:
            gemm = Points(np.array(coords), np.array(eff), axes)

    attention = None
    arows = []
    # isolated SDPA timings carry ~40 us of host dispatch that the GEMM intercept does not
    # describe: only graph-timed attention points (npulab calibrate) are interpolated
    for key, v in ((raw.get("attention") or {}) if not isolated else {}).items():
        p = parse_key(key)
        need = ("b", "h", "kvh", "hd", "q", "ctx")
        if not all(k in p for k in need) or not isinstance(v, dict) or not v.get("s"):
            continue
        s = float(v["s"])
        if isolated and s < CENSOR_FACTOR * floor:
            continue
        flops, nbytes = attention_flops_bytes(p["b"], p["h"], p["kvh"], p["hd"], p["q"], p["ctx"], eb)
        roof = max(flops / peak_ops_per_s, nbytes / bw_roof)
        t = s - overhead - k_lat
        if t > 0:
            arows.append(([p["b"] * p["h"] * p["q"], p["ctx"], p["hd"]], min(1.0, roof / t)))
    if arows:
        axes = (1.0, 1.0, 0.5)
        attention = Points(np.array([np.log(c) * np.asarray(axes) for c, _ in arows]),
                           np.array([e for _, e in arows]), axes)
    conv = None
    crows = []
    for key, v in ((raw.get("conv") or {}) if not isolated else {}).items():
        p = parse_key(key)
        if not all(k in p for k in ("h", "w", "c", "f", "k", "s")) or not isinstance(v, dict) \
                or not v.get("s"):
            continue
        E, F = (p["h"] - p["k"]) // p["s"] + 1, (p["w"] - p["k"]) // p["s"] + 1
        M, N, K = E * F, p["f"], p["c"] * p["k"] * p["k"]
        flops, nbytes = gemm_flops_bytes(M, N, K, eb)
        t = float(v["s"]) - overhead - k_lat
        if t > 0 and E > 0 and F > 0:
            crows.append((np.log([M, N, K]) * np.asarray(axes),
                          min(1.0, max(flops / peak_ops_per_s, nbytes / gemm_roof_bw) / t)))
    if crows:
        conv = Points(np.array([c for c, _ in crows]), np.array([e for _, e in crows]), axes)
    return MeasuredData(copy_bytes_per_s=bw, read_bytes_per_s=stream, gemm=gemm, attention=attention,
                        host_overhead_s=overhead, censored=censored,
                        kernel_latency_s=raw.get("kernel_latency_s"),
                        launch_floor_s=raw.get("launch_floor_s"), elem_bytes=eb, raw=raw,
                        conv=conv)


def resolve(path: str, base: str | Path | None = None) -> Path:
    """Find a measured-data file: absolute, relative to ``base`` (a preset's folder), or
    relative to ``datasets/``; one-line ``ValueError`` when missing."""
    from npulab import datasets

    p = Path(path)
    cands = [p] if p.is_absolute() else (
        ([Path(base) / p] if base else []) + [datasets.DATASETS_DIR / p, Path.cwd() / p])
    for c in cands:
        if c.exists():
            return c
    raise ValueError(f"measured data file {path!r} not found")


def read(path) -> dict:
    """One measured-data file as a dict (one-line ``ValueError`` when it is not JSON)."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err.msg}, line {err.lineno})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: measured data must be a JSON object")
    return raw


@lru_cache(maxsize=16)
def _load_cached(files: tuple, peak, k_lat, floor, bw) -> MeasuredData:
    parts = [build(read(path), peak_ops_per_s=peak, kernel_latency_s=k_lat, launch_floor_s=floor,
                   fallback_bytes_per_s=bw) for path, _ in files]
    return combine(parts)


def combine(parts) -> MeasuredData:
    """Several files of one device, each fitted on its own (its own host overhead), as one:
    their points pooled; copy bandwidth and latencies from the first file that has them."""
    parts = list(parts)
    if len(parts) == 1:
        return parts[0]

    def pool(attr):
        pts = [getattr(p, attr) for p in parts if getattr(p, attr) is not None]
        if not pts:
            return None
        return Points(np.concatenate([q.coords for q in pts]), np.concatenate([q.eff for q in pts]),
                      pts[0].axes)

    def first(attr):
        return next((getattr(p, attr) for p in parts if getattr(p, attr) is not None), None)

    return MeasuredData(copy_bytes_per_s=first("copy_bytes_per_s"),
                        read_bytes_per_s=first("read_bytes_per_s"), gemm=pool("gemm"),
                        attention=pool("attention"), conv=pool("conv"),
                        host_overhead_s=max(p.host_overhead_s for p in parts),
                        censored=sum(p.censored for p in parts),
                        kernel_latency_s=first("kernel_latency_s"),
                        launch_floor_s=first("launch_floor_s"), elem_bytes=parts[0].elem_bytes,
                        raw=merge(p.raw for p in parts))


def merge(raws) -> dict:
    """Several data files of one device as one: their GEMM, attention and elementwise
    tables united (a later file wins a repeated key); ``copy`` and the scalar keys from the
    first file that has them."""
    out: dict = {}
    for raw in raws:
        for key, value in raw.items():
            if key in ("gemm", "attention", "elementwise") and isinstance(value, dict):
                out.setdefault(key, {}).update(value)
            elif key not in out:
                out[key] = value
    return out


def measured_paths(measured: str) -> list[str]:
    """The files named by a ``GpuConfig.measured`` string (comma-separated)."""
    return [part.strip() for part in str(measured).split(",") if part.strip()]


def load(hw, base=None) -> MeasuredData | None:
    """The :class:`MeasuredData` of a :class:`~npulab.hw.gpu.GpuConfig` (None without a file).

    ``hw.measured`` may name several files of the same device, comma-separated.
    """
    if not hw.measured:
        return None
    paths = [resolve(p, base) for p in measured_paths(hw.measured)]
    key = tuple((str(p.resolve()), p.stat().st_mtime) for p in paths)
    return _load_cached(key, hw.peak_ops_per_s, hw.kernel_latency_s, hw.launch_floor_s,
                        hw.achieved_bytes_per_s)


__all__ = ["MeasuredData", "Points", "build", "load", "resolve", "parse_key",
           "gemm_flops_bytes", "attention_flops_bytes"]
