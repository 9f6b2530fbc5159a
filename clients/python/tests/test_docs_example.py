"""The worked example of docs/python-client.md, run as it is written against the e2e mesh (Mesh.local() pointed at
the test mesh)."""
import contextlib
import io
import re
from pathlib import Path

import steering_mesh

DOC = Path(__file__).resolve().parents[3] / "docs" / "python-client.md"


def test_worked_example_runs(mesh, monkeypatch, tmp_path):
    text = DOC.read_text()
    section = text[text.index("## Worked example"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.setattr(steering_mesh.Mesh, "local", classmethod(lambda cls, *a, **k: mesh))
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {"__name__": "example"})
    lines = out.getvalue().replace("\r", "\n").splitlines()
    assert lines[0] == "caa_mean (64,) norm 1.000"
    assert sum(1 for line in lines if line.startswith("scale ")) == 5
    assert any(line.startswith("best scale: ") for line in lines)
    assert mesh.vector_info("love").method == "caa_mean"
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # the example leaves the plot out
        assert not (tmp_path / "love-sweep.png").exists() and "wrote love-sweep.png" not in lines
    else:
        assert (tmp_path / "love-sweep.png").stat().st_size > 0 and lines[-1] == "wrote love-sweep.png"
