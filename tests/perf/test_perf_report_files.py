"""Report files people open: the self-contained scorecard HTML and the per-workload sweep plot."""
import base64

from npulab.cli import main


def test_scorecard_html_is_one_styled_file_with_the_figure_inline(tmp_path, capsys):
    out = tmp_path / "card.html"
    assert main(["scorecard", "--workload", "resnet18", "--hw", "edge-npu-int8", "tpuv1-like",
                 "--html", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<style>" in text and "<table>" in text
    assert "<link" not in text and "<script" not in text          # nothing to fetch
    png = text.split('src="data:image/png;base64,')[1].split('"')[0]
    assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "edge-npu-int8" in text and "tpuv1-like" in text


def test_sweep_plot_has_every_workload_and_lands_next_to_the_csv(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\nworkloads: [resnet18, mobilenetv2]\nspace:\n  rows: [8, 16]\n  cols: [8, 16]\n")
    csv = tmp_path / "out" / "rows.csv"
    csv.parent.mkdir()
    assert main(["sweep", str(spec), "--csv", str(csv), "--workers", "1", "--no-progress"]) == 0
    png = tmp_path / "out" / "rows_pareto.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from npulab.perf.sweep import run_sweep

    fig = run_sweep(str(spec), executor="serial").plot_all()
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["s: resnet18", "s: mobilenetv2"]
