"""SCALE-Sim 3.0.0's inputs: the ``.cfg`` file and its topology rules.

:func:`read_config` reads the parts of a SCALE-Sim config (INI) file that its reports
depend on into a checked, frozen :class:`ScaleSimConfig`; :func:`expand_depthwise` applies
SCALE-Sim's depthwise rule to the layers of a topology (read with
:func:`npulab.workloads.load_topology`).  The model that runs a layer is
:mod:`npulab.systolic.scalesim_model`, the CSV writer :mod:`npulab.systolic.scalesim_reports`.

References
----------
A. Samajdar et al., "A systematic methodology for characterizing scalability of DNN
accelerators using SCALE-Sim", ISPASS 2020 (``scalesim`` 3.0.0 on PyPI).
"""
from __future__ import annotations

import configparser
import os
from dataclasses import dataclass

from npulab._validate import one_of, positive_int
from npulab.hw.array import DATAFLOWS

__all__ = ["ScaleSimConfig", "read_config", "write_config", "expand_depthwise"]


@dataclass(frozen=True)
class ScaleSimConfig:
    """The parts of a SCALE-Sim ``.cfg`` file that the reports depend on."""

    run_name: str
    rows: int
    cols: int
    ifmap_sram_kb: int = 64
    filter_sram_kb: int = 64
    ofmap_sram_kb: int = 64
    dataflow: str = "os"
    bandwidth_mode: str = "CALC"
    bandwidth: int = 10                      # USER mode: ofmap DRAM words/cycle ("Bandwidth")
    ifmap_sram_bank_bandwidth: int = 10      # USER mode: ifmap DRAM words/cycle ([layout])
    filter_sram_bank_bandwidth: int = 10     # USER mode: filter DRAM words/cycle ([layout])

    def __post_init__(self):
        for f in ("rows", "cols", "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb", "bandwidth",
                  "ifmap_sram_bank_bandwidth", "filter_sram_bank_bandwidth"):
            positive_int("ScaleSimConfig", f, getattr(self, f))
        one_of("ScaleSimConfig", "dataflow", self.dataflow, DATAFLOWS)
        one_of("ScaleSimConfig", "bandwidth_mode", self.bandwidth_mode, ("CALC", "USER"))

    @property
    def hardware(self):
        """The hardware this file describes, as npulab's typed config: a
        :class:`~npulab.hw.SystolicConfig` (array, SRAMs, SCALE-Sim's counting conventions)
        that ``npulab.systolic.estimate`` and the tiler (``Architecture.from_array``) take.

        >>> cfg = ScaleSimConfig("x", rows=8, cols=16, dataflow="ws", ifmap_sram_kb=32)
        >>> hw = cfg.hardware
        >>> (hw.array.rows, hw.array.cols, hw.array.dataflow, hw.memory.ifmap_sram_kb, hw.scalesim_compat)
        (8, 16, 'ws', 32, True)
        """
        from npulab.hw.array import ArrayConfig, MemoryConfig
        from npulab.hw.systolic import SystolicConfig

        return SystolicConfig(ArrayConfig(self.rows, self.cols, self.dataflow),
                              MemoryConfig(self.ifmap_sram_kb, self.filter_sram_kb, self.ofmap_sram_kb),
                              scalesim_compat=True)

    @classmethod
    def from_hardware(cls, hw, run_name: str = "npulab", **settings) -> "ScaleSimConfig":
        """The SCALE-Sim config of an :class:`~npulab.hw.ArrayConfig` or
        :class:`~npulab.hw.SystolicConfig` (``settings``: the bandwidth fields)."""
        from npulab.hw.systolic import SystolicConfig

        hw = SystolicConfig.of(hw)
        a, m = hw.array, hw.memory
        return cls(run_name=run_name, rows=a.rows, cols=a.cols, ifmap_sram_kb=m.ifmap_sram_kb,
                   filter_sram_kb=m.filter_sram_kb, ofmap_sram_kb=m.ofmap_sram_kb,
                   dataflow=a.dataflow, **settings)


def read_config(path) -> ScaleSimConfig:
    """Read a SCALE-Sim ``.cfg`` (INI) file; a missing key raises one ``ValueError`` line."""
    from npulab._io import read_text

    path = os.fspath(path)
    text = read_text(path, "config file")           # UTF-8, size-bounded, the file named on failure
    cp = configparser.RawConfigParser()             # no '%' interpolation: run_name = 100% done
    try:
        cp.read_string(text, source=path)
    except configparser.Error as err:
        raise ValueError(f"{path}: not a SCALE-Sim config: {str(err).splitlines()[0]}") from None

    def get(section, key):
        try:
            return cp.get(section, key).strip()
        except (configparser.NoSectionError, configparser.NoOptionError):
            raise ValueError(f"{path}: missing required key [{section}] {key}") from None

    def get_int(section, key):
        v = get(section, key)
        try:
            return int(v)
        except ValueError:
            raise ValueError(f"{path}: [{section}] {key} must be an int; got {v!r}") from None

    run_name = get("general", "run_name")
    if (not run_name or os.path.isabs(run_name) or ".." in run_name.replace("\\", "/").split("/")
            or any(ch in run_name for ch in "\0\n\r")):
        raise ValueError(f"{path}: [general] run_name must be a relative folder name inside the "
                         f"report folder (no absolute path, no '..'); got {run_name!r}")
    cfg = dict(
        run_name=run_name,
        rows=get_int("architecture_presets", "ArrayHeight"),
        cols=get_int("architecture_presets", "ArrayWidth"),
        ifmap_sram_kb=get_int("architecture_presets", "IfmapSramSzkB"),
        filter_sram_kb=get_int("architecture_presets", "FilterSramSzkB"),
        ofmap_sram_kb=get_int("architecture_presets", "OfmapSramSzkB"),
        dataflow=get("architecture_presets", "Dataflow").lower(),
        bandwidth_mode=get("run_presets", "InterfaceBandwidth").upper(),
    )
    if cfg["bandwidth_mode"] == "USER":
        bw = get("architecture_presets", "Bandwidth").split(",")[0].strip()
        try:
            cfg["bandwidth"] = int(bw)
        except ValueError:
            raise ValueError(f"{path}: [architecture_presets] Bandwidth must be an int; got {bw!r}") from None
        cfg["ifmap_sram_bank_bandwidth"] = get_int("layout", "IfmapSRAMBankBandwidth")
        cfg["filter_sram_bank_bandwidth"] = get_int("layout", "FilterSRAMBankBandwidth")
    try:
        return ScaleSimConfig(**cfg)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


_CFG_TEMPLATE = """\
[general]
run_name = {c.run_name}

[architecture_presets]
ArrayHeight: {c.rows}
ArrayWidth: {c.cols}
IfmapSramSzkB: {c.ifmap_sram_kb}
FilterSramSzkB: {c.filter_sram_kb}
OfmapSramSzkB: {c.ofmap_sram_kb}
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth : {c.bandwidth}
Dataflow : {c.dataflow}
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: {c.ifmap_sram_bank_bandwidth}
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: {c.filter_sram_bank_bandwidth}
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: {c.bandwidth_mode}
UseRamulatorTrace: False
"""


def write_config(cfg: ScaleSimConfig, path) -> str:
    """Write ``cfg`` as a complete SCALE-Sim 3.0.0 ``.cfg`` file (the inverse of :func:`read_config`).

    Keys that the reports do not depend on (offsets, request buffers, bank counts,
    sparsity off) take SCALE-Sim's stock values, so the file runs unchanged in
    ``scalesim`` itself.  Returns the path written.

    Examples
    --------
    >>> import tempfile, os
    >>> cfg = ScaleSimConfig("demo", rows=8, cols=8, dataflow="ws")
    >>> path = write_config(cfg, os.path.join(tempfile.mkdtemp(), "demo.cfg"))
    >>> read_config(path) == cfg
    True
    """
    path = os.fspath(path)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(_CFG_TEMPLATE.format(c=cfg))
    return path


def expand_depthwise(layers):
    """SCALE-Sim's depthwise rule: a conv row whose name contains ``DP`` becomes one layer
    per input channel (``<name>Channel_<i>``, 1 channel each)."""
    from dataclasses import replace

    from npulab.workloads import Conv2d

    out = []
    for layer in layers:
        if isinstance(layer, Conv2d) and "DP" in layer.name:
            out += [replace(layer, channels=1, name=f"{layer.name}Channel_{i}") for i in range(layer.channels)]
        else:
            out.append(layer)
    return out
