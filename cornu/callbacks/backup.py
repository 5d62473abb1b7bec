"""BackupAndRestore: an interrupted fit, started again, goes on where it stopped.

The backup is one file, `backup_dir/backup.cornu-backup`, written atomically (a
temporary file beside it, flushed, fsynced, renamed over it), so a kill at any moment
leaves the previous backup whole; the temporary file such a kill leaves is removed by the
next write (or the deletion) once no writer holds it (cornu.saving.archive's
remove_stale_temporaries). It is a zip (cornu.saving's container) holding:

    state.json               epoch, step, learning rate, global seed counter, and the
                             state of every callback that has one (EarlyStopping's best,
                             ModelCheckpoint's best, History, CSVLogger's rows, ...)
    weights.safetensors      the model's params and state (layers.{i}.params.{name})
    optimizer.safetensors    the optax state and the training random key
    fit.safetensors          the shuffle key, the epoch's running sums (mid-epoch), and
                             arrays from callback states (e.g. EarlyStopping's best weights)

Because the weights, the optimizer, the random keys and the partial sums of the epoch
are all restored, a resumed run reaches the same weights as an unbroken one, bit for
bit on CPU.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from cornu import devices
from cornu.callbacks._monitor import check_save_freq, steps_due
from cornu.callbacks.base import Callback, CallbackList, overrides
from cornu.random import keys as global_rng
from cornu.saving import archive, jsonio, limits, tensors
from cornu.saving.errors import CornuFileError
from cornu.saving.weights import check_head, read_tensors, write_tensors
from cornu.training.state import Position, TrainState

FILE_NAME = "backup.cornu-backup"
PREVIOUS_NAME = "backup.previous.cornu-backup"
FORMAT = "cornu.backup"
FORMAT_VERSION = 1
_STATE, _WEIGHTS = "state.json", "weights.safetensors"
_OPTIMIZER, _FIT = "optimizer.safetensors", "fit.safetensors"
_TENSOR, _FLOAT = "__tensor__", "__float__"


# ------------------------------------------------------------------- callback states


def _encode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """A callback state as JSON: arrays go to `arrays` (by name), non-finite floats
    are spelled out, tuples become lists."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"A callback state's keys must be strings. Received key "
                                f"{key!r}.")
            out[key] = _encode(item, arrays)
        return out
    if isinstance(value, list | tuple):
        return [_encode(item, arrays) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {_FLOAT: repr(value)}
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        name = f"callbacks/{len(arrays)}"
        arrays[name] = np.asarray(value)
        return {_TENSOR: name}
    raise TypeError(f"A callback state may hold numbers, strings, lists, dicts and arrays. "
                    f"Received {value!r} (of type {type(value).__name__}).")


def _decode(value: Any, fit_tensors) -> Any:
    if isinstance(value, dict):
        if set(value) == {_TENSOR}:
            name = value[_TENSOR]
            if not isinstance(name, str) or name not in fit_tensors.specs:
                raise CornuFileError(f"the backup's state names a missing array {name!r}")
            return fit_tensors.array(name)
        if set(value) == {_FLOAT}:
            if value[_FLOAT] not in ("nan", "inf", "-inf"):
                raise CornuFileError(f"the backup's state holds a bad float {value!r}")
            return float(value[_FLOAT])
        return {key: _decode(item, fit_tensors) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item, fit_tensors) for item in value]
    return value


def _find_callbacks(me: Callback) -> list[Callback]:
    """The callbacks of the running fit, in dispatch order."""
    found = getattr(me.model, "_callbacks", None)
    return list(found.callbacks) if isinstance(found, CallbackList) else [me]


def _rng_state() -> dict[str, Any]:
    return global_rng.get_state()


def _set_rng_state(state: Any) -> None:
    if isinstance(state, dict) and isinstance(state.get("counter"), int) and (
            state.get("seed") is None or isinstance(state.get("seed"), int)):
        global_rng.set_state(state)


# ------------------------------------------------------------------------ the callback


class BackupAndRestore(Callback):
    """Keras' BackupAndRestore, losing nothing on a restart.

    At each epoch end (and, with an integer `save_freq` N, every N training steps too)
    the callback writes the training state to `backup_dir`: weights, optimizer state,
    random keys, epoch and step (with the epoch's partial sums), the learning rate, and
    the state of the other callbacks. When `fit` starts and a backup exists, training
    continues from it, so a script killed at any point and simply run again ends with
    the same weights (bit for bit on CPU), History, CSV rows and checkpoints as a run
    never interrupted. When fit completes, the backup is deleted (keep it with
    `delete_checkpoint=False`); if fit raises, it stays for the next try.

    Args:
        backup_dir: a folder for this run's backup alone (created when needed).
        save_freq: 'epoch', or a positive integer N: also back up every N steps (fit's
            compiled calls then run at most N steps).
        double_checkpoint: keep the previous backup too, and fall back to it when the
            latest cannot be read.
        delete_checkpoint: delete the backup once fit has completed.

    The model, compile settings and fit arguments must be those of the interrupted
    run. Callbacks whose state is kept are matched by class and order; a stateful
    callback listed before this one should have an `on_epoch_begin` that can be
    repeated (all of cornu's are).
    """

    def __init__(self, backup_dir: str | os.PathLike, save_freq: str | int = "epoch",
                 double_checkpoint: bool = False, delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not isinstance(backup_dir, str | os.PathLike) or not os.fspath(backup_dir):
            raise ValueError("backup_dir must be a folder path, e.g. 'backup/'. Received: "
                             f"backup_dir={backup_dir!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = check_save_freq(save_freq)
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        if save_freq != "epoch":
            self.max_chunk_steps = save_freq
        self._path = Path(self.backup_dir) / FILE_NAME
        self._previous = Path(self.backup_dir) / PREVIOUS_NAME
        self._before: dict[str, Callback] = {}
        self._after: dict[str, Callback] = {}
        self._restore_after: dict[str, Any] | None = None
        self._pending: dict[str, Any] | None = None
        self._epoch: int | None = None
        self._last_step = 0
        self._steps_since_save = 0

    # -- the other callbacks -------------------------------------------------------------
    def _find_peers(self) -> None:
        """Stateful callbacks by key (class name and rank), split by their place relative
        to this one: hooks reach those before it first."""
        callbacks = _find_callbacks(self)
        mine = next(i for i, c in enumerate(callbacks) if c is self)
        self._before, self._after = {}, {}
        seen: dict[str, int] = {}
        for i, callback in enumerate(callbacks):
            if isinstance(callback, BackupAndRestore) or not overrides(callback, "get_state"):
                continue
            name = type(callback).__name__
            key = f"{name}:{seen.get(name, 0)}"
            seen[name] = seen.get(name, 0) + 1
            (self._before if i < mine else self._after)[key] = callback

    @staticmethod
    def _set_states(peers: dict[str, Callback], states: dict[str, Any]) -> None:
        for key, callback in peers.items():
            if key in states:
                callback.set_state(states[key])

    # -- hooks ---------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._find_peers()
        self._pending, self._restore_after = None, None
        self._epoch, self._last_step, self._steps_since_save = None, 0, 0
        loaded = self._load()
        if loaded is None:
            return
        state, fit_tensors = loaded
        states = _decode(state["callbacks"], fit_tensors)
        # callbacks before this one have run on_train_begin (which may reset them): set
        # them now; the others at the first epoch begin (or train end), before their hooks
        self._set_states(self._before, states)
        self._restore_after = states
        self._epoch, self._last_step = state["epoch"], state["step"]
        self._steps_since_save = state["steps_since_save"]

    def on_epoch_begin(self, epoch, logs=None):
        if self._restore_after is not None:
            self._set_states(self._after, self._restore_after)
            self._restore_after = None
        if self._pending is not None:
            self._flush()
        if epoch != self._epoch:
            self._epoch, self._last_step = epoch, 0

    def on_chunk_end(self, step: int, logs=None) -> None:
        if steps_due(self, step):
            self._pending = self._snapshot()
            self._flush()

    def on_epoch_end(self, epoch, logs=None):
        self._steps_since_save = 0
        self._pending = self._snapshot()
        # the callbacks after this one have not seen this epoch's end yet: their states
        # are taken just before the next epoch begins (or at the end of training)
        if not self._after:
            self._flush()

    def on_train_end(self, logs=None):
        if self._restore_after is not None:  # resumed at the end: no epoch ran
            self._set_states(self._after, self._restore_after)
            self._restore_after = None
        if self.delete_checkpoint:
            self._pending = None
            self._delete()
        elif self._pending is not None:
            self._flush()

    # -- writing -------------------------------------------------------------------------
    def _snapshot(self) -> dict[str, Any]:
        """The model's arrays and the position, copied to the host now (the next compiled
        call reuses their buffers)."""
        model = self.model
        position, ts = model.fit_position, model.train_state
        fit_arrays = {"shuffle_key": np.asarray(position.shuffle_key)}
        if position.sums is not None:
            fit_arrays["sums"] = np.asarray(position.sums)
        return {
            "epoch": int(position.epoch), "step": int(position.step),
            "source": position.source,
            "weights": tensors.weight_tensors(ts.params, ts.state),
            "optimizer": tensors.optimizer_tensors(ts.opt_state, ts.rng),
            "fit": fit_arrays,
            "steps_since_save": self._steps_since_save,
        }

    def _flush(self) -> None:
        # the callbacks' states and the learning rate are taken now, all at one moment:
        # after every callback's on_epoch_end, before (for those listed after this one)
        # or after (before it) on_epoch_begin of the next epoch, which a resumed run
        # calls again
        snap, self._pending = self._pending, None
        states = {key: cb.get_state() for key, cb in {**self._before, **self._after}.items()}
        fit_arrays = dict(snap["fit"])
        callback_arrays: dict[str, np.ndarray] = {}
        state = {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "epoch": snap["epoch"], "step": snap["step"],
            # a PyDataset's or grain's position in its pass (None for arrays: the key)
            "source": snap["source"],
            # a schedule's rate follows the step count in the optimizer state: none to keep
            "learning_rate": None if self.model.optimizer._scheduled
            else float(self.model.optimizer.learning_rate),
            "steps_since_save": snap["steps_since_save"],
            "rng": _rng_state(),
            "callbacks": _encode(states, callback_arrays),
        }
        fit_arrays.update(callback_arrays)
        members = [
            (_STATE, jsonio.dumps(state, "the backup state")),
            (_WEIGHTS, _writer(snap["weights"])),
            (_OPTIMIZER, _writer(snap["optimizer"])),
            (_FIT, _writer(fit_arrays)),
        ]
        if not devices.writes_files():
            return  # process 0 of the job writes the backup, which all of them read
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and self._path.exists():
            os.replace(self._path, self._previous)
        archive.atomic_write(self._path, lambda fp: archive.write_archive(fp, members),
                             overwrite=True)

    def _delete(self) -> None:
        if not devices.writes_files():
            return
        folder = Path(self.backup_dir)
        for path in (self._path, self._previous):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        # temporary files of killed writes (only stale ones: not a live writer's); each
        # write removes them too
        archive.remove_stale_temporaries(self._path)
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if nothing else is in it

    # -- reading -------------------------------------------------------------------------
    def _load(self) -> tuple[dict[str, Any], Any] | None:
        """Restore the model from the backup; (state, fit tensors), or None if none."""
        candidates = [self._path]
        if self.double_checkpoint:
            candidates.append(self._previous)
        candidates = [p for p in candidates if p.exists()]
        for k, path in enumerate(candidates):
            try:
                return self._restore(path)
            except CornuFileError as exc:
                if k + 1 == len(candidates):
                    raise CornuFileError(
                        f"The backup '{path}' cannot be used: {exc} Delete the folder "
                        f"'{self.backup_dir}' to start training over.") from exc
        return None

    def _restore(self, path: Path) -> tuple[dict[str, Any], Any]:
        members = archive.read_archive(path, {
            _STATE: archive.Member(limits.MAX_JSON_BYTES),
            _WEIGHTS: archive.Member(limits.MAX_WEIGHTS_BYTES, head=check_head),
            _OPTIMIZER: archive.Member(limits.MAX_WEIGHTS_BYTES, head=check_head),
            _FIT: archive.Member(limits.MAX_WEIGHTS_BYTES, head=check_head),
        })
        where = f"'{path}'"
        state = jsonio.loads(members[_STATE], f"{where} ({_STATE})")
        self._check_state(state, where)
        model = self.model
        weights = read_tensors(members[_WEIGHTS], f"{where} ({_WEIGHTS})")
        optimizer = read_tensors(members[_OPTIMIZER], f"{where} ({_OPTIMIZER})")
        fit_tensors = read_tensors(members[_FIT], f"{where} ({_FIT})")
        ts = model.train_state
        expected = tensors.expected_weights(model.layers, ts.params, ts.state)
        params, layer_state = tensors.take_weights(weights, expected, len(model.layers),
                                                   f"{where} ({_WEIGHTS})")
        opt_state, train_rng = tensors.restore_optimizer(optimizer, ts.opt_state,
                                                         f"{where} ({_OPTIMIZER})")
        shuffle_key, sums = self._position_arrays(fit_tensors, state, f"{where} ({_FIT})")
        # everything is read and checked: now change the model
        model.train_state = TrainState(
            params, layer_state, ts.opt_state if opt_state is None else opt_state,
            ts.rng if train_rng is None else train_rng)
        if opt_state is not None:  # the updates made (a schedule's rate is read there)
            model.optimizer._sync_iterations(opt_state)
        if not model.optimizer._scheduled:  # a schedule's rate is not settable
            model.optimizer.learning_rate = state["learning_rate"]
        _set_rng_state(state.get("rng"))
        model.resume_at(Position(state["epoch"], state["step"], sums, shuffle_key,
                                 state.get("source")))
        return state, fit_tensors

    def _check_state(self, state: Any, where: str) -> None:
        def integer(value: Any) -> bool:
            return isinstance(value, int) and not isinstance(value, bool) and value >= 0

        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise CornuFileError(f"{where} is not a cornu backup.")
        version = state.get("format_version")
        if not integer(version) or version > FORMAT_VERSION:
            raise CornuFileError(f"{where} has backup format version {version!r}; this cornu "
                                 f"reads versions up to {FORMAT_VERSION}.")
        if not all(integer(state.get(k)) for k in ("epoch", "step", "steps_since_save")):
            raise CornuFileError(f"{where} has no valid epoch, step and steps_since_save.")
        rate = state.get("learning_rate")
        if rate is None and self.model.optimizer._scheduled:
            pass  # a schedule's rate follows the step count
        elif isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
            raise CornuFileError(f"{where} has no valid learning_rate (received {rate!r}).")
        if not isinstance(state.get("callbacks"), dict):
            raise CornuFileError(f"{where} has no callback states.")
        source = state.get("source")
        if source is not None and not (
                isinstance(source, dict) and isinstance(source.get("kind"), str)
                and integer(source.get("seen"))
                and (source["kind"] == "grain" or integer(source.get("pass")))):
            raise CornuFileError(f"{where} has no valid source position (received "
                                 f"{str(source)[:80]!r}).")
        steps = self.params.get("steps")
        # step == steps: written after the epoch's last step, before its end (resumes by
        # running no step and ending that epoch)
        if steps is not None and state["step"] > steps:
            raise CornuFileError(
                f"{where} was written at step {state['step']} of an epoch, but this fit has "
                f"{steps} steps per epoch: the data or batch_size differ from the "
                "interrupted run's.")

    def _position_arrays(self, fit_tensors, state: dict[str, Any],
                         where: str) -> tuple[np.ndarray, np.ndarray | None]:
        spec = fit_tensors.specs.get("shuffle_key")
        if spec is None or spec.dtype.name != "uint32" or len(spec.shape) != 1:
            raise CornuFileError(f"{where} lacks the uint32 tensor 'shuffle_key'.")
        shuffle_key = fit_tensors.array("shuffle_key")
        sums = None
        if state["step"] > 0:
            spec = fit_tensors.specs.get("sums")
            engine = getattr(self.model, "_engine", None)
            size = len(engine.zero_sums()) if engine is not None else None
            if spec is None or spec.dtype.name != "float32" or len(spec.shape) != 1 or (
                    size is not None and spec.shape[0] != size):
                raise CornuFileError(f"{where} lacks the float32 tensor 'sums' of the "
                                     "interrupted epoch (or it has another length: the "
                                     "model's losses and metrics differ).")
            sums = fit_tensors.array("sums")
        return shuffle_key, sums


def _writer(values: dict[str, np.ndarray]) -> archive.Writer:
    def write(fp) -> None:
        write_tensors(fp, values, {"format": FORMAT, "format_version": str(FORMAT_VERSION)})

    return write

