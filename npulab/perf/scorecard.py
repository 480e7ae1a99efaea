"""The scorecard: many Reports side by side (text, HTML, JSON, CSV) and plotted.

Columns follow MLPerf Inference's metrics (latency, throughput, energy per inference or
token, power) plus peak and achieved TOPS, TOPS/W, utilisation, which roof bounds the run,
accuracy and validity (a result counts only if its accuracy reaches the stated target).
Energy is grouped as compute / on-chip memory / off-chip memory / converters (PIM ADCs and
DACs) / spikes (SNN SOPs and neuron updates); see :data:`npulab.perf.ENERGY_GROUPS`.

:func:`run_scorecard` scores workloads x presets, skipping (with a stated reason) any preset
whose engine is not installed.

Units: seconds, J, W, TOPS, TOPS/W.
"""
from __future__ import annotations

import csv
import html
import io
import json
import math
from dataclasses import dataclass, field

from npulab.metrics.report import ENERGY_GROUPS, Report, format_si, render_table

#: Default workloads of ``npulab scorecard``: two edge CNNs and a small LLM's two phases.
DEFAULT_WORKLOADS = ("resnet18", "mobilenetv2", "llama-3.2-1b")


def _energy_column(group: str) -> str:
    """The column of an energy group: ``"on-chip memory"`` -> ``"energy_on_chip_memory_j"``."""
    return f"energy_{group.replace(' ', '_').replace('-', '_')}_j"


def _label(r: Report) -> str:
    """``name`` or ``name/phase``, as plots name a result."""
    return f"{r.name}{'/' + r.phase if r.phase else ''}"


#: The conditions of a row (what was run, in which number formats), also CSV columns.
CONDITION_COLUMNS = ("seq_len", "batch", "weights", "activations", "kv_cache", "sparsity")

#: Columns of :meth:`Scorecard.rows` (and of the CSV), in order.
COLUMNS = ("workload", "phase", "hardware", "engine", "latency_s", "throughput_per_s", "unit",
           "energy_j", "energy_per_unit_j", "power_w", "peak_tops", "tops", "tops_per_w",
           "utilization", "bound", "accuracy", "accuracy_target", "valid") + tuple(
    _energy_column(g) for g in ENERGY_GROUPS) + CONDITION_COLUMNS


def _format_label(c: dict) -> str:
    """A row's number formats in a few characters: ``int8``, or ``w int4 / a int8 / kv int8``."""
    formats: list[str] = [c[k] for k in ("weights", "activations", "kv_cache") if c.get(k)]
    if not formats:
        return "-"
    if len(set(formats)) == 1:
        label = formats[0]
    else:
        label = " / ".join(f"{tag} {c[k]}" for tag, k in (("w", "weights"), ("a", "activations"),
                                                         ("kv", "kv_cache")) if c.get(k))
    return label                                   # (sparsity: in the workload's name)


def conditions_text(conditions, notes=()) -> list[str]:
    """Lines that state what every row measured (shape of the work; formats are per row)."""
    llm = [c for c in conditions if c.get("seq_len") is not None]
    lines = []
    if llm:
        shapes = sorted({(c["seq_len"], c["batch"]) for c in llm})
        lines.append("conditions: LLM prefill = a prompt of seq-len tokens per sequence; decode = one "
                     "new token per sequence after seq-len tokens of context; " +
                     ", ".join(f"seq-len {s}, batch {b}" for s, b in shapes))
    if len(llm) < len(conditions):
        lines.append("conditions: networks = one inference (batch 1)")
    if conditions:
        lines.append("formats: each row's weights / activations / KV cache (the preset's precision unless "
                     "--weights / --kv-format say otherwise)")
    return lines + [f"note: {n}" for n in notes]


def report_row(r: Report) -> dict:
    """One scorecard row (the :data:`COLUMNS`) of a scored Report."""
    groups = r.energy_groups_pJ
    row = {
        "workload": r.name, "phase": r.phase, "hardware": r.hardware, "engine": r.engine,
        "latency_s": r.latency_s, "throughput_per_s": r.inferences_per_s, "unit": r.unit,
        "energy_j": r.energy_j, "energy_per_unit_j": r.energy_per_inference_j,
        "power_w": r.power_w, "peak_tops": r.peak_tops, "tops": r.tops,
        "tops_per_w": r.tops_per_w, "utilization": r.utilization, "bound": r.bound,
        "accuracy": r.accuracy, "accuracy_target": r.accuracy_target, "valid": r.valid,
    }
    for g in ENERGY_GROUPS:
        row[_energy_column(g)] = groups.get(g, 0.0) * 1e-12
    return row


@dataclass(frozen=True, repr=False)
class Scorecard:
    """A comparison of many :class:`~npulab.perf.Report` s.

    Parameters
    ----------
    reports : sequence of Report
        The results, in display order.
    skipped : sequence of dict, optional
        ``{"hardware", "engine", "workload", "reason"}`` for each run that could not be scored.

    Examples
    --------
    >>> a = Report(name="w", engine="x", macs=10**9, latency_s=1e-3, energy_breakdown_pJ={"compute": 1e9})
    >>> card = Scorecard([a])
    >>> card.rows()[0]["tops_per_w"]
    2.0
    """

    reports: tuple
    skipped: tuple = field(default_factory=tuple)
    #: One dict per report: the :data:`CONDITION_COLUMNS` it was measured under.
    conditions: tuple = field(default_factory=tuple)
    #: Lines a reader must see beside the numbers (e.g. a flag that did not apply).
    notes: tuple = field(default_factory=tuple)

    def __post_init__(self):
        object.__setattr__(self, "reports", tuple(self.reports))
        object.__setattr__(self, "skipped", tuple(dict(s) for s in self.skipped))
        for r in self.reports:
            if not isinstance(r, Report):
                raise ValueError(f"Scorecard.reports must hold Report objects; got {type(r).__name__}")
        conds = tuple(dict(c) for c in self.conditions) or tuple({} for _ in self.reports)
        if len(conds) != len(self.reports):
            raise ValueError(f"Scorecard.conditions needs one dict per report ({len(self.reports)}); "
                             f"got {len(conds)}")
        object.__setattr__(self, "conditions", conds)
        object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))

    def __len__(self) -> int:
        return len(self.reports)

    def rows(self) -> list[dict]:
        """One flat dict per report with the :data:`COLUMNS` (conditions included)."""
        return [report_row(r) | {k: c.get(k) for k in CONDITION_COLUMNS}
                for r, c in zip(self.reports, self.conditions)]

    def to_dict(self) -> dict:
        """``{"columns", "conditions", "notes", "results": [Report.to_dict() + flat row], "skipped"}``."""
        results = []
        for r, row in zip(self.reports, self.rows()):
            d = r.to_dict()
            d.update(row)
            results.append(d)
        return {"columns": list(COLUMNS), "conditions": conditions_text(self.conditions, self.notes),
                "results": results, "skipped": list(self.skipped)}

    def to_json(self, indent: int = 2) -> str:
        """The scorecard as one JSON document."""
        def clean(x):
            if isinstance(x, float) and not math.isfinite(x):
                return None
            if isinstance(x, dict):
                return {k: clean(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [clean(v) for v in x]
            return x
        return json.dumps(clean(self.to_dict()), indent=indent, default=str)

    def to_csv(self, path=None) -> str:
        """The rows as CSV text (written to ``path`` when given)."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for row in self.rows():
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        text = buf.getvalue()
        if path is not None:
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        return text

    # ---- human-readable ----------------------------------------------------------------
    _HEAD = ("workload", "phase", "hardware", "engine", "format", "latency", "throughput",
             "energy/unit", "power", "peak TOPS", "TOPS", "TOPS/W", "util", "bound", "accuracy")

    def _has_accuracy(self) -> bool:
        return any(r.accuracy is not None for r in self.reports)

    def _head(self) -> tuple:
        return self._HEAD if self._has_accuracy() else self._HEAD[:-1]

    def _notes(self) -> list[str]:
        notes = list(self.notes)
        if self.reports and not self._has_accuracy():
            notes.append("no accuracy column: none of these workloads has an accuracy model "
                         "(digits-cnn measures it: --workload digits-cnn)")
        return notes

    def _cells(self) -> list[tuple]:
        out = []
        keep = len(self._head())
        for r, c in zip(self.reports, self.conditions):
            acc = "-" if r.accuracy is None else f"{100 * r.accuracy:.1f}%" + (
                "" if r.valid is None else (" ok" if r.valid else " INVALID"))
            out.append((
                r.name, r.phase or "-", r.hardware or "-", r.engine, _format_label(c),
                format_si(r.latency_s, "s", 3), f"{r.inferences_per_s:.4g} {r.unit}/s",
                format_si(r.energy_per_inference_j, "J", 3), format_si(r.power_w, "W", 3),
                "-" if r.peak_tops is None else f"{r.peak_tops:.3g}", f"{r.tops:.3g}",
                "-" if r.tops_per_w is None else f"{r.tops_per_w:.3g}",
                "-" if r.utilization is None else f"{100 * r.utilization:.1f}%",
                r.bound or "-", acc)[:keep])
        return out

    def table(self) -> str:
        """A fixed-width text table under the lines that state its conditions (plus one line
        per skipped run)."""
        lines = conditions_text(self.conditions, self._notes())
        lines.append(render_table(self._head(), self._cells()))
        for s in self.skipped:
            lines.append(f"skipped {s.get('hardware')} ({s.get('engine')}) on "
                         f"{s.get('workload')}: {s.get('reason')}")
        return "\n".join(lines)

    __str__ = table

    def __repr__(self) -> str:
        return f"Scorecard({len(self.reports)} results, {len(self.skipped)} skipped)"

    def to_html(self) -> str:
        """An HTML table (what a notebook shows)."""
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self._head())
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                       for row in self._cells())
        conds = "".join(f"<p>{html.escape(line)}</p>"
                        for line in conditions_text(self.conditions, self._notes()))
        notes = "".join(f"<p>skipped {html.escape(str(s.get('hardware')))}: "
                        f"{html.escape(str(s.get('reason')))}</p>" for s in self.skipped)
        return f"{conds}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}"

    _repr_html_ = to_html

    # ---- plots -------------------------------------------------------------------------
    def plot(self, path=None, *, figsize=(14, 10)):
        """Two panels: (top) each result's energy split by group as 100% bars, grouped by
        workload with the J per inference/token on top; (bottom) latency vs energy per
        inference/token (log-log), colour = hardware, marker = workload.  Legends sit
        outside the data.

        Returns the matplotlib Figure (saved to ``path`` when given).
        """
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        import numpy as np

        reports = list(self.reports)
        groups = list(dict.fromkeys(_label(r) for r in reports))        # workloads, first-seen order
        hardware = list(dict.fromkeys(r.hardware for r in reports))
        fig, (ax1, ax2) = plt.subplots(2, 1, figsize=figsize, gridspec_kw={"height_ratios": [1.1, 1]})
        # ---- energy split, grouped by workload (a gap between groups)
        xs, ticks, centers, pos = [], [], [], 0.0
        for g in groups:
            members = [r for r in reports if _label(r) == g]
            start = pos
            for r in members:
                xs.append((pos, r))
                ticks.append(r.hardware)
                pos += 1
            centers.append(((start + pos - 1) / 2, g))
            pos += 0.8
        order = [r for _, r in xs]
        x = np.array([p for p, _ in xs])
        totals = np.array([r.energy_pJ for r in order])
        totals[totals == 0] = 1.0
        bottom = np.zeros(len(order))
        for g in ENERGY_GROUPS:
            share = np.array([r.energy_groups_pJ.get(g, 0.0) for r in order]) / totals
            if share.any():
                ax1.bar(x, 100 * share, bottom=100 * bottom, width=0.85, label=g)
                bottom += share
        for xi, r in zip(x, order):
            ax1.text(xi, 102, format_si(r.energy_per_inference_j, "J", 3), ha="center", va="bottom",
                     rotation=90, fontsize=8)
        ax1.set_ylim(0, 128)
        ax1.set_yticks([0, 25, 50, 75, 100])
        ax1.set_xticks(x, ticks, rotation=45, ha="right", fontsize=8)
        ax1.set_xlim(x.min() - 0.8, x.max() + 0.8)
        for cx, g in centers:                                           # workload names under the groups
            ax1.annotate(g, (cx, 0), xycoords=("data", "axes fraction"), xytext=(0, -62),
                         textcoords="offset points", ha="center", va="top", fontsize=10, fontweight="bold")
        for (cx, _), (nx, _) in zip(centers, centers[1:]):
            ax1.axvline((cx + nx) / 2 + 0.0, color="0.85", lw=0.8, zorder=0)
        ax1.set_ylabel("share of energy (%)")
        ax1.set_title("Where the energy goes (number on top: J per inference or token)")
        ax1.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="energy",
                   borderaxespad=0)
        # ---- latency vs energy: colour = hardware, marker = workload
        colors = {h: plt.cm.tab10(i % 10) for i, h in enumerate(hardware)}
        shapes = "os^Dv<>PX*hp"
        marks = {g: shapes[i % len(shapes)] for i, g in enumerate(groups)}
        for r in reports:
            ax2.loglog(r.latency_s / r.inferences, r.energy_per_inference_j, marks[_label(r)], ms=8,
                       color=colors[r.hardware], markeredgecolor="black", markeredgewidth=0.4)
        ax2.set_xlabel("latency per inference or token (s)")
        ax2.set_ylabel("energy per inference or token (J)")
        ax2.set_title("Latency vs energy (lower left is better)")
        ax2.grid(True, which="both", alpha=0.3)
        from matplotlib.lines import Line2D

        hw_handles = [Line2D([], [], ls="", marker="o", ms=8, color=colors[h], label=h) for h in hardware]
        wl_handles = [Line2D([], [], ls="", marker=marks[g], ms=8, color="0.4", label=g) for g in groups]
        leg = ax2.legend(handles=hw_handles, fontsize=9, title="hardware", loc="upper left",
                         bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        ax2.add_artist(leg)
        ax2.legend(handles=wl_handles, fontsize=9, title="workload", loc="lower left",
                   bbox_to_anchor=(1.01, 0.0), borderaxespad=0)
        fig.tight_layout()
        fig.subplots_adjust(hspace=0.6)
        if path is not None:
            fig.savefig(path, dpi=120, bbox_inches="tight")
            plt.close(fig)
        return fig


def run_scorecard(workloads=DEFAULT_WORKLOADS, hardware=None, *, phases=None, model="engine",
                  progress: bool = False, **job_kwargs) -> Scorecard:
    """Score every workload on every preset.

    Parameters
    ----------
    workloads : sequence, default :data:`DEFAULT_WORKLOADS`
        Names, files or objects accepted by :func:`npulab.perf.scoring.make_jobs`.
    hardware : sequence of str or HardwarePreset, optional
        Presets (default: every bundled preset).
    phases : sequence of {"prefill", "decode"}, optional
        LLM phases (default both).
    model : {"engine", "roofline"}, default "engine"
        See :func:`npulab.perf.scoring.score`.
    progress : bool, default False
        Show a tqdm progress bar.
    **job_kwargs
        ``seq_len``, ``batch``, ``weight_format``, ``group_size``, ``kv_format``; ``sparsity``
        (``{"weight_sparsity": "2:4", "weight_density": ..., "act_density": ...}``, issue 30,
        :mod:`npulab.perf.sparsity`).

    Returns
    -------
    Scorecard
        With a ``skipped`` entry (and its reason) for every preset whose engine is missing.
    """
    from npulab.perf.presets import available_presets, load_preset
    from npulab.perf.scoring import EngineUnavailable, make_jobs, score_job

    presets = [load_preset(h) for h in (hardware or available_presets())]
    if isinstance(workloads, str):
        workloads = [workloads]
    pairs = [(w, p) for w in workloads for p in presets]
    if progress:
        from tqdm.auto import tqdm

        pairs = tqdm(pairs, desc="scorecard", unit="run")
    from npulab.perf.scoring import job_conditions

    reports, skipped, jobs, conditions, notes = [], [], {}, [], []
    for w, p in pairs:
        kwargs = dict(job_kwargs)
        sparsity = kwargs.pop("sparsity", None)   # issue 30: {weight_sparsity, ...densities}
        kwargs.setdefault("precision", p.precision)
        key = (id(w) if not isinstance(w, str) else w, kwargs["precision"])
        if key not in jobs:  # build each workload once per precision (digits runs the model)
            jobs[key] = make_jobs(w, phases=phases, **kwargs)
            if sparsity:
                from npulab.perf.sparsity import apply_sparsity

                jobs[key] = [apply_sparsity(j, precision=kwargs["precision"], **sparsity)
                             for j in jobs[key]]
        for job in jobs[key]:
            if phases and not job.phase:
                note = f"--phase applies to LLM workloads only: {job.name} is scored as one inference"
                if note not in notes:
                    notes.append(note)
            try:
                reports.append(score_job(job, p, model=model))
            except EngineUnavailable as err:
                skipped.append({"hardware": p.name, "engine": p.engine, "workload": job.label,
                                "reason": str(err)})
                continue
            conditions.append(job_conditions(job, kwargs["precision"], sparsity))
    return Scorecard(tuple(reports), tuple(skipped), conditions=tuple(conditions),
                     notes=tuple(notes))
