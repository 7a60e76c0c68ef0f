"""Data-only export of a trained shared policy for deployment: weights, layout, options; no pickle.

SB3's ``model.save`` / ``PPO.load`` (and ``policy.save`` / ``Policy.load``) pickle Python objects:
loading such a file runs whatever code it names, so a model file is code. :func:`export_policy`
writes what inference needs as data only, in a directory:

* ``policy.json``: the policy class and every constructor option (observation space with its slot
  layout, action space, ``net_arch``, activation, method options such as the cluster map, pruning
  seeds and sparsity settings), classes written by name;
* ``weights.npz``: the ``state_dict`` (weights, neuron and weight masks, cluster routing tables)
  and any array-valued option.

:func:`load_exported_policy` reads both without unpickling (``numpy.load(..., allow_pickle=False)``)
and resolves every class name through an explicit allow-list (:func:`policies.export_codec.allowed_classes`):
nothing is imported by name. The result is the SB3 policy itself, in evaluation mode, so
``policy.predict``, :class:`ps_wrappers.SharedPolicy` and :func:`ps_wrappers.evaluate` take it as
they take the trained model.

Example:
    >>> export_policy(model, "deploy/snp_ps")                          # doctest: +SKIP
    >>> policy = load_exported_policy("deploy/snp_ps")                 # doctest: +SKIP
    >>> ps_wrappers.evaluate(policy, env_fn, n_episodes=10)            # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.policies import BasePolicy

from policies.export_codec import Decoder, Encoder, allowed_classes

__all__ = ["EXPORT_FORMAT", "EXPORT_JSON", "EXPORT_WEIGHTS", "export_policy", "load_exported_policy"]

EXPORT_FORMAT = "ps-toolkit.policy/1"
"""``format`` entry of ``policy.json``."""
EXPORT_JSON = "policy.json"
"""Name of the JSON file of an export directory."""
EXPORT_WEIGHTS = "weights.npz"
"""Name of the array file of an export directory."""


def _constant_schedule(_: float) -> float:
    """Learning-rate schedule of a loaded policy (its optimizer is never stepped for inference)."""
    return 0.0


def _versions() -> dict[str, str]:
    found = {}
    for name in ("ps-toolkit", "stable-baselines3", "torch", "numpy"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _class_table(classes: Mapping[str, type] | None, owner: str) -> dict[str, type]:
    extra = dict(classes or {})
    for name, cls in extra.items():
        if not isinstance(name, str) or not isinstance(cls, type):
            raise TypeError(f"{owner}: classes must map names to classes, got {name!r}: {cls!r}")
    return {**allowed_classes(), **extra}


def export_policy(model: Any, path: str | Path, *, classes: Mapping[str, type] | None = None) -> Path:
    """Write the policy of ``model`` to the directory ``path`` as ``policy.json`` + ``weights.npz``.

    Args:
        model: A trained SB3 algorithm (``PPO``, ``A2C``, ``MaskedDQN``, ``MASTDQN``, ...) or its
            policy, with any policy class of :mod:`policies`.
        path: Directory to write (created if needed; existing export files are replaced).
        classes: Extra ``{name: class}`` entries for classes outside the allow-list (a custom
            features extractor, say); the loader must be given the same entries.

    Returns:
        The directory written.

    Raises:
        TypeError: if ``model`` is not an SB3 algorithm or policy, or an option cannot be stored
            as data (a function, an object, a class outside the allow-list).
        FileExistsError: if ``path`` is an existing file.
    """
    policy = getattr(model, "policy", model)
    if not isinstance(policy, BasePolicy):
        raise TypeError(f"export_policy: model must be an SB3 algorithm or policy, got {type(model).__name__}")
    encoder = Encoder(_class_table(classes, "export_policy"))
    options = dict(policy._get_constructor_parameters())
    options.pop("lr_schedule", None)  # training only; a constant schedule is passed on load
    header: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "policy_class": encoder(type(policy), "the policy class"),
        "options": {name: encoder(value, f"options[{name!r}]") for name, value in options.items()},
    }
    state = policy.state_dict()
    weights = {f"s{i}": tensor.detach().cpu().numpy() for i, tensor in enumerate(state.values())}
    header["state"] = dict(zip(state, weights))
    header["versions"] = _versions()
    directory = Path(path)
    if directory.exists() and not directory.is_dir():
        raise FileExistsError(f"export_policy: {str(directory)!r} is a file; give a directory to write the export to")
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {**weights, **encoder.arrays}
    np.savez(directory / EXPORT_WEIGHTS, **arrays)  # no object arrays: the Encoder refuses them
    (directory / EXPORT_JSON).write_text(json.dumps(header, indent=1, allow_nan=False) + "\n")
    return directory


def _read(directory: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The JSON header and the arrays of an export, without unpickling anything."""
    json_path, weights_path = directory / EXPORT_JSON, directory / EXPORT_WEIGHTS
    for file in (json_path, weights_path):
        if not file.is_file():
            raise FileNotFoundError(
                f"load_exported_policy: {str(directory)!r} has no {file.name}; pass a directory written by "
                "policies.export_policy"
            )
    try:
        header = json.loads(json_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"load_exported_policy: {str(json_path)!r} is not JSON ({error})") from None
    if not isinstance(header, dict) or header.get("format") != EXPORT_FORMAT:
        found = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise ValueError(
            f"load_exported_policy: {str(json_path)!r} has format {found!r}, expected {EXPORT_FORMAT!r} "
            "(written by policies.export_policy)"
        )
    try:
        with np.load(weights_path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (ValueError, OSError) as error:
        raise ValueError(
            f"load_exported_policy: {str(weights_path)!r} is not a plain .npz of arrays ({error}); "
            "pickled data is never loaded"
        ) from None
    return header, arrays


def load_exported_policy(
    path: str | Path, *, classes: Mapping[str, type] | None = None, device: str | torch.device = "cpu"
) -> BasePolicy:
    """Rebuild a policy written by :func:`export_policy`, for inference, without unpickling.

    The policy class and every class among its options (activation, optimizer, features
    extractor) are looked up by name in an allow-list: the classes of :mod:`policies`,
    ``torch.nn`` activations, ``torch.optim`` optimizers and SB3's features extractors. A file
    naming anything else is refused; no module is imported because a file names it. Building the
    policy does not advance torch's global random number generator.

    Args:
        path: The export directory.
        classes: Extra ``{name: class}`` entries you trust (as given to :func:`export_policy`).
        device: Torch device of the returned policy.

    Returns:
        The policy (an SB3 ``BasePolicy`` of the exported class) in evaluation mode; it acts
        exactly as the exported one did.

    Raises:
        FileNotFoundError: if ``path`` lacks ``policy.json`` or ``weights.npz``.
        ValueError: if a file is malformed, holds pickled data, names a class outside the
            allow-list, or its weights do not fit the policy its options build.
    """
    directory = Path(path)
    header, arrays = _read(directory)
    decoder = Decoder(arrays, _class_table(classes, "load_exported_policy"), repr(str(directory / EXPORT_JSON)))
    cls = decoder(header.get("policy_class"))
    if not (isinstance(cls, type) and issubclass(cls, BasePolicy)):
        raise decoder.error(f"policy_class must name an SB3 policy class, got {cls!r}")
    options = decoder(header.get("options"))
    names = header.get("state")
    if not isinstance(options, dict) or not isinstance(names, dict):
        raise decoder.error("'options' and 'state' must be JSON objects")
    state = {name: torch.from_numpy(np.array(decoder.array(key))) for name, key in names.items()}
    with torch.random.fork_rng(devices=[]):
        try:
            policy = cls(**options, lr_schedule=_constant_schedule)
        except (TypeError, ValueError) as error:
            raise decoder.error(f"its options do not build a {cls.__name__}: {error}") from None
    try:
        policy.load_state_dict(state, strict=True)
    except RuntimeError as error:
        message = " ".join(str(error).split())
        raise decoder.error(f"its weights do not fit the {cls.__name__} its options build: {message}") from None
    policy.set_training_mode(False)
    return policy.to(device)
