"""Progress output: bars name their stage, write plain lines off a terminal, and never carry an error's line."""

from __future__ import annotations

import io
from pathlib import Path

import click
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench._progress import PlainProgress, close_all, progress
from workbench.cli import main
from workbench.cli_errors import FriendlyGroup


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as a real stderr on a console does."""

    def isatty(self) -> bool:
        return True


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=30), st.text(alphabet="abc -", min_size=1, max_size=12))
def test_plain_lines_count_every_step_against_a_reference(n: int, desc: str) -> None:
    stream = io.StringIO()
    assert list(progress(range(n), desc=desc, unit="folds", file=stream)) == list(range(n))
    assert stream.getvalue().splitlines() == [f"{desc}: {k}/{n} folds" for k in range(1, n + 1)]
    assert "\r" not in stream.getvalue()


def test_counted_steps_and_postfix_without_a_total() -> None:
    stream = io.StringIO()
    bar = progress(desc="run x", file=stream)
    assert isinstance(bar, PlainProgress)
    bar.set_postfix(rows=7)
    bar.update()
    bar.update(2)
    bar.close()
    assert stream.getvalue() == "run x: 1, rows=7\nrun x: 3, rows=7\n"


def test_a_terminal_gets_a_redrawing_bar_and_quiet_gets_nothing() -> None:
    tty = Terminal()
    for _ in progress(range(3), desc="walk-forward folds", file=tty):
        pass
    assert "\r" in tty.getvalue() and "walk-forward folds" in tty.getvalue() and "3/3" in tty.getvalue()
    quiet = io.StringIO()
    for _ in progress(range(3), desc="walk-forward folds", enabled=False, file=quiet):
        pass
    assert quiet.getvalue() == ""


def test_close_all_ends_an_open_bar_line_on_a_terminal() -> None:
    tty = Terminal()
    bar = progress(total=5, desc="synth big", file=tty)
    bar.update()
    assert not tty.getvalue().endswith("\n")  # mid-redraw: an error written now would share the bar's line
    close_all()
    assert tty.getvalue().endswith("\n")


def test_an_error_is_printed_after_the_bar_is_closed() -> None:
    tty = Terminal()

    @click.group(cls=FriendlyGroup)
    def group() -> None:
        """A group like ``wb``."""

    @group.command("work")
    def work() -> None:
        """Fail in the middle of a bar."""
        bar = progress(total=4, desc="walk-forward folds", file=tty)
        bar.update()
        raise ValueError("cv.train_days = 10 does not fit\nset it to 2")

    result = CliRunner().invoke(group, ["work"])
    assert result.exit_code == 1
    assert tty.getvalue().endswith("\n")
    assert result.stderr == "Error: ValueError: cv.train_days = 10 does not fit set it to 2\n"


def test_synth_writes_one_named_line_per_session_off_a_terminal_and_nothing_when_quiet(lake_root: Path) -> None:
    runner = CliRunner()
    loud = runner.invoke(main, ["data", "synth", "--tickers", "4", "--days", "2", "--name", "progress-loud"])
    assert loud.exit_code == 0, loud.output
    lines = loud.stderr.splitlines()
    assert [line.split(",")[0] for line in lines] == ["synth progress-loud: 1/2 sessions",
                                                      "synth progress-loud: 2/2 sessions"]
    assert all(line.split(", ")[1].startswith("rows=") for line in lines) and "\r" not in loud.stderr
    quiet = runner.invoke(main, ["data", "synth", "--tickers", "4", "--days", "2", "--name", "progress-quiet",
                                 "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_demo_names_every_stage_in_plain_lines(lake_root: Path, tmp_path: Path) -> None:
    name = "progress-demo"
    args = ["demo", "--name", name, "--tickers", "30", "--days", "3", "--train-days", "2", "--test-days", "1",
            "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(main, args)  # --quiet is tested with the demo in test_cli.py
    assert result.exit_code == 0, result.output
    stages = {line.split(":")[0] for line in result.stderr.splitlines()}
    assert {f"synth {name}", f"run demo-{name}", "walk-forward folds"} <= stages, result.stderr
    assert f"run demo-{name}: 5/5 stages" in result.stderr and "\r" not in result.stderr
