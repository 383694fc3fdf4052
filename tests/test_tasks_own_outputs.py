"""A task owns its outputs end to end: predictor, server, page, report, explanations and the CLI ask
the task object and never branch on its name, so a task with a structured output is one class.

1. A scan of their source finds no task name in the code (a comparison, a tuple to test `in`, a
   call argument such as `_need("reconstruction", ...)`, a dispatch-table key) and no comparison
   with a task's `.name`.
2. A toy task defined here, whose prediction is a list (the two most likely labels), is
   registered, and the Predictor (`predict`, `predict_frame`), the served `/predict`,
   `/predict/batch`, `/metadata`, the OpenAPI schema and the page use its decode, columns,
   response schema and widget, with no change to predictor or server code.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import neuronet as nt
from neuronet.tasks import TASKS, Task

SRC = Path(nt.__file__).parent
ASKERS = ("predict/**/*.py", "deploy/**/*.py", "runs/html.py", "runs/report.py", "explain/**/*.py", "cli.py",
          "cli/**/*.py")  # the code that must ask the task


# --- 1. nobody branches on a task's name ----------------------------------------------------------------------
def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (they may name tasks: they explain, not branch)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def _is_task_name(node: ast.AST) -> bool:
    """`<anything with task in it>.name`: task.name, self.task.name, predictor.task.name, spec_task.name ..."""
    return isinstance(node, ast.Attribute) and node.attr == "name" and "task" in ast.unparse(node.value).lower()


def task_name_uses(path: Path, names: set[str]) -> list[tuple[int, str]]:
    """(line, why) for each place in `path` that names a task in code, or compares a task's `.name`.

    A whole string constant equal to a registered task's name is a branch waiting to happen, wherever
    it stands: `== "classification"`, `in ("regression", "forecasting")`, `_need("reconstruction")`,
    `TASKS.get("classification")`, `{"generation": ...}[task]`, `case "regression":`. Messages that
    name a task inside a longer text (an f-string's words) and docstrings are not code paths.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docs = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in names and id(node) not in docs:
            found.append((node.lineno, f"the task name {node.value!r} in code"))
        elif isinstance(node, ast.Compare) and any(_is_task_name(side) for side in (node.left, *node.comparators)):
            found.append((node.lineno, f"a comparison with a task's name: {ast.unparse(node)}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                "startswith", "endswith", "__eq__") and _is_task_name(node.func.value):
            found.append((node.lineno, f"a test of a task's name: {ast.unparse(node)}"))
    return sorted(found)


def test_a_scan_finds_task_names_in_code_and_only_there(tmp_path):
    names = {"classification", "regression"}
    code = tmp_path / "sample.py"
    code.write_text('"""Explains classification and regression (a docstring)."""\n'
                    'def f(task, predictor, kind):\n'
                    '    """Serves classification models."""\n'
                    '    message = f"this classification model ({task})"\n'   # words in a message: no branch
                    '    if task == "classification": pass\n'                    # 5
                    '    if kind in ("regression", "other"): pass\n'             # 6
                    '    if predictor.task.name != kind: pass\n'                 # 7
                    '    predictor._need("regression", "scores")\n'              # 8
                    '    table = {"classification": 1}\n'                        # 9
                    '    if task.name.startswith("class"): pass\n'               # 10
                    '    match kind:\n'
                    '        case "regression": pass\n')                         # 12
    assert [line for line, _ in task_name_uses(code, names)] == [5, 6, 7, 8, 9, 10, 12]


def test_predictor_server_page_report_explain_and_cli_never_branch_on_a_task_name():
    names = set(TASKS.names())
    files = sorted({p for pattern in ASKERS for p in SRC.glob(pattern)})
    assert any(p.parent.name == "predict" for p in files) and any(p.name == "html.py" for p in files)
    found = [f"{path.relative_to(SRC.parent)}:{line}: {why}" for path in files
             for line, why in task_name_uses(path, names)]
    assert not found, "Ask the task object (neuronet.tasks.Task) instead of branching on its name:\n" + "\n".join(found)


def test_the_pages_script_shows_a_response_through_the_tasks_widget_only():
    """The page's JavaScript names no task and no task's own response field: `Task.widget` says which to show."""
    import re

    pytest.importorskip("pydantic")
    from neuronet.deploy.page import _PAGE

    generic = set(Task().response_model(None).model_fields)  # "prediction": the default widget's field
    fields = {f for name in TASKS.names() for f in TASKS.get(name)().response_model(["a", "b"]).model_fields} - generic
    script = _PAGE[_PAGE.index("<script>"):]
    assert fields and TASKS.get("classification").widget == {"value": "prediction", "bars": "probabilities"}
    named = [word for word in sorted(fields | set(TASKS.names())) if re.search(rf"\b{word}\b", script)]
    assert not named, f"the page's script names {named}; read the task's widget instead"


# --- 2. a task with a structured output is one class ----------------------------------------------------------
class TopTwo(Task):
    """A toy task whose prediction is a list: the two most likely class labels, best first."""

    name: ClassVar[str] = "top_two"
    default_loss: ClassVar[str] = "cross_entropy"
    has_classes: ClassVar[bool] = True
    widget: ClassVar[dict[str, str]] = {"value": "labels"}

    def decode(self, outputs: Any, meta: dict[str, Any], inverse_target: Any = None,
               x: torch.Tensor | None = None) -> list[list[str]]:
        best = outputs.topk(2, dim=1).indices.tolist()  # (N, 2)
        return [[meta["class_names"][i] for i in row] for row in best]

    def prediction_columns(self, model: nn.Module, x: torch.Tensor, meta: dict[str, Any],
                           inverse_target: Any = None) -> dict[str, np.ndarray]:
        labels = self.decode(model(x), meta)
        return {"first": np.asarray([pair[0] for pair in labels], dtype=object),
                "second": np.asarray([pair[1] for pair in labels], dtype=object)}

    def response_model(self, classes: list[str] | None) -> type:
        from pydantic import Field, create_model

        return create_model("Prediction", labels=(list[str], Field(min_length=2, max_length=2,
                                                                   description="The two most likely classes.")))

    def response(self, row: dict[str, Any], classes: list[str] | None) -> dict[str, Any]:
        return {"labels": [str(row["first"]), str(row["second"])]}


@pytest.fixture
def top_two(monkeypatch):
    """TopTwo registered as 'top_two' for one test (the registry is restored afterwards)."""
    monkeypatch.setattr(TASKS, "_entries", dict(TASKS._entries))
    monkeypatch.setattr(TASKS, "_help", dict(TASKS._help))
    TASKS.add("top_two", TopTwo, "The two most likely labels (a toy task with a list output).")
    return TopTwo


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory) -> Path:
    """A 1-epoch MLP on iris: three class scores per row, which the toy task reads its own way."""
    from neuronet.config import load_config
    from neuronet.runs import train_run

    out = tmp_path_factory.mktemp("toy")
    return train_run(load_config(None, [f"output_dir={out}", "name=iris", "data.source=iris", "model.type=mlp",
                                        "train.epochs=1"]), progress=False).path


@pytest.fixture
def toy_run(iris_run, top_two, tmp_path) -> Path:
    """The iris run, its model.json saying the task is 'top_two'."""
    run = Path(shutil.copytree(iris_run, tmp_path / "top-two"))
    spec = json.loads((run / "model.json").read_text())
    (run / "model.json").write_text(json.dumps({**spec, "task": "top_two"}))
    return run


ROWS = pd.DataFrame({"sepal length (cm)": [5.1, 6.7, 6.3], "sepal width (cm)": [3.5, 3.0, 2.5],
                     "petal length (cm)": [1.4, 5.2, 4.9], "petal width (cm)": [0.2, 2.3, 1.5]})


def _expected(run: Path) -> list[list[str]]:
    """The two best labels computed by hand from the network's outputs."""
    predictor = nt.load(run)
    with torch.no_grad():
        out = predictor.model(predictor.prepare(ROWS).x)
    classes = ["setosa", "versicolor", "virginica"]
    return [[classes[i] for i in row] for row in torch.argsort(out, dim=1, descending=True)[:, :2].tolist()]


def test_the_predictor_decodes_and_tabulates_as_the_task_says(toy_run):
    predictor = nt.load(toy_run)
    assert isinstance(predictor.task, TopTwo) and predictor.classes == ["setosa", "versicolor", "virginica"]
    expected = _expected(toy_run)
    assert predictor.predict(ROWS) == expected  # a list of lists: the task's decode
    frame = predictor.predict_frame(ROWS)
    assert list(frame.columns) == ["first", "second"]  # the task's columns
    assert frame.to_numpy().tolist() == expected
    with pytest.raises(nt.ConfigError, match=r"^scores\(\) needs a reconstruction model; this one is top_two\.$"):
        predictor.scores(ROWS)
    with pytest.raises(nt.ConfigError, match="The onnx backend serves classification, regression and forecasting; "
                                             "this top_two model is served with the torch backend."):
        nt.load(toy_run, backend="onnx")


def test_the_server_answers_with_the_tasks_schema_and_page(toy_run):
    pytest.importorskip("fastapi", reason="the serving extras are not installed (pip install 'neuronet[serve]')")
    pytest.importorskip("httpx", reason="the test extras are not installed")
    from fastapi.testclient import TestClient

    from neuronet.deploy.server import create_app

    expected = _expected(toy_run)
    rows = ROWS.to_dict("records")
    with TestClient(create_app(toy_run, batch_window_ms=0)) as client:
        one = client.post("/predict", json=rows[0])
        assert one.status_code == 200 and one.json() == {"labels": expected[0]}
        batch = client.post("/predict/batch", json={"instances": rows})
        assert batch.status_code == 200 and batch.json() == {"predictions": [{"labels": pair} for pair in expected]}
        upload = client.post("/predict/file", files={"file": ("rows.csv", ROWS.to_csv(index=False).encode(), "text/csv")})
        assert upload.status_code == 200 and upload.json()["predictions"] == [{"labels": pair} for pair in expected]
        meta = client.get("/metadata").json()
        assert meta["task"] == "top_two" and meta["classes"] == ["setosa", "versicolor", "virginica"]
        schema = client.get("/openapi.json").json()["components"]["schemas"]["Prediction"]
        assert list(schema["properties"]) == ["labels"] and schema["properties"]["labels"]["maxItems"] == 2
        page = client.get("/").text
        assert 'const widget = {"value": "labels"};' in page  # the page shows the field the task names


# --- 3. variable-size targets: the task collates a batch and joins the batches ------------------------------
class Count(Task):
    """A toy task whose target per example is a variable-length list of marks; the model predicts how many."""

    name: ClassVar[str] = "count"
    metrics: ClassVar[tuple[str, ...]] = ()

    def collate(self, batch: list[Any]) -> Any:
        return torch.stack([x for x, _ in batch]), [y for _, y in batch]  # the targets stay a list: no padding


def _count_loss(out: torch.Tensor, marks: list[torch.Tensor]) -> torch.Tensor:
    return ((out[:, 0] - torch.tensor([float(len(m)) for m in marks])) ** 2).mean()


class Marks(torch.utils.data.Dataset):
    """k marks (0 to 3) per example, k readable from the inputs."""

    def __init__(self, n: int) -> None:
        generator = torch.Generator().manual_seed(0)
        self.k = torch.randint(0, 4, (n,), generator=generator)
        self.x = torch.nn.functional.one_hot(self.k, 4).float() + 0.1 * torch.randn(n, 4, generator=generator)

    def __len__(self) -> int:
        return len(self.k)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], torch.ones(int(self.k[i]), 2)  # e.g. k boxes of two numbers


def test_variable_size_targets_are_collated_and_joined_by_the_task():
    data = Marks(64)
    with pytest.raises(RuntimeError, match="stack|size"):  # what the default collation does with them
        next(iter(torch.utils.data.DataLoader(data, batch_size=8)))
    model = nn.Linear(4, 1)
    trainer = nt.Trainer(model, task=Count(), loss=_count_loss, epochs=30, batch_size=8, lr=0.05, progress=False)
    history = trainer.fit(data, val=data)
    assert history.epochs[-1]["train_loss"] < 0.1 * history.epochs[0]["train_loss"]
    outputs, marks = trainer.outputs(data)
    assert outputs.shape == (64, 1) and len(marks) == 64  # the batches joined in order, one list entry per example
    assert [len(m) for m in marks] == data.k.tolist()
    assert trainer.evaluate(data)["loss"] == pytest.approx(float(_count_loss(outputs, marks)))
