"""The commands that list what there is: `datasets`, `models` and `kinds`."""

from __future__ import annotations

from neuronet.cli.common import app, print_table

__all__ = ["datasets", "models", "kinds"]


@app.command()
def datasets() -> None:
    """List the built-in data sets."""
    from neuronet.datasets import DATASETS

    print_table("built-in data sets (or pass a .csv / .parquet file, or a folder of images or WAVs)",
                ["name", "description"], [(name, DATASETS.help(name)) for name in DATASETS.names()])


@app.command()
def models() -> None:
    """List the models (model.type) and the pretrained networks (model.name of type pretrained)."""
    from importlib.util import find_spec

    from neuronet.models import MODELS
    from neuronet.transfer.pretrained import PRETRAINED

    print_table("models (model.type; auto, the default, chooses one from the data)", ["type", "description"],
                [(name, MODELS.help(name)) for name in MODELS.names()])
    rows = []
    for name in PRETRAINED.names():
        spec = PRETRAINED.get(name)
        missing = [p for p in spec.packages if find_spec(p.replace("-", "_")) is None]
        rows.append((name, spec.kind, PRETRAINED.help(name), f"no: pip install {' '.join(missing)}" if missing else "yes"))
    print_table("pretrained networks (model: {type: pretrained, name: NAME}, or run: a run directory)",
                ["name", "reads", "description", "installed"], rows)


@app.command()
def kinds() -> None:
    """List the kinds of run (kind:, or chosen from the config: an env: section makes a reinforcement run)."""
    from neuronet.runs.kinds import KINDS

    print_table("kinds of run", ["kind", "description"], [(name, KINDS.help(name)) for name in KINDS.names()])
