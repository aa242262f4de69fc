"""The ``plot`` commands: each writes a figure of the requested size, where asked (by default
the current directory, never the README's figures/), byte for byte the same on a rerun; bad
input and a certificate of another quantity → exit 2 with one line, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import mpmath
import pytest

from snn_theory.errors import NumericalFailure
from snn_theory.evaluate.moment_map import closed_form_fixed_point, closed_form_quantities
from tests.test_plots import png_size


# --------------------------------------------------------------------------- files and CLI
@pytest.mark.parametrize("args", [
    ["flow-field", "--grid", "5", "--steps", "3"],
    ["contraction", "--grid", "9"],
    ["variance-change", "--grid", "9"],
    ["fixed-points", "--grid", "5"],
    ["networks", "--weights", "0.5,1"],
    ["dropout-dyt"],
])
def test_each_plot_command_writes_png_of_requested_size(tmp_path: Path, args: list[str],
                                                       cli) -> None:
    out = tmp_path / "fig.png"
    code, _, _ = cli(["plot", *args, "--out", str(out), "--width", "333", "--height", "222",
                      "--dpi", "72"])
    assert code == 0
    assert out.stat().st_size > 1000
    assert png_size(out) == (333, 222)


def test_default_output_is_the_current_directory(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 cli) -> None:
    """Without --out a figure goes to ./<figure>.png: the README's figures/ (written by
    ``reproduce`` with its own settings) are never overwritten with other defaults."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "figures").mkdir()
    readme_figure = tmp_path / "figures" / "fixed_points.png"
    readme_figure.write_bytes(b"the committed figure")
    code, out, _ = cli(["plot", "fixed-points", "--grid", "4", "--json"])
    assert code == 0
    data = json.loads(out)
    assert data["path"] == "fixed_points.png"
    assert png_size(tmp_path / "fixed_points.png") == (1600, 600)
    assert readme_figure.read_bytes() == b"the committed figure"


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_output_is_deterministic(tmp_path: Path, suffix: str, cli) -> None:
    blobs = []
    for k in range(2):
        out = tmp_path / f"f{k}{suffix}"
        assert cli(["plot", "flow-field", "--grid", "5", "--steps", "2", "--out", str(out),
                    "--width", "300", "--height", "200", "--dpi", "60"]).code == 0
        blobs.append(out.read_bytes())
    assert blobs[0] == blobs[1]
    head = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}[suffix]
    assert blobs[0].startswith(head)
    assert b"CreationDate" not in blobs[0] and b"<dc:date>" not in blobs[0]


@pytest.mark.parametrize("args, fragment", [
    (["flow-field", "--mu-range", "1:0"], "--mu-range"),
    (["flow-field", "--nu-range", "-1:2"], "nu range"),
    (["flow-field", "--mu-range", "a:b"], "LOW:HIGH"),
    (["flow-field", "--tau", "0"], "tau"),
    (["flow-field", "--omega", "nan"], "omega"),
    (["flow-field", "--out", "x.jpg"], ".png"),
    (["flow-field", "--grid", "1"], "grid"),
    (["contraction", "--width", "5"], "width"),
    (["contraction", "--certificate", "/nonexistent/c.json"], "does not exist"),
    (["variance-change", "--tau-range", "0:1"], "tau range"),
    (["fixed-points", "--dpi", "0"], "dpi"),
    (["convergence", "--widths", "0,8"], "widths"),
    (["networks", "--weights", "0,0.5"], "(0, 1]"),
    (["networks", "--weights", "a"], "--weights"),
    (["nosuch"], "No such command"),
])
def test_bad_input_exits_2_with_one_line(tmp_path: Path, args: list[str], fragment: str,
                                         cli) -> None:
    code, _, err = cli(["plot", *args])
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("snn-theory plot: error:")
    assert fragment in err


def test_bad_input_subprocess_has_no_traceback(tmp_path: Path, cli) -> None:
    proc = cli.process(["plot", "flow-field", "--nu-range", "0:1", "--out",
                        str(tmp_path / "x.png")], timeout=60)
    assert proc.code == 2
    assert proc.err.count("\n") == 1 and "Traceback" not in proc.err
    assert not (tmp_path / "x.png").exists()


def test_contraction_refuses_a_certificate_of_another_quantity(tmp_path: Path, cli) -> None:
    from snn_theory.certify.certificate.io import write_certificate
    from snn_theory.certify.claims import Claim, Domain
    from snn_theory.certify.search.loop import verify_claim
    from snn_theory.certify.search.settings import Settings

    claim = Claim.parse("variance<=3", Domain.parse(
        "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1"), name="other")
    cert = write_certificate(tmp_path, verify_claim(claim, Settings(jobs=1)).certificate_data())
    code, _, err = cli(["plot", "contraction", "--grid", "9", "--certificate", str(cert),
                        "--out", str(tmp_path / "c.png")])
    assert code == 2 and err.count("\n") == 1
    assert "is about 'variance'" in err and not (tmp_path / "c.png").exists()


def test_fixed_points_without_any_fixed_point_is_refused(tmp_path: Path, cli) -> None:
    out = tmp_path / "f.png"
    code, _, err = cli(["plot", "fixed-points", "--omega-range", "2:3", "--tau-range", "5:6",
                        "--grid", "5", "--out", str(out)])
    assert code == 2 and "no fixed point of g found" in err and not out.exists()
    # independent check: the moment map has no fixed point near there (mpmath Newton from
    # (0, 1) at 30 digits leaves the domain or fails)
    with mpmath.workdps(30):
        with pytest.raises((NumericalFailure, ArithmeticError, ZeroDivisionError, ValueError)):
            x = closed_form_fixed_point("2.5", "5.5", backend="mpmath")
            values = closed_form_quantities(x[0], "2.5", x[1], "5.5", quantities=("mean", "variance"))
            if not (abs(values["mean"] - x[0]) < 1e-20 and abs(values["variance"] - x[1]) < 1e-20):
                raise ArithmeticError("not a fixed point")


@pytest.mark.parametrize("args,message", [
    (["contraction", "--activation", "gelu", "--certificate", "x.json"], "--certificate is for SELU"),
    (["flow-field", "--activation", "nosuch"], "unknown name"),
    (["fixed-points", "--activation", "exp(x)"], "grows too fast"),
])
def test_activation_selu_only_options_exit_2(args: list[str], message: str, tmp_path: Path,
                                             cli) -> None:
    code, _, err = cli(["plot", *args, "--out", str(tmp_path / "x.png")])
    assert code == 2
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("args", [
    ["correlation-map", "--activation", "tanh", "--tau", "0.5"],
    ["gradients", "--activation", "tanh", "--taus", "0.9"],
])
def test_activation_without_fixed_point_exit_3(args: list[str], tmp_path: Path, cli) -> None:
    """tanh at τ < 1: only the trivial fixed point ν* = 0 — said in one line, exit 3."""
    code, _, err = cli(["plot", *args, "--out", str(tmp_path / "x.png")])
    assert code == 3
    assert err.count("\n") == 1 and "nu* = 0" in err
    assert not (tmp_path / "x.png").exists()


def test_activation_plot_cli_writes_figure(tmp_path: Path, cli) -> None:
    out = tmp_path / "v.png"
    code, stdout, err = cli(["plot", "variance-change", "--activation", "silu", "--scale", "1.7",
                             "--grid", "5", "--width", "320", "--height", "240", "--dpi", "80",
                             "--out", str(out)])
    assert code == 0, err
    assert png_size(out) == (320, 240)
    assert "float evidence" in stdout


def test_readme_names_where_plot_commands_write() -> None:
    """Every `snn-theory plot FIGURE` line of the README whose comment names a .png names the
    file the command writes without --out: ./<figure>.png (the figures/ folder is
    reproduce's), as :func:`snn_theory.show.figures.output_path` chooses it."""
    import re

    from snn_theory.show.canvas import output_path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    lines = re.findall(r"^snn-theory plot (\S+)([^#\n]*)#\s*(\S+\.png)", readme, re.MULTILINE)
    assert lines
    for figure, args, named in lines:
        if "--out" in args:
            continue
        path, _ = output_path(None, figure.replace("-", "_"))
        assert Path(named) == path, (figure, named)


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_a_figure_is_drawn_over_only_a_figure_this_program_drew(tmp_path: Path, suffix: str,
                                                                  cli) -> None:
    """Every figure carries snn-theory's mark: a second run draws over the first, but a file
    without the mark (a user's figure, a matplotlib figure of someone else, any other file)
    is refused with one line, exit 2, and kept byte for byte."""
    from matplotlib.figure import Figure

    from snn_theory.files import is_own_figure

    args = ["plot", "flow-field", "--grid", "5", "--steps", "2", "--width", "300",
            "--height", "200", "--dpi", "60", "--out"]
    ours = tmp_path / f"ours{suffix}"
    assert cli([*args, ours]).code == 0 and is_own_figure(ours)
    first = ours.read_bytes()
    assert cli([*args, ours]).code == 0 and ours.read_bytes() == first
    theirs = tmp_path / f"theirs{suffix}"
    Figure(figsize=(1, 1)).savefig(theirs)  # matplotlib's own metadata, not ours
    other = tmp_path / f"notes{suffix}"
    other.write_bytes(b"a user's file")
    for path in (theirs, other):
        before = path.read_bytes()
        assert not is_own_figure(path)
        code, out, err = cli([*args, path])
        assert code == 2 and out == "" and err.count("\n") == 1
        assert "not a file this command wrote" in err and path.read_bytes() == before


def test_reproduce_may_redraw_the_committed_figures() -> None:
    """The committed figures carry the mark, so that ``reproduce`` can draw them again."""
    from snn_theory.files import is_own_figure

    committed = sorted((Path(__file__).parents[2] / "figures").rglob("*.png"))
    assert committed and all(is_own_figure(p) for p in committed)
