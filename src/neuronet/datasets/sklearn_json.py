"""Fitted scikit-learn transformers to JSON and back, without pickle.

Only the classes in `ALLOWED` can be rebuilt: a file cannot name arbitrary code. The state is
the estimator's parameters plus its fitted attributes (NumPy arrays, dtypes, nested
estimators); the round trip is tested to transform identically under the pinned version.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sklearn
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, RobustScaler, StandardScaler

from neuronet.errors import DataError

__all__ = ["ALLOWED", "to_json", "from_json"]

ALLOWED = {cls.__name__: cls for cls in (SimpleImputer, MissingIndicator, OneHotEncoder, OrdinalEncoder,
                                         StandardScaler, MinMaxScaler, RobustScaler)}


def _float(value: float) -> Any:
    """JSON has no NaN or infinity: they are stored by name (an imputer's missing_values is NaN)."""
    return value if math.isfinite(value) else {"__float__": repr(value)}


def _encode(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return {"__array__": [_encode(v) for v in value.tolist()], "dtype": "object"}
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            return {"__array__": _encode(value.tolist()), "dtype": value.dtype.str}
        return {"__array__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return {"__dtype__": np.dtype(value).str}
    if isinstance(value, np.generic):
        return _encode(value.item())
    if type(value).__name__ in ALLOWED:
        return to_json(value)
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise DataError(f"Cannot store a {type(value).__name__} in JSON.")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__float__" in value:
            return float(value["__float__"])
        if "__array__" in value:
            if value["dtype"] == "object":
                return np.array([_decode(v) for v in value["__array__"]], dtype=object)
            return np.array(_decode(value["__array__"]), dtype=np.dtype(value["dtype"]))
        if "__dtype__" in value:
            return np.dtype(value["__dtype__"])
        if "__dict__" in value:
            return {_decode(k): _decode(v) for k, v in value["__dict__"]}
        if "__estimator__" in value:
            return from_json(value)
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def to_json(estimator: Any) -> dict[str, Any]:
    """JSON-ready state of a fitted transformer from `ALLOWED`."""
    name = type(estimator).__name__
    if name not in ALLOWED:
        raise DataError(f"{name} cannot be stored as JSON; storable: {', '.join(ALLOWED)}.")
    fitted = {k: _encode(v) for k, v in vars(estimator).items() if k.endswith("_") or k.startswith("_")}
    return {"__estimator__": name, "sklearn": sklearn.__version__,
            "params": _encode(estimator.get_params(deep=False)), "fitted": fitted}


def from_json(state: dict[str, Any]) -> Any:
    """Rebuild a fitted transformer from `to_json` output."""
    name = state.get("__estimator__")
    if name not in ALLOWED:
        raise DataError(f"Refusing to rebuild {name!r}: only {', '.join(ALLOWED)} are allowed.")
    try:
        estimator = ALLOWED[name](**_decode(state["params"]))
    except (TypeError, ValueError) as err:
        raise DataError(f"Cannot rebuild {name} from its stored parameters ({err}).") from None
    for key, value in state["fitted"].items():
        if not isinstance(key, str) or not key.isidentifier() or key.startswith("__") or \
                not (key.endswith("_") or key.startswith("_")):
            raise DataError(f"Refusing to set {key!r:.40} on {name}: only fitted attributes (ending in '_') are stored.")
        setattr(estimator, key, _decode(value))
    _check_fitted(estimator, name)
    return estimator


_PER_FEATURE = ("mean_", "var_", "scale_", "center_", "statistics_", "data_min_", "data_max_", "data_range_", "min_",
                "categories_")


def _check_fitted(estimator: Any, name: str) -> None:
    """Every per-feature fitted attribute has one entry per feature (an edited file is refused, not broadcast)."""
    n = getattr(estimator, "n_features_in_", None)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise DataError(f"The stored {name} has no valid n_features_in_ (got {n!r:.40}).")
    for key in _PER_FEATURE:
        value = getattr(estimator, key, None)
        if value is None:
            continue
        size = len(value) if isinstance(value, (list, np.ndarray)) and np.ndim(value) > 0 else None
        if size != n:
            raise DataError(f"The stored {name}'s {key} has {size} entries for {n} feature(s); it was edited.")
