"""``graphclust fit`` and ``graphclust evaluate`` through ``graphclust.cli.main`` (no
subprocess): exit 0 with the outputs, or exit 2 with one line that names the problem;
never a traceback, never a wrapped deep error (``IndexError: ...``)."""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from graphclust import cli
from tests.property.cases import ALLOWED, count
from tests.property.profiles import examples

ALLOWED_NAMES = {cls.__name__ for cls in ALLOWED} | {"FitError"}
WRAPPED = re.compile(r"^([A-Za-z_.]*(?:Error|Exception)): ")


def run_cli(entry: str, argv: list[str]) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``graphclust ARGV``; fails on anything unclear."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            status = cli.main(argv)
    except SystemExit as exit_:  # argparse: usage line and status 2
        status = exit_.code
    except Exception as error:
        count(entry, "failed")
        raise AssertionError(
            f"{entry} {argv}: traceback {type(error).__name__}: {error}"
        ) from error
    stderr = err.getvalue()
    if status == 0:
        count(entry, "result")
    else:
        lines = [line for line in stderr.splitlines() if line.startswith("graphclust")]
        message = lines[-1].split("error: ", 1)[-1] if lines else stderr.strip()
        wrapped = WRAPPED.match(message)
        if status != 2 or not message or (wrapped and wrapped.group(1) not in ALLOWED_NAMES):
            count(entry, "failed")
            raise AssertionError(f"{entry} {argv}: status {status}, unclear error: {stderr}")
        count(entry, "clear error")
    return status, out.getvalue(), stderr


GOOD_SETS = {
    "kmeans": ["n_clusters=2", "n_init=2"],
    "louvain": [],
    "spectral": ["n_clusters=2", "n_init=2"],
    "pamc": ["n_clusters=2", "hidden=[16]", "latent_dim=4", "pretrain_epochs=2", "epochs=2",
             "n_init=2"],
}  # fmt: skip
#: (extra argv, word the error must contain)
BAD_OPTIONS = [
    (["--set", "n_clusters=-1"], "n_clusters"),
    (["--set", "n_clusters=x"], "n_clusters"),
    (["--set", "foo=1"], "foo"),
    (["--set", "n_clusters"], "n_clusters"),
    (["--set", "n_init=[1, 2"], "n_init"),
    (["--seed", "-1"], "seed"),
    (["--device", "tpu"], "device"),
    (["--feature-kind", "foo"], "foo"),
    (["--label-attr", "club"], "label-attr"),
]


@st.composite
def graph_files(draw: st.DrawFn, tmp: Path) -> Path:
    n = draw(st.integers(2, 14))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=1, max_size=3 * n
        )
    )
    path = tmp / f"g{draw(st.integers(0, 10**9))}.txt"
    path.write_text("".join(f"{u} {v}\n" for u, v in pairs))
    return path


@settings(max_examples=examples(20))
@given(
    st.data(),
    st.sampled_from(sorted(GOOD_SETS)),
    st.one_of(st.just(-1), st.integers(0, len(BAD_OPTIONS) - 1)),
)
def test_fit_command_writes_labels_or_says_why_not(tmp_path_factory, data, method, bad) -> None:
    tmp = tmp_path_factory.mktemp("fit")
    graph = data.draw(graph_files(tmp))
    argv = ["fit", "--graph", str(graph), "--method", method, "--out", str(tmp / "out")]
    for item in GOOD_SETS[method]:
        argv += ["--set", item]
    if bad >= 0:
        argv += BAD_OPTIONS[bad][0]
    status, _, stderr = run_cli("graphclust fit", argv)
    if bad >= 0:
        assert status == 2 and BAD_OPTIONS[bad][1] in stderr, stderr
    elif status == 0:
        lines = (tmp / "out" / "labels.txt").read_text().splitlines()
        # "label", or "id label" when the file's ids are not 0..N-1
        values = sorted({int(line.split()[-1]) for line in lines})
        assert values == list(range(len(values)))


@settings(max_examples=examples(20))
@given(st.data())
def test_evaluate_command_reports_edge_or_says_why_not(tmp_path_factory, data) -> None:
    tmp = tmp_path_factory.mktemp("evaluate")
    graph = data.draw(graph_files(tmp))
    n_listed = data.draw(st.integers(1, 16))
    labels = data.draw(st.lists(st.sampled_from(["0", "1", "c", "x y"]), min_size=n_listed,
                                max_size=n_listed))  # fmt: skip
    partition = tmp / "partition.txt"
    partition.write_text("\n".join(labels) + "\n")
    pairs = data.draw(st.lists(st.tuples(st.integers(0, 15), st.integers(0, 15)), max_size=6))
    intra = tmp / "intra.txt"
    intra.write_text("".join(f"{u} {v}\n" for u, v in pairs))
    argv = ["evaluate", "--graph", str(graph), "--partition", str(partition), "--intra", str(intra)]
    argv += data.draw(
        st.sampled_from(
            [["--sample-inter"], ["--sample-inter", "2"], ["--sample-inter", "0"],
             ["--sample-inter", "--seed", "-1"], ["--sample-inter", "--inter-ratio", "nan"],
             ["--inter", str(intra)], []]
        )
    )  # fmt: skip
    if data.draw(st.booleans()):
        argv.append("--json")
    status, stdout, stderr = run_cli("graphclust evaluate", argv)
    if status == 0:
        assert "EDGE" in stdout or '"edge"' in stdout
    if "--seed" in argv and "-1" in argv and status == 2:
        assert "seed" in stderr
