"""Plots of the tiler: the Eyeriss-style energy breakdown (matplotlib loads lazily)."""
from __future__ import annotations

from npulab.tiling.problem import OPERANDS


def plot_energy_breakdown(costs, labels=None, by: str = "level", ax=None):
    """Stacked bars of energy per memory level (or per operand), one bar per cost.

    The classic figure of Chen et al. (ISCA 2016, Fig. 10): for each dataflow, how much of
    the energy goes to DRAM, the global buffer, the register files and the MACs.

    Parameters
    ----------
    costs : Cost or list of Cost
    labels : list of str, optional
        Bar labels (default: the mapping's level names are used for the legend, bars numbered).
    by : {"level", "operand"}, default "level"
        Stack by memory level (plus MAC) or by operand (plus MAC).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Units: pJ (shown in uJ).
    """
    import matplotlib.pyplot as plt

    if by not in ("level", "operand"):
        raise ValueError(f"by must be 'level' or 'operand'; got {by!r}")
    costs = [costs] if not isinstance(costs, (list, tuple)) else list(costs)
    labels = list(labels) if labels is not None else [str(i) for i in range(len(costs))]
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 * len(costs) + 3, 3.5))
    levels = costs[0].mapping.arch.level_names
    parts = list(levels) + ["MAC"] if by == "level" else list(OPERANDS) + ["MAC"]
    bottom = [0.0] * len(costs)
    for part in parts:
        vals = []
        for c in costs:
            if part == "MAC":
                v = c.energy_breakdown_pJ["MAC"]
            elif by == "level":
                v = sum(c.energy_breakdown_pJ[part].values())
            else:
                v = sum(c.energy_breakdown_pJ[lv][part] for lv in c.mapping.arch.level_names)
            vals.append(v / 1e6)
        ax.bar(labels, vals, bottom=bottom, label=part)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_ylabel("energy (uJ)")
    ax.set_title(f"energy by {by}")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


def explorer(make_mapping, options: dict, labels=None, draw: bool = True):
    """An ipywidgets explorer: pick mapping parameters, see the energy breakdown update.

    Parameters
    ----------
    make_mapping : callable
        ``make_mapping(**choice) -> Mapping`` (may raise ``ValueError`` for a bad choice).
    options : dict
        ``{parameter: list of values}``; numbers get a selection slider, strings a dropdown.
    labels : dict, optional
        Widget descriptions per parameter.
    draw : bool, default True
        Draw the first chart now; with False call ``box.redraw()`` when showing it (keeps a
        notebook's stored outputs free of widget captures, e.g. under nbval).

    Returns
    -------
    ipywidgets.VBox
        The controls above an output area holding the bar chart (by level and by operand)
        and the cost; an invalid choice shows its error message instead.  ``box.redraw()``
        redraws it.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from npulab.tiling.model import evaluate

    labels = labels or {}
    controls = {}
    for name, values in options.items():
        values = list(values)
        cls = widgets.Dropdown if isinstance(values[0], str) else widgets.SelectionSlider
        controls[name] = cls(options=values, value=values[0], description=labels.get(name, name),
                             continuous_update=False) if cls is widgets.SelectionSlider else \
            cls(options=values, value=values[0], description=labels.get(name, name))
    out = widgets.Output()

    def redraw(_=None):
        out.clear_output(wait=True)
        with out:
            try:
                cost = evaluate(make_mapping(**{k: w.value for k, w in controls.items()}))
            except ValueError as err:
                print(f"invalid mapping: {err}")
                return
            fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
            plot_energy_breakdown(cost, labels=["mapping"], by="level", ax=axes[0])
            plot_energy_breakdown(cost, labels=["mapping"], by="operand", ax=axes[1])
            fig.tight_layout()
            plt.show()
            print(f"{cost.energy_pJ / 1e6:.3f} uJ, {cost.cycles:,} cycles, utilization {cost.utilization:.1%}")

    for w in controls.values():
        w.observe(redraw, names="value")
    box = widgets.VBox([*controls.values(), out])
    box.redraw = redraw
    if draw:
        redraw()
    return box
