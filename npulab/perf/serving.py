"""LLM serving as users measure it: a continuous-batching simulator (TTFT, TPOT, p99, goodput).

Requests arrive as a Poisson process (:func:`poisson_requests`) or from a trace CSV
(:func:`load_trace`: ``arrival_s, prompt_tokens, output_tokens``).  The server runs
**iteration-level scheduling** within ``max_batch`` sequences and ``max_tokens`` tokens per
iteration, by one of four named policies (:data:`POLICIES`, ``npulab serve --policy``):

* ``"orca"`` (the default) -- Yu et al., "Orca", OSDI 2022: every iteration runs one decode
  token for each running request and, FCFS, the *whole* prompts of newly admitted requests
  in the same pass (a prompt longer than ``max_tokens`` runs alone).  Vidur's
  ``orca`` scheduler.
* ``"vllm-v0"`` -- vLLM before chunked prefill (Kwon et al., "Efficient Memory Management
  for LLM Serving with PagedAttention", SOSP 2023; vLLM 0.x's default scheduler): prefill
  first, and an iteration that admits prompts runs **only** prefills; the running requests
  decode in the iterations when nothing can be admitted.  Vidur's ``vllm`` scheduler.
* ``"sarathi"`` -- Agrawal et al., Sarathi-Serve, OSDI 2024: decodes first, then prompt
  **chunks** fill the token budget (``max_tokens`` is the chunk size; Sarathi-Serve's
  evaluation and Vidur's default use 512, :data:`POLICY_TOKEN_BUDGET`).  Vidur's
  ``sarathi`` scheduler.
* ``"vllm"`` -- current vLLM's default (V1 engine, chunked prefill always on): the same
  decode-first chunking as Sarathi with vLLM's default token budget,
  ``max_num_batched_tokens = 8192`` for online serving.

``chunked_prefill=True`` (``--chunked-prefill``) is the older spelling of ``"sarathi"``
with the given ``max_tokens``.

The KV cache is paged: ``num_blocks`` blocks of ``block_size`` tokens (device memory
minus the weights, :func:`kv_cache_blocks`).  A request is admitted only when the blocks of
its prompt are free; when a running request needs a new block and none is free, the most
recently admitted request is **preempted by recomputation** (vLLM's default): its blocks
are freed and it goes back to the head of the queue, to prefill its prompt plus the tokens
it has generated.

Each iteration's latency comes from a step-cost model (:mod:`npulab.perf.serving_cost`):
by default the scorecard on a hardware preset (:class:`ScorecardStepCost`).  Time jumps
from one iteration's end to the next; a request arriving mid-iteration waits for the next.

Metrics (vLLM's ``benchmark_serving``; MLPerf Inference LLM rules):

* TTFT: first token time - arrival (the prefill's iteration end, queueing included);
* TPOT: ``(e2e - TTFT) / (output_tokens - 1)`` for requests with more than one output token;
* e2e: last token time - arrival;
* throughput: output tokens (and requests) / (last finish - first arrival);
* goodput: requests per second that met the SLO (TTFT and TPOT bounds; Zhong et al.,
  DistServe, OSDI 2024);
* KV-cache utilisation: used blocks / blocks after each iteration, time-weighted.

The simulator is deterministic: the same requests (same seed) give the same result.
Compared with Vidur (Agrawal et al., MLSys 2024) it has one replica, one scheduler and
no pipeline parallelism.

Units: seconds, tokens, blocks, requests/s.
"""
from __future__ import annotations

import csv
import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from npulab._validate import positive_int
from npulab.perf.serving_cost import LinearStepCost, ScorecardStepCost

#: Percentiles reported for TTFT, TPOT and e2e latency.
PERCENTILES = (50, 90, 99)
#: The named scheduling policies (module docstring gives each one's source).
POLICIES = ("orca", "vllm-v0", "sarathi", "vllm")
#: Each policy's default token budget per iteration (``max_tokens``) in :func:`serve`:
#: Sarathi-Serve's chunk size 512 (Agrawal et al. 2024, Vidur's default), vLLM's 8192.
POLICY_TOKEN_BUDGET = {"orca": 8192, "vllm-v0": 8192, "sarathi": 512, "vllm": 8192}


# ---- requests ----------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class Requests:
    """A request stream: arrival times and lengths, sorted by arrival.

    Attributes
    ----------
    arrival_s : ndarray of float, shape (n,)
        Arrival times (s).
    prompt_tokens, output_tokens : ndarray of int, shape (n,)
        Prompt length and tokens to generate (>= 1 each).
    """

    arrival_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray

    def __post_init__(self):
        a = np.asarray(self.arrival_s, dtype=float)
        p = np.asarray(self.prompt_tokens)
        o = np.asarray(self.output_tokens)
        if not (a.ndim == p.ndim == o.ndim == 1 and len(a) == len(p) == len(o)) or len(a) == 0:
            raise ValueError("Requests needs three 1-D arrays of the same length >= 1 "
                             f"(got {a.shape}, {p.shape}, {o.shape})")
        for name, x in (("prompt_tokens", p), ("output_tokens", o)):
            if not np.all(np.equal(np.mod(x, 1), 0)) or np.min(x) < 1:
                raise ValueError(f"Requests.{name} must be integers >= 1; got min {np.min(x)!r}")
        if not np.all(np.isfinite(a)) or np.min(a) < 0:
            raise ValueError("Requests.arrival_s must be finite and >= 0")
        order = np.argsort(a, kind="stable")
        object.__setattr__(self, "arrival_s", a[order])
        object.__setattr__(self, "prompt_tokens", p.astype(np.int64)[order])
        object.__setattr__(self, "output_tokens", o.astype(np.int64)[order])

    def __len__(self) -> int:
        return len(self.arrival_s)

    def __repr__(self) -> str:
        span = self.arrival_s[-1] - self.arrival_s[0]
        return (f"Requests({len(self)}, over {span:.4g} s, prompt mean {self.prompt_tokens.mean():.4g}, "
                f"output mean {self.output_tokens.mean():.4g} tokens)")


def poisson_requests(rate: float, n: int, prompt_len: int, output_len: int, seed: int = 0) -> Requests:
    """``n`` requests arriving as a Poisson process of ``rate`` per second (fixed lengths).

    Inter-arrival times are exponential with mean ``1 / rate``, drawn from
    ``numpy.random.default_rng(seed)``; the first request arrives after one gap.

    >>> r = poisson_requests(2.0, 1000, 128, 32, seed=0)
    >>> round(float(len(r) / r.arrival_s[-1]), 1)
    2.0
    """
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < math.inf:
        raise ValueError(f"rate must be a number > 0 (requests per second); got {rate!r}")
    n = positive_int("poisson_requests", "requests", n)
    positive_int("poisson_requests", "prompt_len", prompt_len)
    positive_int("poisson_requests", "output_len", output_len)
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / rate, size=n))       # (n,) seconds
    return Requests(arrivals, np.full(n, prompt_len), np.full(n, output_len))


def load_trace(path) -> Requests:
    """Read a trace CSV with columns ``arrival_s, prompt_tokens, output_tokens`` (a header row).

    Raises a one-line ``ValueError`` naming the file and the bad row or column.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no trace file {str(p)!r}")
    cols = ("arrival_s", "prompt_tokens", "output_tokens")
    with open(p, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = [f.strip() for f in (reader.fieldnames or [])]
        missing = [c for c in cols if c not in fields]
        if missing:
            raise ValueError(f"{p}: trace CSV needs columns {', '.join(cols)}; missing {missing[0]!r}")
        rows = []
        for i, row in enumerate(reader, start=2):
            row = {k.strip(): v for k, v in row.items() if k}
            try:
                a = float(row["arrival_s"])
                pt, ot = float(row["prompt_tokens"]), float(row["output_tokens"])
            except (TypeError, ValueError):
                raise ValueError(f"{p}: line {i}: arrival_s, prompt_tokens, output_tokens must be numbers") from None
            if not (math.isfinite(a) and a >= 0 and pt >= 1 and ot >= 1 and pt == int(pt) and ot == int(ot)):
                raise ValueError(f"{p}: line {i}: need arrival_s >= 0 and integer token counts >= 1")
            rows.append((a, int(pt), int(ot)))
    if not rows:
        raise ValueError(f"{p}: the trace has no requests")
    arrivals, prompts, outputs = zip(*rows)
    return Requests(np.array(arrivals), np.array(prompts), np.array(outputs))


# ---- scheduler ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SchedulerConfig:
    """How the server batches (vLLM's engine arguments).

    Parameters
    ----------
    max_batch : int, default 256
        Sequences per iteration (vLLM ``max_num_seqs``).
    max_tokens : int, default 8192
        Tokens per iteration, prompt and decode (vLLM ``max_num_batched_tokens``).
    chunked_prefill : bool, default False
        Split prompts across iterations to fill ``max_tokens``: the ``"sarathi"`` policy
        (True with ``policy="orca"`` selects it; the chunking policies set it True).
    block_size : int, default 16
        Tokens per KV-cache block (vLLM's default).
    num_blocks : int, optional
        KV-cache blocks; ``None``: unlimited (no preemption).
    policy : {"orca", "vllm-v0", "sarathi", "vllm"}, default "orca"
        Which batches an iteration forms (module docstring).
    """

    max_batch: int = 256
    max_tokens: int = 8192
    chunked_prefill: bool = False
    block_size: int = 16
    num_blocks: int | None = None
    policy: str = "orca"

    def __post_init__(self):
        positive_int("SchedulerConfig", "max_batch", self.max_batch)
        positive_int("SchedulerConfig", "max_tokens", self.max_tokens)
        positive_int("SchedulerConfig", "block_size", self.block_size)
        if self.num_blocks is not None:
            positive_int("SchedulerConfig", "num_blocks", self.num_blocks)
        if not isinstance(self.chunked_prefill, bool):
            raise ValueError(f"SchedulerConfig.chunked_prefill must be a bool; got {self.chunked_prefill!r}")
        if self.policy not in POLICIES:
            raise ValueError(f"SchedulerConfig.policy must be one of {', '.join(POLICIES)}; got {self.policy!r}")
        if self.chunked_prefill and self.policy == "orca":
            object.__setattr__(self, "policy", "sarathi")
        elif self.chunked_prefill and self.policy == "vllm-v0":
            raise ValueError("SchedulerConfig: policy 'vllm-v0' runs whole prompts; chunked_prefill must be False")
        object.__setattr__(self, "chunked_prefill", self.policy in ("sarathi", "vllm"))


def kv_cache_blocks(model, memory_bytes: float, *, block_size: int = 16, weight_format: str = "fp16",
                    group_size: int | None = None, kv_format: str = "fp16",
                    memory_utilization: float = 0.9) -> int:
    """KV-cache blocks that fit beside the weights: ``(mem * util - weights) / block bytes``.

    ``memory_utilization`` is vLLM's ``gpu_memory_utilization`` (default 0.9: the rest holds
    activations and the runtime).  Every parameter is resident (an untied embedding too).

    Raises ``ValueError`` when the weights leave no room for one block.
    """
    from npulab.workloads.llm import bytes_per_param

    if not 0 < memory_utilization <= 1:
        raise ValueError(f"memory_utilization must be in (0, 1]; got {memory_utilization!r}")
    if not memory_bytes > 0:
        raise ValueError(f"memory_bytes must be > 0; got {memory_bytes!r}")
    weights = model.param_count() * bytes_per_param(weight_format, group_size)
    block = block_size * model.kv_bytes_per_token(kv_format)
    free = memory_bytes * memory_utilization - weights
    blocks = int(free // block) if free > 0 else 0
    if blocks < 1:
        raise ValueError(f"the weights of {model.name or 'the model'} ({weights / 1e9:.3g} GB) leave no room "
                         f"for a KV-cache block in {memory_utilization:g} x {memory_bytes / 1e9:.3g} GB of memory")
    return blocks


# ---- result --------------------------------------------------------------------------------
def _percentiles(x: np.ndarray) -> dict:
    if len(x) == 0:
        return {f"p{q}": None for q in PERCENTILES} | {"mean": None}
    out = {f"p{q}": float(np.percentile(x, q)) for q in PERCENTILES}
    out["mean"] = float(np.mean(x))
    return out


@dataclass(frozen=True, repr=False)
class ServingResult:
    """What a simulated serving run measured, per request and over time.

    Attributes
    ----------
    requests : Requests
        The input stream.
    first_token_s, finish_s : ndarray of float, shape (n,)
        When each request got its first and its last token (s).
    preemptions : ndarray of int, shape (n,)
        Times each request was preempted.
    timeline : ndarray of float, shape (iterations, 4)
        Per iteration: end time (s), running sequences, tokens, KV blocks used.
    num_blocks, block_size : int or None, int
        KV-cache size (``None``: unlimited).
    info : dict
        Scheduler, cost model, hardware and workload, for the record.
    """

    requests: Requests
    first_token_s: np.ndarray
    finish_s: np.ndarray
    preemptions: np.ndarray
    timeline: np.ndarray
    num_blocks: int | None
    block_size: int
    info: dict = field(default_factory=dict)

    @property
    def ttft_s(self) -> np.ndarray:
        """Time to first token of each request (s)."""
        return self.first_token_s - self.requests.arrival_s

    @property
    def e2e_s(self) -> np.ndarray:
        """End-to-end latency of each request (s)."""
        return self.finish_s - self.requests.arrival_s

    @property
    def tpot_s(self) -> np.ndarray:
        """Time per output token after the first, of each request with >= 2 output tokens (s)."""
        o = self.requests.output_tokens
        many = o > 1
        return (self.e2e_s[many] - self.ttft_s[many]) / (o[many] - 1)

    @property
    def duration_s(self) -> float:
        """Last finish - first arrival (s)."""
        return float(self.finish_s.max() - self.requests.arrival_s.min())

    def kv_utilization(self) -> tuple:
        """``(times, used fraction)`` after each iteration (empty if the cache is unlimited)."""
        if not self.num_blocks:
            return np.zeros(0), np.zeros(0)
        return self.timeline[:, 0], self.timeline[:, 3] / self.num_blocks

    def goodput(self, ttft_s: float, tpot_s: float) -> float:
        """Requests per second that met both bounds (a one-token request: TTFT only)."""
        o = self.requests.output_tokens
        tpot = np.zeros(len(o))
        many = o > 1
        tpot[many] = (self.e2e_s[many] - self.ttft_s[many]) / (o[many] - 1)
        ok = (self.ttft_s <= ttft_s) & (tpot <= tpot_s)
        return float(ok.sum() / self.duration_s) if self.duration_s > 0 else float("inf")

    def summary(self, slo_ttft_s: float = 2.0, slo_tpot_s: float = 0.2) -> dict:
        """The JSON-ready metrics (``ttft_s``, ``tpot_s``, ``e2e_s`` as ``{p50, p90, p99, mean}``,
        throughputs, goodput under the SLO, KV-cache utilisation, preemptions)."""
        r, d = self.requests, self.duration_s
        out_tokens = int(r.output_tokens.sum())
        times, util = self.kv_utilization()
        kv: dict[str, float | None] = {"num_blocks": self.num_blocks,
                                       "block_size": self.block_size}
        if len(util):
            dt = np.diff(np.concatenate([[self.requests.arrival_s.min()], times]))
            kv.update(mean=float(np.sum(util * dt) / max(np.sum(dt), 1e-300)), max=float(util.max()))
        else:
            kv.update(mean=None, max=None)
        return {
            "requests": len(r),
            "ttft_s": _percentiles(self.ttft_s),
            "tpot_s": _percentiles(self.tpot_s),
            "e2e_s": _percentiles(self.e2e_s),
            "throughput_tokens_per_s": out_tokens / d if d > 0 else None,
            "total_tokens_per_s": (out_tokens + int(r.prompt_tokens.sum())) / d if d > 0 else None,
            "requests_per_s": len(r) / d if d > 0 else None,
            "goodput_requests_per_s": self.goodput(slo_ttft_s, slo_tpot_s),
            "slo": {"ttft_s": slo_ttft_s, "tpot_s": slo_tpot_s},
            "offered_rate_per_s": (len(r) - 1) / float(r.arrival_s[-1] - r.arrival_s[0])
            if len(r) > 1 and r.arrival_s[-1] > r.arrival_s[0] else None,
            "duration_s": d,
            "iterations": int(len(self.timeline)),
            "mean_batch": float(self.timeline[:, 1].mean()) if len(self.timeline) else 0.0,
            "preemptions": int(self.preemptions.sum()),
            "kv_cache": kv,
            **self.info,
        }

    def __repr__(self) -> str:
        s = self.summary()
        return (f"ServingResult({s['requests']} requests: TTFT p50/p99 {s['ttft_s']['p50']:.4g}/"
                f"{s['ttft_s']['p99']:.4g} s, TPOT p50 {s['tpot_s']['p50'] or 0:.4g} s, "
                f"{s['throughput_tokens_per_s']:.4g} tokens/s, {s['preemptions']} preemptions)")

    def plot(self, path=None, *, figsize=(11, 3.8)):
        """Three panels: TTFT and e2e per request over arrival time, and KV-cache utilisation."""
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=figsize)
        t = self.requests.arrival_s
        a1.plot(t, self.ttft_s, ".", ms=2)
        a1.set(xlabel="arrival (s)", ylabel="TTFT (s)", title="time to first token")
        a2.plot(t, self.e2e_s, ".", ms=2, color="C1")
        a2.set(xlabel="arrival (s)", ylabel="end-to-end (s)", title="request latency")
        times, util = self.kv_utilization()
        if len(util):
            a3.plot(times, 100 * util, lw=0.8, color="C2")
        else:
            a3.text(0.5, 0.5, "KV cache unlimited", ha="center", transform=a3.transAxes)
        a3.set(xlabel="time (s)", ylabel="KV blocks used (%)", title="KV-cache utilisation")
        for ax in (a1, a2, a3):
            ax.grid(alpha=0.3)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=120)
            plt.close(fig)
        return fig


# ---- the simulator -------------------------------------------------------------------------
def simulate(requests: Requests, cost, scheduler: SchedulerConfig = SchedulerConfig(), *,
             progress: bool = False, info: dict | None = None) -> ServingResult:
    """Serve ``requests`` with iteration-level scheduling; see the module docstring.

    Parameters
    ----------
    requests : Requests
        Arrivals and lengths.
    cost : callable
        ``cost(prefill_chunks, decode_batch, decode_context_total) -> seconds``
        (:class:`ScorecardStepCost`, :class:`LinearStepCost`, or your own).
    scheduler : SchedulerConfig
        Batch and token limits, chunked prefill, KV-cache blocks.
    progress : bool, default False
        tqdm progress bar over finished requests.

    Returns
    -------
    ServingResult

    Raises
    ------
    ValueError
        When one request (prompt + output) cannot fit in the whole KV cache.
    """
    if not isinstance(requests, Requests):
        raise ValueError(f"simulate needs a Requests stream; got {type(requests).__name__}")
    n = len(requests)
    B = scheduler.block_size
    total_blocks = scheduler.num_blocks
    arrival = requests.arrival_s.tolist()
    prompt = requests.prompt_tokens.tolist()
    out_len = requests.output_tokens.tolist()
    if total_blocks is not None:
        worst = int(np.max(requests.prompt_tokens + requests.output_tokens))
        if -(-worst // B) > total_blocks:
            raise ValueError(f"a request of {worst} tokens needs {-(-worst // B)} KV-cache blocks; "
                             f"the cache has {total_blocks} (of {B} tokens)")
    free = total_blocks if total_blocks is not None else math.inf
    gen = [0] * n          # output tokens generated
    done = [0] * n         # tokens prefilled in the current admission
    target = [0] * n       # tokens to prefill in the current admission (prompt + generated)
    kv = [0] * n           # tokens in the KV cache
    held = [0] * n         # KV blocks held
    first = [math.nan] * n
    finish = [math.nan] * n
    preempted = [0] * n
    waiting: deque = deque()
    running: list = []     # admission order (the last is preempted first)
    timeline: list = []
    t, nxt, finished = 0.0, 0, 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc="serving", unit="req")

    def preempt(j):        # recompute: free the blocks, requeue at the head
        nonlocal free
        running.remove(j)
        free += held[j]
        held[j] = kv[j] = done[j] = 0
        target[j] = prompt[j] + gen[j]
        preempted[j] += 1
        waiting.appendleft(j)

    def reserve(j, blocks_after) -> bool:
        """Grow j's blocks to ``blocks_after``, preempting the latest admitted; False if j itself went."""
        nonlocal free
        new = blocks_after - held[j]
        while new > free:
            victim = running[-1]
            preempt(victim)
            if victim == j:
                return False
        free -= new
        held[j] = blocks_after
        return True

    def admit(budget, chunks, chunk_ids, decode_ids) -> int:
        """Admit waiting requests FCFS while sequences, tokens and blocks allow; the budget left."""
        nonlocal free
        while waiting and len(running) < scheduler.max_batch and budget > 0:
            j = waiting[0]
            need = target[j]
            if scheduler.chunked_prefill:
                c = min(need, budget)
            elif need <= budget or (not chunks and not decode_ids):
                c = need                                 # (a prompt over max_tokens runs alone)
            else:
                break
            blocks = -(-c // B)
            if blocks > free:
                break
            waiting.popleft()
            running.append(j)
            free -= blocks
            held[j] = blocks
            chunks.append((c, c))
            chunk_ids.append(j)
            budget -= c
        return budget

    prefill_only = scheduler.policy == "vllm-v0"
    while finished < n:
        while nxt < n and arrival[nxt] <= t:
            target[nxt] = prompt[nxt]
            waiting.append(nxt)
            nxt += 1
        if not running and not waiting:
            t = arrival[nxt]
            continue
        budget = scheduler.max_tokens
        chunks: list[tuple[int, int]] = []          # (prompt tokens this step, done after it)
        chunk_ids: list[int] = []
        decode_ids: list[int] = []
        ctx_total = 0
        # vLLM v0: an iteration that can admit prompts runs prefills only (step 2 first)
        prefill_first = prefill_only and waiting and len(running) < scheduler.max_batch
        if prefill_first:
            budget = admit(budget, chunks, chunk_ids, decode_ids)
        if not chunks:
            # 1. running requests: one decode token each, or the next chunk of a prompt
            i = 0
            while i < len(running):
                j = running[i]
                if done[j] == target[j]:                     # decoding: context = cache + the new token
                    if not reserve(j, -(-(kv[j] + 1) // B)):
                        continue
                    decode_ids.append(j)
                    ctx_total += kv[j] + 1
                    budget -= 1
                elif budget > 0:                             # a chunked prompt in progress
                    c = min(target[j] - done[j], budget)
                    if not reserve(j, -(-(done[j] + c) // B)):
                        continue
                    chunks.append((c, done[j] + c))
                    chunk_ids.append(j)
                    budget -= c
                i += 1
            # 2. admit waiting requests FCFS while sequences, tokens and blocks allow
            if not prefill_only:
                budget = admit(budget, chunks, chunk_ids, decode_ids)
        if not chunks and not decode_ids:                # cannot happen (one request always fits)
            raise RuntimeError("serving simulator: no work scheduled while requests remain")
        t += cost(tuple(chunks), len(decode_ids), ctx_total)
        # 3. the iteration's tokens, at its end
        ended = []
        for j in decode_ids:
            kv[j] += 1
            gen[j] += 1
            if gen[j] >= out_len[j]:
                ended.append(j)
        for (c, _), j in zip(chunks, chunk_ids):
            done[j] += c
            kv[j] = done[j]
            if done[j] == target[j]:
                gen[j] += 1                              # the prefill samples the next token
                if first[j] != first[j]:                 # NaN: this is the first token
                    first[j] = t
                if gen[j] >= out_len[j]:
                    ended.append(j)
        for j in ended:
            finish[j] = t
            running.remove(j)
            free += held[j]
            held[j] = 0
        finished += len(ended)
        if bar is not None and ended:
            bar.update(len(ended))
        used = total_blocks - free if total_blocks is not None else 0
        timeline.append((t, len(decode_ids) + len(chunks), sum(c for c, _ in chunks) + len(decode_ids), used))
    if bar is not None:
        bar.close()
    return ServingResult(requests=requests, first_token_s=np.array(first), finish_s=np.array(finish),
                         preemptions=np.array(preempted), timeline=np.array(timeline, dtype=float).reshape(-1, 4),
                         num_blocks=total_blocks, block_size=B, info=dict(info or {}))


def serve(hardware, workload, *, rate: float | None = None, requests: int = 1000,
          prompt_len: int = 512, output_len: int = 128, seed: int = 0, trace=None,
          max_batch: int = 256, max_tokens: int | None = None, chunked_prefill: bool = False,
          policy: str = "orca",
          block_size: int = 16, memory_bytes: float | None = None, memory_utilization: float = 0.9,
          weight_format: str | None = None, kv_format: str | None = None,
          group_size: int | None = None, context_bucket: int = 16, score_model: str = "engine",
          progress: bool = False, cost=None, layout=None, link=None) -> ServingResult:
    """Simulate serving ``workload`` on ``hardware`` (what ``npulab serve`` runs).

    Requests come from ``trace`` (a CSV file or a :class:`Requests`) or a Poisson process (``rate``, ``requests``,
    ``prompt_len``, ``output_len``, ``seed``).  The KV cache holds what ``memory_bytes``
    (default: the preset's ``memory_bytes``; none: unlimited) leaves beside the weights.
    ``policy`` names the scheduler (:data:`POLICIES`); ``max_tokens`` defaults to the policy's
    token budget (:data:`POLICY_TOKEN_BUDGET`: 512 for ``"sarathi"``, else 8192).
    Other arguments: :class:`SchedulerConfig` and :class:`ScorecardStepCost`.
    ``layout`` (a :class:`npulab.perf.parallel.Layout`) serves one replica of a multi-device
    layout (:class:`~npulab.perf.parallel.LayoutStepCost`, over ``link``); with ``dp``
    replicas it receives ``rate / dp`` (random splitting of a Poisson stream).

    Examples
    --------
    >>> res = serve("tpuv1-like", "llama-3.2-1b", rate=0.5, requests=5, prompt_len=64,
    ...             output_len=4, seed=0, score_model="roofline")
    >>> sorted(res.summary())[:3]
    ['duration_s', 'e2e_s', 'goodput_requests_per_s']
    """
    if cost is None and layout is not None and not (layout.trivial and link is None):
        from npulab.perf.parallel import LayoutStepCost

        cost = LayoutStepCost(workload, hardware, layout, link=link, weight_format=weight_format,
                              kv_format=kv_format, group_size=group_size,
                              context_bucket=context_bucket, score_model=score_model)
    if layout is not None and rate is not None:
        rate = rate / layout.dp
    stepcost = cost or ScorecardStepCost(workload, hardware, weight_format=weight_format,
                                         kv_format=kv_format, group_size=group_size,
                                         context_bucket=context_bucket, score_model=score_model)
    if isinstance(trace, Requests):
        reqs = trace
    elif trace is not None:
        reqs = load_trace(trace)
    else:
        if rate is None:
            raise ValueError("serve needs a --rate (requests per second) or a --trace CSV")
        reqs = poisson_requests(rate, requests, prompt_len, output_len, seed)
    mem, num_blocks = memory_bytes, None
    info: dict[str, object] = {}
    if isinstance(stepcost, ScorecardStepCost):
        mem = memory_bytes if memory_bytes is not None else (stepcost.preset.memory_bytes or None)
        if mem is not None and hasattr(stepcost, "kv_cache_blocks"):   # a parallel layout
            num_blocks = stepcost.kv_cache_blocks(mem, block_size=block_size,
                                                  memory_utilization=memory_utilization)
        elif mem is not None:
            num_blocks = kv_cache_blocks(stepcost.model, mem, block_size=block_size,
                                         weight_format=stepcost.weight_format, group_size=group_size,
                                         kv_format=stepcost.kv_format, memory_utilization=memory_utilization)
        info = {"hardware": stepcost.preset.name, "workload": stepcost.model.name,
                "weight_format": stepcost.weight_format, "kv_format": stepcost.kv_format,
                "memory_bytes": mem, "score_model": score_model}
        if layout is not None:
            info["layout"] = {"tp": layout.tp, "pp": layout.pp, "ep": layout.ep, "dp": layout.dp,
                              "devices": layout.devices}
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)}; got {policy!r}")
    if chunked_prefill and policy == "orca":
        policy = "sarathi"
    if max_tokens is None:
        max_tokens = 8192 if chunked_prefill else POLICY_TOKEN_BUDGET[policy]
    sched = SchedulerConfig(max_batch=max_batch, max_tokens=max_tokens, chunked_prefill=chunked_prefill,
                            block_size=block_size, num_blocks=num_blocks, policy=policy)
    info["scheduler"] = {"policy": sched.policy, "max_batch": max_batch, "max_tokens": max_tokens,
                         "chunked_prefill": sched.chunked_prefill, "block_size": block_size}
    return simulate(reqs, stepcost, sched, progress=progress, info=info)


__all__ = ["Requests", "poisson_requests", "load_trace", "SchedulerConfig", "kv_cache_blocks",
           "ServingResult", "simulate", "serve", "LinearStepCost",
           "ScorecardStepCost", "PERCENTILES", "POLICIES", "POLICY_TOKEN_BUDGET"]
