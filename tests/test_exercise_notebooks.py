"""Every exercise's notebook runs top to bottom in a started copy, as a student runs it
(slow: 13-19 s each on a loaded 2-core machine; in a file of its own so pytest-xdist can
run it beside the keys)."""

from __future__ import annotations

import time

import pytest

from audit.exercises import exercise_names, start


@pytest.mark.slow
@pytest.mark.parametrize("name", exercise_names())
def test_notebook_runs_top_to_bottom(name, tmp_path):
    """As a student runs it: in a started copy, every cell in order, in under 60 s."""
    import nbclient
    import nbformat

    folder = start(name, tmp_path / name)
    notebook = nbformat.read(folder / "exercise.ipynb", as_version=4)
    began = time.perf_counter()
    # raises CellExecutionError, naming the cell, if any cell fails
    nbclient.NotebookClient(
        notebook, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    assert time.perf_counter() - began < 60
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code)
    assert code[-1].outputs, "the last cell shows the exercise's final table"
    # a warning a student sees (FutureWarning, ConvergenceWarning...) is a defect to fix
    stderr = [o.text for c in code for o in c.outputs if o.get("name") == "stderr"]
    assert not stderr, stderr
