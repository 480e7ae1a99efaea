"""Timing kernels and model steps on a torch device: medians after warm-up.

:class:`Timer` times a callable on ``cpu`` (a loop timed with ``time.perf_counter``) or
``cuda`` (``R`` calls captured in a CUDA graph, the replay timed with ``torch.cuda.Event``:
the device's own time without host launch overhead; or eager calls between events).
:class:`torch_threads` pins the CPU thread count for a block and restores it.  Used by
``npulab calibrate`` (:mod:`npulab.gpu.calibrate`) and ``scorecard --measure``
(:mod:`npulab.perf.measure`).

Units: seconds.
"""
from __future__ import annotations

import statistics
import time

__all__ = ["Timer", "torch_threads"]


class Timer:
    """Median seconds of one call of ``fn`` (see the module docstring).

    Parameters
    ----------
    device : {"cpu", "cuda"}
    budget_s : float
        Roughly how long one timed repetition should take (calls are batched to fill it).
    reps : int
        Timed repetitions (the median is returned).
    graphs : bool, default True
        On CUDA, time a CUDA-graph replay of the calls (hardware time); False times eager
        calls between events.
    stat : {"median", "min"}, default "median"
        How the CPU's repetitions are summarised.  ``"min"`` is the steadiest on a shared
        machine (a neighbour's load only ever adds time); calibration and ``--measure``
        on the CPU use it, so both sides of a comparison are summarised alike.

    Attributes
    ----------
    samples : list of float
        The per-call seconds of each timed repetition of the last call (the spread).
    """

    def __init__(self, device: str = "cpu", budget_s: float = 0.02, reps: int = 5,
                 graphs: bool = True, stat: str = "median"):
        if stat not in ("median", "min"):
            raise ValueError(f"Timer stat must be 'median' or 'min'; got {stat!r}")
        self.device, self.budget_s, self.reps, self.graphs = device, budget_s, reps, graphs
        self.stat = stat
        self.samples: list[float] = []

    def __call__(self, fn) -> float:
        if self.device == "cuda":
            return self.graph_cuda(fn) if self.graphs else self.eager_cuda(fn)
        return self.cpu(fn)

    def cpu(self, fn) -> float:
        """A loop of calls timed with ``time.perf_counter``; median (or min) over ``reps``."""
        fn()  # warm-up (allocations, thread pool)
        t0 = time.perf_counter()
        fn()
        one = max(time.perf_counter() - t0, 1e-7)
        calls = max(1, min(1000, int(self.budget_s / one)))
        times = []
        for _ in range(self.reps):
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            times.append((time.perf_counter() - t0) / calls)
        self.samples = times
        return min(times) if self.stat == "min" else statistics.median(times)

    def eager_cuda(self, fn) -> float:
        """One eager call between two CUDA events (host launch included); median."""
        import torch

        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        times = []
        for _ in range(max(self.reps, 9)):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            torch.cuda.synchronize()
            times.append(a.elapsed_time(b) / 1e3)
        return statistics.median(times)

    def graph_cuda(self, fn) -> float:
        """``R`` calls captured in a CUDA graph; the replay timed with events, per call."""
        import torch

        one = self.eager_cuda(fn)
        calls = max(1, min(64, int(self.budget_s / max(one, 1e-6))))
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                fn()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for _ in range(calls):
                fn()
        graph.replay()
        torch.cuda.synchronize()
        times = []
        for _ in range(self.reps):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            graph.replay()
            b.record()
            torch.cuda.synchronize()
            times.append(a.elapsed_time(b) / 1e3 / calls)
        del graph
        return statistics.median(times)


class torch_threads:
    """Context manager: run torch CPU ops on ``n`` threads, then restore the setting
    (None: leave it).  One thread gives stable timings on a shared, busy machine."""

    def __init__(self, n: int | None):
        self.n, self.old = n, None

    def __enter__(self):
        if self.n is not None:
            import torch

            from npulab._validate import positive_int

            positive_int("measure", "threads", self.n)
            self.old = torch.get_num_threads()
            torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        if self.old is not None:
            import torch

            torch.set_num_threads(self.old)
        return False
