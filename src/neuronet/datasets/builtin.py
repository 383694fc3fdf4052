"""Built-in data sets, registered by name. All load offline from installed packages."""

from __future__ import annotations

import functools
import gzip
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from neuronet.datasets.dataset import Dataset
from neuronet.errors import DataError
from neuronet.registry import Registry

__all__ = ["DATASETS", "FASHION_MNIST_CLASSES", "read_idx"]

DATASETS: Registry[Callable[..., Dataset]] = Registry("dataset")


def _from_sklearn(loader: str, name: str, task: str) -> Dataset:
    """A scikit-learn tabular data set (`sklearn.datasets.<loader>`) as a Dataset."""
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader)()
    x = torch.as_tensor(bunch.data, dtype=torch.float32)
    features = list(map(str, bunch.feature_names))
    inputs = {"kind": "table", "columns": features}
    if task == "classification":
        y = torch.as_tensor(bunch.target, dtype=torch.long)
        return Dataset(x, y, "classification", name, features, [str(c) for c in bunch.target_names], inputs=inputs)
    y = torch.as_tensor(bunch.target, dtype=torch.float32)
    return Dataset(x, y, "regression", name, features, target_names=["target"], inputs=inputs)


@DATASETS.register("digits", "8x8 grey images of hand-written digits, 1797 examples, 10 classes (scikit-learn).")
def digits() -> Dataset:
    """8x8 hand-written digits as (N, 1, 8, 8) images scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (N, 1, 8, 8)
    y = torch.as_tensor(bunch.target, dtype=torch.long)
    names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
    return Dataset(x, y, "classification", "digits", names, [str(d) for d in range(10)],
                   inputs={"kind": "image", "size": [8, 8], "mode": "L"})


for _name, _loader, _task, _help in [
    ("iris", "load_iris", "classification", "Iris flowers: 150 examples, 4 features, 3 classes (scikit-learn)."),
    ("wine", "load_wine", "classification", "Wine cultivars: 178 examples, 13 features, 3 classes (scikit-learn)."),
    ("breast_cancer", "load_breast_cancer", "classification",
     "Breast-cancer diagnosis: 569 examples, 30 features, 2 classes (scikit-learn)."),
    ("diabetes", "load_diabetes", "regression", "Diabetes progression: 442 examples, 10 features, regression (scikit-learn)."),
]:
    DATASETS.add(_name, functools.partial(_from_sklearn, _loader, _name, _task), _help)


# --- Fashion-MNIST -------------------------------------------------------------------
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
_FASHION_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) of unsigned bytes into an array of its shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path} is not an IDX file of unsigned bytes (bad magic number).")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DataError(f"{path} is truncated: expected {int(np.prod(dims))} values, found {data.size}.")
    return data.reshape(dims)


def _fashion_part(root: Path, part: str, limit: int | None) -> Dataset:
    images_file, labels_file = (root / f for f in _FASHION_FILES[part])
    images, labels = read_idx(images_file), read_idx(labels_file)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.copy()).unsqueeze(1).float().div_(255.0)  # (N, 1, 28, 28)
    y = torch.from_numpy(labels.astype(np.int64))
    return Dataset(x, y, "classification", "fashion_mnist", None, list(FASHION_MNIST_CLASSES),
                   inputs={"kind": "image", "size": [28, 28], "mode": "L"})


@DATASETS.register("fashion_mnist", "Zalando Fashion-MNIST: 60k train + 10k official test 28x28 grey images, 10 classes.")
def fashion_mnist(data_dir: str | os.PathLike | None = None, limit: int | None = None,
                  test_limit: int | None = None) -> Dataset:
    """Fashion-MNIST train part, with the official 10k test part as `official_test`.

    Args:
        data_dir: Folder with the four IDX .gz files (default: where Debian's
            `dataset-fashion-mnist` package puts them, or $NEURONET_FASHION_MNIST).
        limit: Keep only the first `limit` training images (quick experiments, tests).
        test_limit: Keep only the first `test_limit` test images.

    Raises:
        DataError: the files are not there; the message says how to install them.
    """
    root = Path(data_dir or os.environ.get("NEURONET_FASHION_MNIST", FASHION_MNIST_DIR))
    missing = [f for pair in _FASHION_FILES.values() for f in pair if not (root / f).is_file()]
    if missing:
        raise DataError(
            f"Fashion-MNIST files not found in {root} (missing {', '.join(missing)}). Install them "
            "with `sudo apt-get install dataset-fashion-mnist`, or pass --data-dir / data_dir= a folder "
            "holding the original IDX .gz files."
        )
    train = _fashion_part(root, "train", limit)
    train.official_test = _fashion_part(root, "test", test_limit)
    return train
