"""Data flows one way: the layer order is written once (LAYERS, and the README says the same).

- No module imports a module of a higher layer, anywhere in it (top level or inside a function);
  a run kind names the functions of higher layers it offers as "module:function" strings, which
  are checked to exist.
- No import cycle among modules at run time (imports at a module's top level; TYPE_CHECKING
  blocks are for type checkers only).
- On the whole import closure, not only direct imports: a fresh process that loads `nt.load`,
  the model service and the policy service imports no training code, no rich and no plotting.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SRC = ROOT / "src" / "neuronet"

# lowest first; a module may import its own layer (no cycles) and the layers below it
LAYERS: list[tuple[str, ...]] = [
    ("errors", "registry", "paths", "atomic", "params", "space", "rundir"),  # the ground floor
    ("plots", "nn", "optim", "datasets", "transfer", "doctor"),
    ("models",),
    ("tasks",),
    ("predict", "explain"),
    ("train", "rl"),
    ("config",),
    ("runs",),
    ("deploy", "tune"),
    ("cli", "__main__"),
]
LAYER = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def modules() -> dict[str, Path]:
    """Every neuronet module by dotted name (a package by its own name)."""
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    """The neuronet modules a file imports: anywhere, or only at its top level (what runs when it is imported)."""
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(SRC.parent).with_suffix("").parts[:-1])
    found: set[str] = set()

    def visit(node: ast.AST, top: bool) -> None:
        if _type_checking(node):
            return
        if isinstance(node, ast.Import) and (top or not top_level_only):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (top or not top_level_only):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            inside = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, top and not inside)

    visit(tree, True)
    known = modules()
    return {n for n in found if n in known}


def layer_of(module: str) -> int:
    part = module.split(".")[1] if module.count(".") else "__init__"
    return LAYER[part]


def test_every_package_and_module_has_a_layer():
    names = {p.name for p in SRC.iterdir() if p.is_dir() and not p.name.startswith("__")}
    names |= {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    assert names - set(LAYER) == set(), "place these in LAYERS (and in the README's layer line)"
    assert set(LAYER) - names == set(), "LAYERS names what does not exist"


def test_no_module_imports_a_higher_layer():
    upward = []
    for name, path in modules().items():
        if name == "neuronet":
            continue  # the package's face: names everything, lazily
        for target in imports(path):
            if target != "neuronet" and layer_of(target) > layer_of(name):
                upward.append(f"{path.relative_to(SRC)} imports {target}")
    assert upward == []


def test_a_kinds_named_functions_exist_and_live_in_the_layers_it_may_name():
    """A run kind offers export and serving by name ("module:function"), resolved when called."""
    named = []
    for path in (SRC / "runs").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    re.fullmatch(r"neuronet(\.\w+)+:\w+", node.value):
                named.append(node.value)
    assert len(named) >= 3  # the model server, the exporter, the policy server
    for text in named:
        module, function = text.split(":")
        assert module.split(".")[1] == "deploy", f"{text}: a kind names only the serving layer's functions"
        assert callable(getattr(importlib.import_module(module), function)), text


def test_no_import_cycle_at_run_time():
    graph = {name: imports(path, top_level_only=True) - {name} for name, path in modules().items()}
    # a package's own __init__ importing its modules, and they importing the package, is how a package
    # is built; a cycle is two modules that need each other to finish importing
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def walk(v: str) -> None:
        state[v] = 1
        stack.append(v)
        for w in sorted(graph[v]):
            if w == "neuronet" or v.startswith(w + ".") or w.startswith(v + "."):
                continue
            if state.get(w) == 1:
                cycles.append(stack[stack.index(w):] + [w])
            elif w not in state:
                walk(w)
        stack.pop()
        state[v] = 2

    for v in sorted(graph):
        if v not in state:
            walk(v)
    assert cycles == []


def test_the_readme_gives_the_same_layer_order():
    line = next(line for line in (ROOT / "README.md").read_text().splitlines()
                if line.startswith("**Layers, lowest first**"))
    written = [tuple(re.findall(r"`(\w+)`", part)) for part in line.split("**", 2)[2].split("→")]
    assert written == [layer for layer in LAYERS]


CLOSURE = """
import json, sys
import neuronet as nt
import numpy as np
predictor = nt.load(sys.argv[1])  # what a user's process that only predicts does
assert len(predictor.predict(np.zeros((2, 8, 8), dtype=np.float32))) == 2
from neuronet.deploy.server import create_app
from neuronet.deploy.policy import create_policy_app
create_app(sys.argv[1])
create_policy_app(sys.argv[2])
print(json.dumps(sorted(sys.modules)))
"""


@pytest.fixture(scope="module")
def serving_closure(digits_run, tmp_path_factory) -> list[str]:
    """The modules a fresh process holds after loading a trained model, its service and a policy's service."""
    pytest.importorskip("gymnasium", reason="gymnasium is not installed (neuronet[rl])")
    from neuronet.config import validate
    from neuronet.runs import train_run

    rl = train_run(validate({"output_dir": str(tmp_path_factory.mktemp("rl")), "name": "cart",
                             "env": {"id": "CartPole-v1"}, "agent": {"type": "ppo", "n_steps": 32, "batch_size": 32,
                                                                     "n_epochs": 1},
                             "train": {"steps": 64, "log_every": 32, "eval_episodes": 1}}), progress=False).path
    out = subprocess.run([sys.executable, "-c", CLOSURE, str(digits_run), str(rl)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_prediction_and_serving_import_no_training_code_progress_or_plots(serving_closure):
    mine = sorted({".".join(m.split(".")[:2]) for m in serving_closure if m.startswith("neuronet.")})
    for forbidden in ("neuronet.train", "neuronet.runs", "neuronet.config", "neuronet.tune", "neuronet.cli",
                      "neuronet.explain", "neuronet.plots", "neuronet.doctor"):
        assert forbidden not in mine, f"serving imports {forbidden}: {mine}"
    assert not [m for m in serving_closure if m.split(".")[0] in ("rich", "matplotlib", "typer", "optuna")]
    rl = [m for m in serving_closure if m.startswith("neuronet.rl.")]
    assert "neuronet.rl.policies" in rl and "neuronet.rl.trainer" not in rl


def test_the_serving_closure_respects_the_layers(serving_closure):
    """What a served model loads sits at or below the serving layer, whatever imports it lazily."""
    mine = [m for m in serving_closure if m.startswith("neuronet.")]
    assert max(layer_of(m) for m in mine) == LAYER["deploy"]
    assert {m.split(".")[1] for m in mine if layer_of(m) >= LAYER["train"]} <= {"rl", "deploy"}


def test_every_neuronet_name_in_the_code_s_text_exists():
    """Messages and docstrings name modules and objects that exist (`neuronet.callbacks` did not)."""
    missing = []
    for name, path in modules().items():
        text = path.read_text()
        for ref in sorted(set(re.findall(r"(?<![\w/.])neuronet(?:\.[A-Za-z_]\w*)+", text))):
            if f'getLogger("{ref}")' in text:
                continue  # a logger's name
            parts = ref.split(".")
            obj, found = None, False
            for i in range(len(parts), 0, -1):  # the longest importable prefix, then attributes
                try:
                    obj = importlib.import_module(".".join(parts[:i]))
                except ImportError:
                    continue
                found = True
                for attribute in parts[i:]:
                    if not hasattr(obj, attribute):
                        found = False
                        break
                    obj = getattr(obj, attribute)
                break
            if not found:
                missing.append(f"{path.relative_to(SRC)}: {ref}")
    assert missing == []
