"""Design-space sweep: score many systolic NPU configurations x workloads, find the Pareto front.

A sweep spec (YAML) names the workloads, the parameter space and how to sample it::

    name: edge-npu-sweep
    mode: grid                 # grid (every combination) or random (``samples`` draws)
    samples: 200               # random mode only
    seed: 0                    # random mode only
    workloads: [resnet18, mobilenetv2]
    base: edge-npu-int8        # optional preset whose other settings are kept
    space:                     # each a list of values
      rows: [8, 16, 32]
      cols: [8, 16, 32]
      sram_kb: [64, 256]       # each of the three SRAMs (ifmap/filter/ofmap), KiB
      dram_bytes_per_s: [8.0e+9, 16.0e+9]
      precision: [int8, fp16]
      dataflow: [os, ws]
      clock_hz: [1.0e+9]
      skip_pattern: ["", "2:4"]    # sparsity hardware (issue 30): "N:M" zero-skipping (ws only)
      zero_gating: [false, true]
      weight_sparsity: ["", "2:4"] # sparsity of the workloads (npulab.perf.sparsity)
      act_density: [1.0, 0.5]      # also weight_density

Points are built in a fixed order (grid: ``itertools.product`` in the order of ``space``;
random: ``numpy.random.default_rng(seed)``), split into chunks and scored by a local
process pool (default), serially, or on a Dask distributed cluster (``address``).  Each
chunk is pure (a function of its points), and results are put back in point order, so the
table is the same whatever the executor.

Pareto front (per workload): the points no other point beats in both latency and energy
(Deb, *Multi-Objective Optimization using Evolutionary Algorithms*, 2001, Sec. 2.4).

Units: seconds, J, bytes/s, KiB.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from npulab._validate import one_of, positive_int
from npulab.metrics.pareto import pareto_front as _pareto
from npulab.metrics.report import render_table

#: Parameters a sweep space may vary, and where each goes in a systolic preset.
SPACE_KEYS = {"rows": "array", "cols": "array", "dataflow": "array", "clock_hz": "array",
              "precision": "array", "sram_kb": "memory", "ifmap_sram_kb": "memory",
              "filter_sram_kb": "memory", "ofmap_sram_kb": "memory",
              "dram_bytes_per_s": "memory", "weight_capacity_bytes": "top",
              # sparsity (issue 30): hardware, then workload attributes
              "zero_gating": "top", "skip_pattern": "top", "weight_sparsity": "workload",
              "weight_density": "workload", "act_density": "workload"}
_SPEC_KEYS = {"name", "mode", "samples", "seed", "workloads", "base", "space", "seq_len",
              "batch", "phase", "chunk_size"}
#: Metrics kept per (point, workload).
METRICS = ("latency_s", "energy_j", "throughput_per_s", "power_w", "tops", "tops_per_w",
           "utilization", "bound")


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep specification (see the module docstring for the file format)."""

    name: str
    mode: str
    workloads: tuple
    space: Mapping
    samples: int = 100
    seed: int = 0
    base: str | None = None
    seq_len: int = 2048
    batch: int = 1
    phase: str = "decode"
    chunk_size: int = 25

    def n_points(self) -> int:
        """How many design points :meth:`points` builds (counted without building them)."""
        if self.mode == "grid":
            return math.prod(len(v) for v in self.space.values())
        return self.samples

    def points(self) -> list[dict]:
        """Every design point, in a fixed order."""
        keys = list(self.space)
        if self.mode == "grid":
            return [dict(zip(keys, combo)) for combo in itertools.product(*(self.space[k] for k in keys))]
        import numpy as np

        rng = np.random.default_rng(self.seed)
        out = []
        for _ in range(self.samples):
            point = {}
            for k in keys:
                values = self.space[k]
                v = values[int(rng.integers(len(values)))]
                point[k] = v
            out.append(point)
        return out


def load_spec(path_or_dict) -> SweepSpec:
    """Read and validate a sweep spec (YAML file or dict); one-line ``ValueError`` on a bad field."""
    from npulab.perf.presets import parse_numbers, read_data_file

    origin = "sweep spec"
    if isinstance(path_or_dict, Mapping):
        d = dict(path_or_dict)
    else:
        p = Path(path_or_dict)
        if not p.exists():
            raise FileNotFoundError(f"no sweep spec file {str(p)!r}")
        d = read_data_file(p)
        origin = str(p)
        if not isinstance(d, Mapping):
            raise ValueError(f"{p}: a sweep spec must be a mapping")
    d = parse_numbers(d)
    for k in d:
        if k not in _SPEC_KEYS:
            raise ValueError(f"{origin}: SweepSpec.{k} is not a field (fields: {sorted(_SPEC_KEYS)})")
    owner = f"{origin}: SweepSpec"
    mode = one_of(owner, "mode", d.get("mode", "grid"), ("grid", "random"))
    workloads = d.get("workloads")
    if isinstance(workloads, str):
        workloads = [workloads]
    if not workloads:
        raise ValueError(f"{origin}: SweepSpec.workloads must list at least one workload")
    space = d.get("space")
    if not isinstance(space, Mapping) or not space:
        raise ValueError(f"{origin}: SweepSpec.space must map parameters to lists of values")
    clean = {}
    for k, v in space.items():
        if k not in SPACE_KEYS:
            raise ValueError(f"{origin}: SweepSpec.space.{k} is not a sweep parameter "
                             f"(parameters: {sorted(SPACE_KEYS)})")
        if not isinstance(v, (list, tuple)) or not v:
            v = [v]
        clean[k] = [int(x) if isinstance(x, float) and x.is_integer() and k not in
                    ("clock_hz", "dram_bytes_per_s") else x for x in v]
    for k in ("samples", "seed", "seq_len", "batch", "chunk_size"):
        if k in d:
            v = d[k]
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            if k != "seed":
                v = positive_int(owner, k, v)
            elif isinstance(v, bool) or not isinstance(v, int) or v < 0:  # the one field that may be 0
                raise ValueError(f"{owner}.seed must be an int >= 0; got {v!r}")
            d[k] = v
    phase = one_of(owner, "phase", d.get("phase", "decode"), ("prefill", "decode"))
    return SweepSpec(name=str(d.get("name", Path(origin).stem)), mode=mode, workloads=tuple(workloads),
                     space=clean, samples=d.get("samples", 100), seed=d.get("seed", 0),
                     base=d.get("base"), seq_len=d.get("seq_len", 2048), batch=d.get("batch", 1),
                     phase=phase, chunk_size=d.get("chunk_size", 25))


def base_fields(base: str | None) -> dict:
    """The ``array``, ``memory`` and other fields of a systolic base preset (defaults without one)."""
    from npulab.perf.presets import load_preset

    if not base:
        return {"array": {"rows": 16, "cols": 16}, "memory": {}, "top": {}}
    b = load_preset(base)
    if b.engine != "systolic":
        raise ValueError(f"SweepSpec.base must be a systolic preset; got {base!r} ({b.engine})")
    a, m = b.config.array, b.config.memory
    return {"array": {"rows": a.rows, "cols": a.cols, "dataflow": a.dataflow, "clock_hz": a.clock_hz,
                      "precision": a.precision},
            "memory": {"ifmap_sram_kb": m.ifmap_sram_kb, "filter_sram_kb": m.filter_sram_kb,
                       "ofmap_sram_kb": m.ofmap_sram_kb, "dram_bytes_per_s": m.dram_bytes_per_s},
            "top": {"weight_capacity_bytes": b.weight_capacity_bytes, "energy": b.energy.to_dict()}}


def point_preset(point: Mapping, base=None):
    """The systolic :class:`~npulab.perf.HardwarePreset` of one design point.

    ``base`` is a preset name or the dict :func:`base_fields` returns; the point's values
    replace the base's.  Static power is derived from the point's area (:mod:`npulab.hw.area`).
    """
    from npulab.perf.presets import preset_from_dict

    fields = base if isinstance(base, Mapping) else base_fields(base)
    array, memory, top = dict(fields["array"]), dict(fields["memory"]), dict(fields["top"])
    for k, v in point.items():
        where = SPACE_KEYS[k]
        if k == "sram_kb":
            memory.update(ifmap_sram_kb=v, filter_sram_kb=v, ofmap_sram_kb=v)
        elif where == "array":
            array[k] = v
        elif where == "memory":
            memory[k] = v
        elif where == "top":
            top[k] = v
    name = "sweep:" + ",".join(f"{k}={v}" for k, v in point.items())
    return preset_from_dict({"name": name, "engine": "systolic", "array": array, "memory": memory, **top},
                            origin=name)


def evaluate_chunk(points: list, workloads: tuple, base, job_kwargs: dict) -> list[dict]:
    """Score ``points`` x ``workloads``: one row per pair (a pure function; runs on any worker)."""
    from npulab.perf.scorecard import report_row
    from npulab.perf.scoring import make_jobs, score_job

    rows = []
    job_cache: dict = {}
    for point in points:
        preset = point_preset(point, base)
        for w in workloads:
            sparsity = {k: v for k, v in point.items() if SPACE_KEYS[k] == "workload"}
            key = (w, preset.precision, tuple(sorted(sparsity.items())))
            if key not in job_cache:
                job_cache[key] = make_jobs(w, precision=preset.precision, **job_kwargs)
                if sparsity:  # issue 30
                    from npulab.perf.sparsity import apply_sparsity

                    job_cache[key] = [apply_sparsity(j, precision=preset.precision, **sparsity)
                                      for j in job_cache[key]]
            for job in job_cache[key]:
                r = report_row(score_job(job, preset))
                rows.append({**point, "workload": job.label, **{m: r[m] for m in METRICS}})
    return rows


def pareto_front(rows: list[dict], x: str = "latency_s", y: str = "energy_j") -> list[int]:
    """Indices of the rows no other row beats in both ``x`` and ``y`` (lower is better), by ``x``.

    The front is :func:`npulab.metrics.pareto_front` (the one definition: equal rows are all
    kept); the indices come ordered by rising ``x``, then ``y``, then index, as a table reads.
    """
    front = _pareto([[r[x], r[y]] for r in rows])
    return sorted(front, key=lambda i: (rows[i][x], rows[i][y], i))


def _knob(value) -> str:
    """A design knob as a person writes it: ``64``, ``int8``, ``2.56e+10`` (not ``25600000000.0``)."""
    if isinstance(value, float) and not isinstance(value, bool):
        return f"{value:.4g}"
    return str(value)


@dataclass(frozen=True, repr=False)
class SweepResult:
    """The rows of a sweep (one per point x workload) and its Pareto fronts."""

    spec: SweepSpec
    rows: tuple

    def workloads(self) -> list[str]:
        """Names of the swept workloads, each once, in the order of the rows."""
        return list(dict.fromkeys(r["workload"] for r in self.rows))

    def pareto(self, workload: str | None = None) -> list[dict]:
        """The Pareto-optimal rows (energy vs latency) of one workload (default: the first)."""
        workload = workload or self.workloads()[0]
        rows = [r for r in self.rows if r["workload"] == workload]
        return [rows[i] for i in pareto_front(rows)]

    def table(self, max_rows: int = 20) -> str:
        """Text: the Pareto front of each workload (knob values as people write them: 2.56e+10)."""
        keys = list(self.spec.space)
        lines = [f"sweep {self.spec.name}: {len(self.rows)} results "
                 f"({len(self.rows) // max(1, len(self.workloads()))} points x {len(self.workloads())} workloads)"]
        for w in self.workloads():
            front = self.pareto(w)
            lines.append(f"\nPareto front for {w} ({len(front)} points, energy vs latency):")
            head = keys + ["latency_s", "energy_j", "tops_per_w", "bound"]
            cells = [[_knob(r[k]) for k in keys] + [f"{r['latency_s']:.4g}", f"{r['energy_j']:.4g}",
                                                   f"{r['tops_per_w']:.4g}", str(r["bound"])]
                     for r in front[:max_rows]]
            lines.append(render_table(head, cells))
        return "\n".join(lines)

    __str__ = table

    def __repr__(self) -> str:
        return f"SweepResult({self.spec.name!r}, {len(self.rows)} rows)"

    def to_csv(self, path=None) -> str:
        """The rows as CSV text: one column per knob of the space, ``workload``, then the
        metrics (:data:`METRICS`).

        Parameters
        ----------
        path : str or Path, optional
            Also write the text to this file (UTF-8).

        Returns
        -------
        str
            The CSV text, header line first.
        """
        import csv
        import io

        buf = io.StringIO()
        fields = list(self.spec.space) + ["workload", *METRICS]
        w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            w.writerow({k: r.get(k) for k in fields})
        if path is not None:
            Path(path).write_text(buf.getvalue(), encoding="utf-8")
        return buf.getvalue()

    def plot(self, path=None, workload: str | None = None, ax=None):
        """Energy vs latency of every point, Pareto front highlighted (log-log)."""
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        workload = workload or self.workloads()[0]
        rows = [r for r in self.rows if r["workload"] == workload]
        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 4.5))
        ax.loglog([r["latency_s"] for r in rows], [r["energy_j"] for r in rows], ".", color="0.6",
                  label=f"{len(rows)} design points")
        front = self.pareto(workload)
        ax.loglog([r["latency_s"] for r in front], [r["energy_j"] for r in front], "o-", color="C3",
                  label="Pareto front")
        ax.set_xlabel("latency (s)")
        ax.set_ylabel("energy (J)")
        ax.set_title(f"{self.spec.name}: {workload}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        if path is not None:
            ax.figure.savefig(path, dpi=120)
            plt.close(ax.figure)
        return ax

    def plot_all(self, path=None):
        """:meth:`plot` of every workload, one panel each, in one figure (saved to ``path``)."""
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        names = self.workloads()
        cols = min(3, len(names))
        rows = -(-len(names) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 4.5 * rows), squeeze=False)
        for ax, w in zip(axes.flat, names):
            self.plot(workload=w, ax=ax)
        for ax in list(axes.flat)[len(names):]:
            ax.set_visible(False)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=120)
            plt.close(fig)
        return fig


#: Most design points one sweep builds (``npulab sweep --max-points`` raises it).
MAX_POINTS = 100_000


def run_sweep(spec, *, executor: str = "process", workers: int = 2, address: str | None = None,
              progress: bool = False, max_points: int = MAX_POINTS,
              connect_timeout: str = "5s") -> SweepResult:
    """Run a sweep.

    Parameters
    ----------
    spec : SweepSpec, dict or path
        The sweep (see :func:`load_spec`).
    executor : {"process", "serial", "dask"}, default "process"
        A local ``concurrent.futures.ProcessPoolExecutor``, the current process, or a Dask
        distributed cluster (``address`` required, e.g. ``"tcp://127.0.0.1:8786"``).
    workers : int, default 2
        Processes of the local pool.
    address : str, optional
        Dask scheduler address; implies ``executor="dask"``.
    max_points : int, default :data:`MAX_POINTS`
        Refuse (``ValueError``) a spec with more design points, counted before building them.
    connect_timeout : str, default "5s"
        How long to wait for the Dask scheduler (one ``ValueError`` line if none answers).
    progress : bool, default False
        tqdm progress bar over chunks.

    Returns
    -------
    SweepResult
        Rows in point order (identical for every executor).
    """
    spec = spec if isinstance(spec, SweepSpec) else load_spec(spec)
    if address:
        executor = "dask"
    if executor not in ("process", "serial", "dask"):
        raise ValueError(f"sweep executor must be 'process', 'serial' or 'dask'; got {executor!r}")
    n = spec.n_points()
    if n > max_points:
        raise ValueError(f"sweep {spec.name}: {n:.3g} design points, over the limit of {max_points} "
                         f"(npulab sweep --max-points raises it)")
    points = spec.points()
    if not points:
        raise ValueError("SweepSpec.space gives no design points")
    base = base_fields(spec.base)  # read the base preset once, not once per point
    point_preset(points[0], base)  # fail fast, in this process, on a bad point
    job_kwargs = {"seq_len": spec.seq_len, "batch": spec.batch, "phases": (spec.phase,)}
    chunks = [points[i:i + spec.chunk_size] for i in range(0, len(points), spec.chunk_size)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(chunks), desc=f"sweep {spec.name}", unit="chunk")
    results: list = [None] * len(chunks)
    if executor == "serial":
        for i, c in enumerate(chunks):
            results[i] = evaluate_chunk(c, spec.workloads, base, job_kwargs)
            if bar:
                bar.update()
    elif executor == "process":
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(evaluate_chunk, c, spec.workloads, base, job_kwargs): i
                       for i, c in enumerate(chunks)}
            for f in as_completed(futures):
                results[futures[f]] = f.result()
                if bar:
                    bar.update()
    else:
        if not address:
            raise ValueError("sweep executor 'dask' needs a scheduler address")
        from distributed import as_completed as dask_completed

        from npulab.perf.dask_client import dask_client

        with dask_client(address, connect_timeout) as client:   # one client per run
            dask_futures = [client.submit(evaluate_chunk, c, spec.workloads, base, job_kwargs,
                                          pure=False) for c in chunks]
            index = {df.key: i for i, df in enumerate(dask_futures)}
            for df in dask_completed(dask_futures):
                results[index[df.key]] = df.result()
                if bar:
                    bar.update()
    if bar:
        bar.close()
    rows = tuple(r for chunk in results for r in chunk)
    return SweepResult(spec=spec, rows=rows)
