"""Regenerate the sample training logs in ``sample_logs/`` by really training Keras models.

Run by hand (not in CI), from the repository root, with the ``verify`` extra installed:

    .venv/bin/python sample_logs/make_samples.py            # all scenarios
    .venv/bin/python sample_logs/make_samples.py overfit    # just one
    .venv/bin/python sample_logs/make_samples.py console    # the console-output examples

``console`` captures what training *prints* (stdout and stderr of a child process, as a
Slurm ``.out`` file holds them) next to the structured log the same run wrote, into
``sample_logs/console/<name>/``:

- ``keras-verbose1/``, ``keras-verbose2/``: two ``fit`` calls (the seed over-fitting
  model for 25 epochs, then a fine-tuning ``fit`` of 5 epochs at a lower learning
  rate), printed with ``verbose=1`` (``\r``/backspace progress bars) or ``verbose=2``,
  with a ``print`` and a Python warning from a callback in between; ``history_fit1.json``
  and ``history_fit2.json`` are the two ``History`` objects;
- ``hf-trainer/``: a Hugging Face ``Trainer`` run (a 1-layer BERT built from a config,
  no download, on synthetic tokens; needs ``torch`` and ``transformers``): the printed
  log dicts and tqdm bars, and the ``trainer_state.json`` of the same run;
- ``lightning/``: a Lightning ``fit`` with ``TQDMProgressBar`` (needs ``lightning``):
  the printed epoch bars, and the ``CSVLogger`` ``metrics.csv`` of the same run.

Each scenario trains a small Keras 3 model (TensorFlow CPU backend) on synthetic data
generated here (no downloads), seeded with ``keras.utils.set_random_seed``, and writes
three logs of the same run into ``sample_logs/<scenario>/``:

- ``history.json``  -- ``json.dump(history.history)`` (NaN written as the bare ``NaN`` token,
  exactly as ``json.dump`` does);
- ``training.csv``  -- ``keras.callbacks.CSVLogger``;
- ``tensorboard/``  -- ``keras.callbacks.TensorBoard`` (``train/`` and ``validation/`` run folders).

It prints each curve so you can check that the scenario shows what it is meant to show
(see ``sample_logs/README.md``). Results are deterministic per machine but may differ in
the last digits across TensorFlow versions and CPUs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent


def _data(n: int, features: int, *, noise: float, seed: int, scale: float = 1.0):
    """A smooth nonlinear regression target on ``features`` Gaussian inputs.

    y depends on the first 10 inputs through tanh and a product term, plus Gaussian
    label noise of std ``noise``. ``scale`` multiplies the inputs (unnormalised data).
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    w = np.random.default_rng(1234).normal(size=(min(10, features),)).astype("float32")
    k = min(10, features)
    y = np.tanh(x[:, :k] @ w / np.sqrt(k)) + 0.5 * x[:, 0] * x[:, 1]
    y = y + rng.normal(scale=noise, size=n)
    return (x * scale).astype("float32"), y.astype("float32").reshape(-1, 1)


def _latent_data(n: int, *, noise: float, seed: int):
    """100 correlated input features driven by 5 hidden factors (as real tabular or
    embedding features are), a nonlinear target of those factors, label noise ``noise``.
    Few samples and much label noise: a 64-64 MLP learns the signal in a few epochs and
    then memorises the noise."""
    rng = np.random.default_rng(seed)
    mixing = np.random.default_rng(1234).normal(size=(5, 100)) / np.sqrt(5)
    z = rng.normal(size=(n, 5))
    x = z @ mixing + 0.3 * rng.normal(size=(n, 100))
    y = np.sin(2 * z[:, 0]) + z[:, 1] * z[:, 2] + 0.5 * z[:, 3] + rng.normal(scale=noise, size=n)
    return x.astype("float32"), y.astype("float32").reshape(-1, 1)


def _mlp(features: int, units: tuple[int, ...]) -> keras.Model:
    layers = [keras.Input(shape=(features,))]
    layers += [keras.layers.Dense(u, activation="relu") for u in units]
    layers += [keras.layers.Dense(1)]
    return keras.Sequential(layers)


def overfit():
    """The seed example: Dense(64, relu) -> Dense(64, relu) on 100 features, adam, MSE,
    50 epochs, batch 32, on 800 noisy training samples: too few for ~13k weights."""
    x, y = _latent_data(800, noise=1.0, seed=1)
    xv, yv = _latent_data(500, noise=1.0, seed=2)
    model = _mlp(100, (64, 64))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model, dict(x=x, y=y, validation_data=(xv, yv), epochs=50, batch_size=32)


def healthy():
    """Enough data for the model: 6000 samples, 20 features, label noise 0.2 (so the best
    reachable MSE is about 0.04), 50 epochs with ReduceLROnPlateau (factor 0.3, patience 2)
    lowering the learning rate as validation stalls, until both curves are flat; the
    ``learning_rate`` is logged."""
    x, y = _data(6000, 20, noise=0.2, seed=3)
    xv, yv = _data(1500, 20, noise=0.2, seed=4)
    model = _mlp(20, (32, 32))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse", metrics=["mae"])
    cb = [
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=2, min_lr=1e-5)
    ]
    return model, dict(x=x, y=y, validation_data=(xv, yv), epochs=50, batch_size=64, callbacks=cb)


def diverging():
    """SGD on unnormalised inputs (x100) with a learning rate warm-up that overshoots:
    the learning rate grows 1.6x per epoch, the loss first falls, then explodes to inf
    and NaN. No TerminateOnNaN, so the NaN epochs are in the logs."""
    x, y = _data(1000, 20, noise=0.1, seed=5, scale=100.0)
    xv, yv = _data(300, 20, noise=0.1, seed=6, scale=100.0)
    model = _mlp(20, (32,))
    model.compile(optimizer=keras.optimizers.SGD(1e-7), loss="mse", metrics=["mae"])
    cb = [keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e-7 * 1.6**epoch)]
    return model, dict(x=x, y=y, validation_data=(xv, yv), epochs=30, batch_size=32, callbacks=cb)


def underfitting():
    """A linear model (one Dense(1)) on a target that is mostly a product x0*x1 and tanh:
    it levels off within a few epochs at a high loss, train and validation close."""
    x, y = _data(3000, 20, noise=0.1, seed=7)
    xv, yv = _data(1000, 20, noise=0.1, seed=8)
    model = keras.Sequential([keras.Input(shape=(20,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse", metrics=["mae"])
    return model, dict(x=x, y=y, validation_data=(xv, yv), epochs=40, batch_size=64)


def noisy():
    """Batch size 8 with a high SGD learning rate (0.2) and noisy labels: the weights at
    the end of each epoch land somewhere different, so the validation loss swings from
    epoch to epoch by as much as its whole downward trend."""
    x, y = _data(2000, 20, noise=0.5, seed=9)
    xv, yv = _data(300, 20, noise=0.5, seed=10)
    model = _mlp(20, (16,))
    model.compile(optimizer=keras.optimizers.SGD(0.2), loss="mse", metrics=["mae"])
    return model, dict(x=x, y=y, validation_data=(xv, yv), epochs=40, batch_size=8)


SCENARIOS = {
    "overfit": overfit,
    "healthy": healthy,
    "diverging": diverging,
    "underfitting": underfitting,
    "noisy": noisy,
}


def make(name: str, seed: int = 42) -> dict[str, list[float]]:
    """Train scenario ``name`` and write its three logs; returns ``history.history``."""
    keras.utils.set_random_seed(seed)
    out = HERE / name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    model, fit = SCENARIOS[name]()
    callbacks = list(fit.pop("callbacks", []))
    callbacks += [
        keras.callbacks.CSVLogger(str(out / "training.csv")),
        keras.callbacks.TensorBoard(
            log_dir=str(out / "tensorboard"),
            write_graph=False,
            histogram_freq=0,
            profile_batch=0,
            update_freq="epoch",
        ),
    ]
    history = model.fit(**fit, callbacks=callbacks, verbose=0)
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    with open(out / "history.json", "w") as f:
        json.dump(hist, f)
    return hist


def _show(name: str, hist: dict[str, list[float]]) -> None:
    loss, val = hist["loss"], hist["val_loss"]
    print(f"\n== {name}: {len(loss)} epochs, keys {sorted(hist)}")
    finite = [v for v in val if np.isfinite(v)]
    if finite:
        best = int(np.nanargmin(np.where(np.isfinite(val), val, np.nan)))
        print(f"   best val_loss {val[best]:.4g} at epoch {best}; last {val[-1]:.4g}")
    for i, (a, b) in enumerate(zip(loss, val, strict=True)):
        lr = hist.get("learning_rate", [None] * len(loss))[i]
        lr_s = f"  lr {lr:.3g}" if lr is not None else ""
        print(f"   {i:3d}  loss {a:12.5g}  val_loss {b:12.5g}{lr_s}")


# ---------------------------------------------------------------------------- console
CONSOLE = ("keras-verbose1", "keras-verbose2", "hf-trainer", "lightning")


class _Chatter(keras.callbacks.Callback):
    """Prints and warns between epochs, as real training scripts do."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 3:
            print(f"saved checkpoint ckpt-{epoch:03d}.keras", flush=True)
        if epoch == 6:
            warnings.warn("val_loss did not improve; consider a lower learning rate", stacklevel=1)


def _child_keras(out: Path, verbose: int) -> None:
    keras.utils.set_random_seed(42)
    model, fit = overfit()
    fit["epochs"] = 25
    h1 = model.fit(**fit, callbacks=[_Chatter()], verbose=verbose)
    print("fine-tuning with a lower learning rate", flush=True)
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse", metrics=["mae"])
    fit["epochs"] = 5
    h2 = model.fit(**fit, verbose=verbose)
    for k, h in ((1, h1), (2, h2)):
        hist = {m: [float(v) for v in vals] for m, vals in h.history.items()}
        (out / f"history_fit{k}.json").write_text(json.dumps(hist))


def _child_hf(out: Path) -> None:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=16,
        num_labels=2,
    )

    class Tokens(torch.utils.data.Dataset):
        """Label 1 when the first token is in the upper half of the vocabulary, with
        20 % of the labels flipped (so the validation loss has a floor)."""

        def __init__(self, n: int, seed: int):
            g = torch.Generator().manual_seed(seed)
            self.x = torch.randint(0, 64, (n, 12), generator=g)
            flip = torch.rand(n, generator=g) < 0.2
            self.y = ((self.x[:, 0] >= 32) ^ flip).long()

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return {"input_ids": self.x[i], "labels": self.y[i]}

    args = TrainingArguments(
        output_dir=str(out / "tmp"),
        num_train_epochs=6,
        per_device_train_batch_size=16,
        learning_rate=1e-3,
        logging_steps=10,
        eval_strategy="epoch",
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        seed=0,
    )
    trainer = Trainer(
        model=BertForSequenceClassification(config),
        args=args,
        train_dataset=Tokens(480, 1),
        eval_dataset=Tokens(160, 2),
    )
    trainer.train()
    trainer.state.save_to_json(str(out / "trainer_state.json"))
    shutil.rmtree(out / "tmp", ignore_errors=True)


def _child_lightning(out: Path) -> None:
    import lightning as L
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    x, y = _data(1200, 20, noise=0.2, seed=11)
    xv, yv = _data(400, 20, noise=0.2, seed=12)

    class MLP(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1)
            )

        def training_step(self, batch, _):
            loss = torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])
            self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=True)
            return loss

        def validation_step(self, batch, _):
            loss = torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])
            self.log("val_loss", loss, prog_bar=True)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=3e-3)

    def loader(a, b, shuffle):
        return DataLoader(TensorDataset(torch.tensor(a), torch.tensor(b)), 64, shuffle=shuffle)

    trainer = L.Trainer(
        max_epochs=12,
        logger=L.pytorch.loggers.CSVLogger(str(out), name="", version=""),
        callbacks=[L.pytorch.callbacks.TQDMProgressBar()],
        enable_checkpointing=False,
        enable_model_summary=False,
        log_every_n_steps=5,
    )
    trainer.fit(MLP(), loader(x, y, True), loader(xv, yv, False))


def make_console(name: str) -> None:
    """Run the ``name`` training in a child process, its stdout and stderr going to
    ``train.out`` as a batch job's do; the child writes the structured log beside it."""
    out = HERE / "console" / name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with open(out / "train.out", "wb") as fh:
        subprocess.run(
            [sys.executable, "-u", __file__, "--child", name, str(out)],
            stdout=fh,
            stderr=subprocess.STDOUT,
            check=True,
        )
    for extra in ("hparams.yaml",):
        (out / extra).unlink(missing_ok=True)
    print(f"== console/{name}: {sorted(p.name for p in out.iterdir())}")


def _child(name: str, out: Path) -> None:
    if name.startswith("keras-verbose"):
        _child_keras(out, int(name[-1]))
    elif name == "hf-trainer":
        _child_hf(out)
    elif name == "lightning":
        _child_lightning(out)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        _child(argv[1], Path(argv[2]))
        return
    names = argv or list(SCENARIOS) + ["console"]
    for name in names:
        if name == "console":
            for c in CONSOLE:
                make_console(c)
            continue
        if name in CONSOLE:
            make_console(name)
            continue
        if name not in SCENARIOS:
            raise SystemExit(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}, console")
        _show(name, make(name))


if __name__ == "__main__":
    main(sys.argv[1:])
