"""Moved to :mod:`npulab.hw.area` (hardware description lives in ``npulab.hw``, issue 13)."""
from npulab.hw.area import PE_MM2_INT8, PE_SCALE, SRAM_MM2_PER_KB, STATIC_W_PER_MM2, area_mm2, static_power_w

__all__ = ["area_mm2", "static_power_w", "PE_MM2_INT8", "PE_SCALE", "SRAM_MM2_PER_KB", "STATIC_W_PER_MM2"]
