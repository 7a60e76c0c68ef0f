"""Data-only encoding of policy constructor options: JSON values, arrays in an ``.npz``, named classes.

:func:`policies.export_policy` writes the options that rebuild a policy (spaces, layouts, method
options, the classes SB3 takes as arguments) as a JSON tree. Everything that is not plain JSON
becomes a tagged object:

* ``{"__array__": key}`` / ``{"__tensor__": key}``: a numpy array / torch tensor stored under
  ``key`` in the ``.npz`` next to the JSON (read back with ``allow_pickle=False``);
* ``{"__tuple__": [...]}``, ``{"__dict__": [[key, value], ...]}`` (dicts whose keys are not all
  strings), ``{"__float__": "inf" | "-inf" | "nan"}``;
* ``{"__space__": "Box" | "Discrete" | ... , ...}``: a gymnasium space, including the vec env's
  ``SlotBox`` / ``SlotDict`` with their layout;
* ``{"__dataclass__": name, "fields": {...}}``: one of :data:`DATACLASSES` (slot layouts,
  :class:`~policies.ClusterResult`);
* ``{"__class__": name}``: a class, resolved through an explicit allow-list
  (:func:`allowed_classes`), never imported by name.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from policies.clustering import ClusterResult
from ps_wrappers.layout import ImageSlotLayout, SlotBox, SlotDict, SlotLayout

__all__ = ["DATACLASSES", "Decoder", "Encoder", "allowed_classes"]

DATACLASSES: dict[str, type] = {
    "ps_wrappers.SlotLayout": SlotLayout,
    "ps_wrappers.ImageSlotLayout": ImageSlotLayout,
    "policies.ClusterResult": ClusterResult,
}
"""Dataclasses an export may hold, by the name written in the file."""

_SB3_EXTRACTORS = ("FlattenExtractor", "NatureCNN", "CombinedExtractor")


def allowed_classes() -> dict[str, type]:
    """The classes an exported policy may name, by the name written in the file.

    Our policy classes and features extractors (every class in the ``__all__`` of ``policies`` and of its
    modules and sub-packages), ``torch.nn`` activation functions, ``torch.optim`` optimizers and
    SB3's features extractors. The first name of a class is the one :class:`Encoder` writes.
    """
    from stable_baselines3.common import torch_layers
    from stable_baselines3.common.policies import BasePolicy

    import policies  # the package that imports this module: resolved when called, not at import

    table: dict[str, type] = {}
    modules = [("policies", policies)]
    modules += [(f"policies.{n}", m) for n, m in sorted(vars(policies).items()) if _is_subpackage(m, policies)]
    for prefix, module in modules:
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name, None)
            if isinstance(value, type) and issubclass(value, (BasePolicy, torch.nn.Module)):
                table.setdefault(f"{prefix}.{name}", value)
    for name in torch.nn.modules.activation.__all__:
        table[f"torch.nn.{name}"] = getattr(torch.nn, name)
    for name in dir(torch.optim):
        value = getattr(torch.optim, name)
        if isinstance(value, type) and issubclass(value, torch.optim.Optimizer) and value is not torch.optim.Optimizer:
            table[f"torch.optim.{name}"] = value
    for name in _SB3_EXTRACTORS:
        table[f"stable_baselines3.common.torch_layers.{name}"] = getattr(torch_layers, name)
    return table


def _is_subpackage(value: Any, package: Any) -> bool:
    name = getattr(value, "__name__", "")
    return isinstance(value, type(package)) and name.startswith(f"{package.__name__}.") and hasattr(value, "__all__")


class Encoder:
    """Turns option values into a JSON tree, collecting arrays for the ``.npz``.

    Args:
        classes: Name -> class of every class the export may name (:func:`allowed_classes`).
        owner: Prefix of error messages.
    """

    def __init__(self, classes: Mapping[str, type], owner: str = "export_policy") -> None:
        self.names: dict[type, str] = {}
        for name, cls in classes.items():
            self.names.setdefault(cls, name)
        self.owner = owner
        self.arrays: dict[str, np.ndarray] = {}

    def __call__(self, value: Any, where: str) -> Any:
        """The JSON form of ``value``; ``where`` names it in errors (``"options['net_arch']"``)."""
        if isinstance(value, np.generic):
            return self(value.item(), where)
        if value is None or isinstance(value, (bool, str, int)):
            return value
        if isinstance(value, float):
            return float(value) if math.isfinite(value) else {"__float__": repr(float(value))}
        if isinstance(value, torch.Tensor):
            return {"__tensor__": self._array(value.detach().cpu().numpy(), where)}
        if isinstance(value, np.ndarray):
            return {"__array__": self._array(value, where)}
        if isinstance(value, list):
            return [self(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"__tuple__": [self(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, spaces.Space):  # before Mapping: a gymnasium Dict space is a Mapping
            return self._space(value, where)
        if isinstance(value, Mapping):
            if all(isinstance(k, str) and not k.startswith("__") for k in value):
                return {k: self(v, f"{where}[{k!r}]") for k, v in value.items()}
            return {"__dict__": [[self(k, where), self(v, f"{where}[{k!r}]")] for k, v in value.items()]}
        if isinstance(value, type):
            if value not in self.names:
                raise TypeError(
                    f"{self.owner}: {where} is the class {value.__module__}.{value.__qualname__}, which is not in "
                    "the allow-list of classes an export may name (policies, torch.nn activations, torch.optim "
                    "optimizers, SB3 features extractors); pass classes={'<name>': cls} to allow it"
                )
            return {"__class__": self.names[value]}
        if dataclasses.is_dataclass(value):
            name = next((n for n, c in DATACLASSES.items() if type(value) is c), None)
            if name is not None:
                fields = {f.name: self(getattr(value, f.name), f"{where}.{f.name}") for f in dataclasses.fields(value)}
                return {"__dataclass__": name, "fields": fields}
        raise TypeError(
            f"{self.owner}: cannot store {where} = {value!r} ({type(value).__name__}) as data; an export holds "
            "numbers, strings, lists, dicts, arrays, spaces, slot layouts, cluster results and allow-listed classes"
        )

    def _array(self, array: np.ndarray, where: str) -> str:
        if array.dtype == object:
            raise TypeError(f"{self.owner}: {where} is an object array, which cannot be stored without pickle")
        key = f"o{len(self.arrays)}"
        self.arrays[key] = np.ascontiguousarray(array)
        return key

    def _space(self, space: spaces.Space, where: str) -> dict[str, Any]:
        if isinstance(space, SlotBox):
            return {"__space__": "SlotBox", "low": self(space.low, where), "high": self(space.high, where),
                    "layout": self(space.layout, f"{where}.layout")}
        if isinstance(space, SlotDict):
            return {"__space__": "SlotDict", "image": self(space["image"], where),
                    "layout": self(space.layout, f"{where}.layout")}
        if type(space) is spaces.Box:
            return {"__space__": "Box", "low": self(space.low, where), "high": self(space.high, where)}
        if type(space) is spaces.Discrete:
            return {"__space__": "Discrete", "n": int(space.n), "start": int(space.start)}
        if type(space) is spaces.MultiDiscrete:
            return {"__space__": "MultiDiscrete", "nvec": self(space.nvec, where), "start": self(space.start, where)}
        if type(space) is spaces.MultiBinary:
            return {"__space__": "MultiBinary", "n": self(space.n, where)}
        if type(space) is spaces.Dict:
            return {"__space__": "Dict", "spaces": {k: self(s, f"{where}[{k!r}]") for k, s in space.spaces.items()}}
        raise TypeError(f"{self.owner}: cannot store {where}: the space {space!r} has no data-only form")


class Decoder:
    """Rebuilds option values from the JSON tree and the arrays of the ``.npz``.

    Args:
        arrays: The ``.npz`` entries (loaded with ``allow_pickle=False``).
        classes: Name -> class of every class the file may name; any other name is refused.
        source: The file, for error messages.
    """

    def __init__(self, arrays: Mapping[str, np.ndarray], classes: Mapping[str, type], source: str) -> None:
        self.arrays = arrays
        self.classes = classes
        self.source = source
        self._tags: dict[str, Callable[[dict[str, Any]], Any]] = {
            "__array__": lambda v: self.array(v["__array__"]),
            "__tensor__": lambda v: torch.from_numpy(np.array(self.array(v["__tensor__"]))),
            "__tuple__": lambda v: tuple(self(x) for x in v["__tuple__"]),
            "__dict__": lambda v: {self(k): self(x) for k, x in v["__dict__"]},
            "__float__": lambda v: float(v["__float__"]),
            "__class__": lambda v: self.resolve(v["__class__"]),
            "__space__": self._space,
            "__dataclass__": self._dataclass,
        }

    def error(self, message: str) -> ValueError:
        """A ``ValueError`` naming the file."""
        return ValueError(f"load_exported_policy: {self.source}: {message}")

    def __call__(self, value: Any) -> Any:
        """The Python value of a JSON tree written by :class:`Encoder`."""
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        tags = [k for k in value if k.startswith("__")]
        if not tags:
            return {k: self(v) for k, v in value.items()}
        if len(tags) != 1 or tags[0] not in self._tags:
            raise self.error(f"unknown entry {sorted(value)}; the file was not written by export_policy")
        try:
            return self._tags[tags[0]](value)
        except (KeyError, TypeError, AttributeError) as error:
            raise self.error(f"malformed {tags[0]} entry {value!r} ({error})") from None

    def resolve(self, name: str) -> type:
        """The allow-listed class called ``name`` in the file."""
        if name not in self.classes:
            raise self.error(
                f"names the class {name!r}, which is not in the allow-list of classes load_exported_policy builds "
                "(policies.*, torch.nn activations, torch.optim optimizers, SB3 features extractors). Nothing is "
                "imported by name; if you trust the file, import the class yourself and pass classes={name!r: cls}"
            )
        return self.classes[name]

    def array(self, key: str) -> np.ndarray:
        """The ``.npz`` entry ``key`` (a clear error when the file lacks it)."""
        if not isinstance(key, str) or key not in self.arrays:
            raise self.error(f"refers to the array {key!r}, which its .npz does not hold")
        return self.arrays[key]

    def _space(self, value: dict[str, Any]) -> spaces.Space:
        kind = value["__space__"]
        if kind == "SlotBox":
            return SlotBox(self(value["low"]), self(value["high"]), self._layout(value["layout"], SlotLayout))
        if kind == "SlotDict":
            return SlotDict(self(value["image"]), self._layout(value["layout"], ImageSlotLayout))
        if kind == "Box":
            low, high = self(value["low"]), self(value["high"])
            return spaces.Box(low, high, dtype=low.dtype)
        if kind == "Discrete":
            return spaces.Discrete(int(value["n"]), start=int(value["start"]))
        if kind == "MultiDiscrete":
            nvec = self(value["nvec"])
            return spaces.MultiDiscrete(nvec, dtype=nvec.dtype, start=self(value["start"]))
        if kind == "MultiBinary":
            n = self(value["n"])
            return spaces.MultiBinary(n if isinstance(n, int) else np.asarray(n))
        if kind == "Dict":
            return spaces.Dict({k: self(s) for k, s in value["spaces"].items()})
        raise self.error(f"unknown space {kind!r}")

    def _layout(self, value: Any, cls: type) -> Any:
        layout = self(value)
        if not isinstance(layout, cls):
            raise self.error(f"a {cls.__name__} was expected, got {layout!r}")
        return layout

    def _dataclass(self, value: dict[str, Any]) -> Any:
        name = value["__dataclass__"]
        if name not in DATACLASSES:
            raise self.error(f"names the dataclass {name!r}, which is not one of {sorted(DATACLASSES)}")
        cls = DATACLASSES[name]
        fields = {f.name for f in dataclasses.fields(cls)}
        given = value["fields"]
        if not set(given) <= fields:
            raise self.error(f"{name} has no fields {sorted(set(given) - fields)}")
        return cls(**{k: self(v) for k, v in given.items()})
