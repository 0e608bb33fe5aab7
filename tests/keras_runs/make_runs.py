"""Train the 29 tiny real Keras runs of this folder, each with a deliberate truth.

Each run saves <name>/history.json (``json.dump(history.history)``) and
<name>/training.csv (CSVLogger; not committed). The intended truth goes to
truth.json; ``curve_label`` there was added by hand after looking at the curves
(four "healthy" runs came out mildly overfitting and were relabelled by what the
curves show). Data are generated (blobs, XOR, spirals, 8x8 images, regression),
never downloaded; seeds are fixed. About 15 minutes on 2 CPU cores.

Usage (from the repository root)::

    .venv/bin/python tests/keras_runs/make_runs.py [name ...]   # no names: all runs
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np
from keras import layers

OUT = os.path.dirname(os.path.abspath(__file__))
TRUTH = os.path.join(OUT, "truth.json")


# ---------------------------------------------------------------- data
def blobs(n, d=10, k=4, spread=1.0, seed=0, label_noise=0.0):
    r = np.random.default_rng(seed)
    centers = r.normal(0, 3.0, size=(k, d))
    y = r.integers(0, k, n)
    x = centers[y] + r.normal(0, spread, size=(n, d))
    if label_noise:
        flip = r.random(n) < label_noise
        y = np.where(flip, r.integers(0, k, n), y)
    return x.astype("float32"), y


def xor(n, noise=0.25, seed=0, label_noise=0.0):
    r = np.random.default_rng(seed)
    x = r.uniform(-1, 1, size=(n, 2))
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(int)
    x = x + r.normal(0, noise, size=x.shape)
    if label_noise:
        flip = r.random(n) < label_noise
        y = np.where(flip, 1 - y, y)
    return x.astype("float32"), y


def spirals(n, noise=0.15, seed=0, turns=1.5):
    r = np.random.default_rng(seed)
    y = r.integers(0, 2, n)
    t = r.uniform(0.1, 1.0, n)
    ang = t * turns * 2 * np.pi + np.pi * y
    x = np.stack([t * np.cos(ang), t * np.sin(ang)], 1)
    x = x + r.normal(0, noise * t[:, None] * 0.5 + 0.02, size=x.shape)
    return (x * 2).astype("float32"), y


def linreg(n, d=8, noise=0.3, scale=1.0, seed=0, nonlin=True):
    r = np.random.default_rng(seed)
    w = r.normal(0, 1, d)
    x = r.normal(0, 1, size=(n, d))
    y = x @ w
    if nonlin:
        y = y + 0.5 * np.sin(2 * x[:, 0]) + 0.3 * x[:, 1] * x[:, 2]
    y = (y + r.normal(0, noise, n)) * scale
    return x.astype("float32"), y.astype("float32")


def images8(n, noise=0.5, seed=0):
    """4 classes of 8x8 patterns: horizontal bar, vertical bar, diagonal, ring."""
    r = np.random.default_rng(seed)
    y = r.integers(0, 4, n)
    imgs = np.zeros((n, 8, 8), "float32")
    for i in range(n):
        p = r.integers(1, 7)
        if y[i] == 0:
            imgs[i, p, :] = 1
        elif y[i] == 1:
            imgs[i, :, p] = 1
        elif y[i] == 2:
            s = r.integers(-2, 3)
            for j in range(8):
                if 0 <= j + s < 8:
                    imgs[i, j, j + s] = 1
        else:
            a, b = r.integers(1, 3), r.integers(5, 7)
            imgs[i, a, a : b + 1] = imgs[i, b, a : b + 1] = 1
            imgs[i, a : b + 1, a] = imgs[i, a : b + 1, b] = 1
    imgs = imgs + r.normal(0, noise, imgs.shape).astype("float32")
    return imgs[..., None], y


def split(x, y, n_train, seed=1):
    r = np.random.default_rng(seed)
    idx = r.permutation(len(x))
    tr, va = idx[:n_train], idx[n_train:]
    return x[tr], y[tr], x[va], y[va]


# ---------------------------------------------------------------- models
def mlp(inp, out, hidden=(64, 64), dropout=0.0, act="relu"):
    m = keras.Sequential([keras.Input((inp,))])
    for h in hidden:
        m.add(layers.Dense(h, activation=act))
        if dropout:
            m.add(layers.Dropout(dropout))
    m.add(layers.Dense(out, activation=None if out == 1 else "softmax"))
    return m


def convnet(filters=16, dense=32, dropout=0.0):
    m = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            layers.Conv2D(filters, 3, activation="relu", padding="same"),
            layers.MaxPooling2D(),
            layers.Conv2D(filters * 2, 3, activation="relu", padding="same"),
            layers.Flatten(),
            layers.Dense(dense, activation="relu"),
        ]
    )
    if dropout:
        m.add(layers.Dropout(dropout))
    m.add(layers.Dense(4, activation="softmax"))
    return m


CLS = "sparse_categorical_crossentropy"


def clsfit(model, opt, data, epochs, batch, callbacks=()):
    model.compile(optimizer=opt, loss=CLS, metrics=["accuracy"])
    xtr, ytr, xva, yva = data
    return model, dict(
        x=xtr,
        y=ytr,
        validation_data=(xva, yva),
        epochs=epochs,
        batch_size=batch,
        callbacks=list(callbacks),
    )


def regfit(model, opt, data, epochs, batch, callbacks=()):
    model.compile(optimizer=opt, loss="mse", metrics=["mae"])
    xtr, ytr, xva, yva = data
    return model, dict(
        x=xtr,
        y=ytr,
        validation_data=(xva, yva),
        epochs=epochs,
        batch_size=batch,
        callbacks=list(callbacks),
    )


# ---------------------------------------------------------------- runs
RUNS = {}


def run(name, truth, note):
    def deco(f):
        RUNS[name] = (truth, note, f)
        return f

    return deco


# ---- healthy
@run("h_blobs_adam_b32", "healthy", "MLP 64x64, 4k blobs (overlapping), Adam default, bs32, 30 ep")
def _():
    x, y = blobs(5000, spread=2.5)
    return clsfit(mlp(10, 4), "adam", split(x, y, 4000), 30, 32)


@run("h_spirals_dropout_b64", "healthy", "MLP 128x128 dropout .2, 3k spirals, Adam, bs64, 60 ep")
def _():
    x, y = spirals(4000)
    return clsfit(mlp(2, 2, (128, 128), dropout=0.2), "adam", split(x, y, 3000), 60, 64)


@run("h_xor_b16", "healthy", "MLP 32x32, 3k noisy XOR, Adam, bs16, 30 ep")
def _():
    x, y = xor(4000)
    return clsfit(mlp(2, 2, (32, 32)), "adam", split(x, y, 3000), 30, 16)


@run("h_blobs_b256", "healthy", "MLP 64x64, 4k blobs, Adam, bs256, 60 ep")
def _():
    x, y = blobs(5000, spread=2.5, seed=3)
    return clsfit(mlp(10, 4), "adam", split(x, y, 4000), 60, 256)


@run("h_spirals_sgd_momentum", "healthy", "MLP 64x64, spirals, SGD lr .05 mom .9, bs32, 60 ep")
def _():
    x, y = spirals(4000, seed=2)
    opt = keras.optimizers.SGD(0.05, momentum=0.9)
    return clsfit(mlp(2, 2, (64, 64)), opt, split(x, y, 3000), 60, 32)


@run("h_reducelr", "healthy", "MLP 64x64 spirals, Adam 3e-3 + ReduceLROnPlateau(p=4,f=.3), 80 ep")
def _():
    x, y = spirals(4000, seed=4)
    cb = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=4, min_lr=1e-5)
    return clsfit(mlp(2, 2, (64, 64)), keras.optimizers.Adam(3e-3), split(x, y, 3000), 80, 64, [cb])


@run("h_earlystop", "healthy", "MLP 128x128 on 600-sample blobs, Adam, EarlyStopping(p=5,restore)")
def _():
    x, y = blobs(3000, d=20, spread=3.5, seed=5)
    cb = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    return clsfit(mlp(20, 4, (128, 128)), "adam", split(x, y, 600), 100, 32, [cb])


@run(
    "h_regression_mse", "healthy", "MLP 32x32, 3k regression (normalised y), Adam, MSE, bs32, 40 ep"
)
def _():
    x, y = linreg(4000)
    y = (y - y.mean()) / y.std()
    return regfit(mlp(8, 1, (32, 32)), "adam", split(x, y, 3000), 40, 32)


@run("h_conv8x8", "healthy", "small CNN, 3k noisy 8x8 images, Adam, bs64, 20 ep")
def _():
    x, y = images8(4000, noise=0.6)
    return clsfit(convnet(), "adam", split(x, y, 3000), 20, 64)


@run("h_conv_dropout_b128", "healthy", "CNN + dropout .3, 8k noisy 8x8 images, Adam, bs128, 25 ep")
def _():
    x, y = images8(10000, noise=0.6, seed=21)
    return clsfit(convnet(dropout=0.3), "adam", split(x, y, 8000), 25, 128)


@run("h_regression_b128", "healthy", "MLP 32x32, 8k regression (normalised y), Adam, bs128, 50 ep")
def _():
    x, y = linreg(10000, seed=22)
    y = (y - y.mean()) / y.std()
    return regfit(mlp(8, 1, (32, 32)), "adam", split(x, y, 8000), 50, 128)


@run(
    "h_blobs_hard_dropout",
    "healthy",
    "MLP 64x64 dropout .3, 6k overlapping blobs (spread 5), Adam, bs64, 25 ep",
)
def _():
    x, y = blobs(8000, spread=5.0, seed=23)
    return clsfit(mlp(10, 4, (64, 64), dropout=0.3), "adam", split(x, y, 6000), 25, 64)


# ---- overfitting
@run(
    "o_blobs_tiny_big", "overfitting", "MLP 512x512x512, 150 overlapping blobs (d=20), Adam, 100 ep"
)
def _():
    x, y = blobs(2150, d=20, spread=4.0, seed=6)
    return clsfit(mlp(20, 4, (512, 512, 512)), "adam", split(x, y, 150), 100, 16)


@run("o_spirals_tiny_big", "overfitting", "MLP 256x256x256, 150 noisy spirals, Adam, 100 ep")
def _():
    x, y = spirals(2150, noise=0.6, seed=7)
    return clsfit(mlp(2, 2, (256, 256, 256)), "adam", split(x, y, 150), 100, 16)


@run(
    "o_regression_tiny",
    "overfitting",
    "MLP 256x256, 100-sample regression d=8 noise 1, Adam, 100 ep",
)
def _():
    x, y = linreg(2100, noise=1.0, seed=8)
    y = (y - y.mean()) / y.std()
    return regfit(mlp(8, 1, (256, 256)), "adam", split(x, y, 100), 100, 16)


@run("o_conv_tiny", "overfitting", "CNN 32f/128d, 120 very noisy 8x8 images, Adam, 80 ep")
def _():
    x, y = images8(2120, noise=1.0, seed=9)
    return clsfit(convnet(32, 128), "adam", split(x, y, 120), 80, 16)


@run(
    "o_xor_labelnoise", "overfitting", "MLP 256x256x256, 200 XOR with 25% label noise, Adam, 100 ep"
)
def _():
    x, y = xor(2200, seed=10, label_noise=0.25)
    return clsfit(mlp(2, 2, (256, 256, 256)), "adam", split(x, y, 200), 100, 16)


# ---- divergence
@run("d_sgd_lr5_blobs", "divergence", "MLP 64x64 blobs, SGD lr=5, 30 ep")
def _():
    x, y = blobs(3000, spread=2.5, seed=11)
    return clsfit(mlp(10, 4), keras.optimizers.SGD(5.0), split(x, y, 2000), 30, 32)


@run(
    "d_adam_lr1_reg_unnorm",
    "divergence",
    "MLP 64x64 regression y*1000 (unnormalised), Adam lr=1, 30 ep",
)
def _():
    x, y = linreg(3000, scale=1000.0, seed=12)
    return regfit(mlp(8, 1, (64, 64)), keras.optimizers.Adam(1.0), split(x, y, 2000), 30, 32)


@run(
    "d_sgd_nan_reg",
    "divergence",
    "MLP 64x64 regression y*10 (unnormalised), SGD lr=0.02 bs500 -> inf -> NaN, 20 ep",
)
def _():
    x, y = linreg(3000, scale=10.0, seed=13)
    return regfit(mlp(8, 1, (64, 64)), keras.optimizers.SGD(0.02), split(x, y, 2000), 20, 500)


@run(
    "d_sgd_b4_blobs",
    "divergence",
    "MLP 32 blobs (800 train), SGD lr=0.15 bs=4: loss climbs erratically, 15 ep",
)
def _():
    x, y = blobs(3000, spread=2.5, seed=11)
    return clsfit(mlp(10, 4, (32,)), keras.optimizers.SGD(0.15), split(x, y, 800), 15, 4)


# ---- underfitting / not learning
@run("u_lr1e-7", "underfitting", "MLP 64x64 blobs, Adam lr=1e-7, 30 ep")
def _():
    x, y = blobs(4000, spread=2.5, seed=14)
    return clsfit(mlp(10, 4), keras.optimizers.Adam(1e-7), split(x, y, 3000), 30, 32)


@run("u_one_unit", "underfitting", "MLP with a single hidden unit on spirals, Adam, 40 ep")
def _():
    x, y = spirals(4000, seed=15)
    return clsfit(mlp(2, 2, (1,)), "adam", split(x, y, 3000), 40, 32)


@run("u_random_labels", "underfitting", "small MLP 16, 4k blobs with shuffled labels, Adam, 30 ep")
def _():
    x, y = blobs(5000, spread=2.5, seed=16)
    y = np.random.default_rng(0).permutation(y)
    return clsfit(mlp(10, 4, (16,)), "adam", split(x, y, 4000), 30, 64)


# ---- undertrained
@run("ut_sgd_smalllr_12ep", "undertrained", "MLP 64x64 blobs, SGD lr=2e-3, 12 ep")
def _():
    x, y = blobs(4000, spread=2.5, seed=17)
    return clsfit(mlp(10, 4), keras.optimizers.SGD(2e-3), split(x, y, 3000), 12, 32)


@run("ut_adam_1e-4_15ep", "undertrained", "CNN 8x8 images, Adam lr=1e-4, bs64, 15 ep")
def _():
    x, y = images8(4000, noise=0.6, seed=18)
    return clsfit(convnet(), keras.optimizers.Adam(1e-4), split(x, y, 3000), 15, 64)


# ---- noisy
@run("n_sgd_b2_xor", "noisy", "MLP 32x32 XOR, SGD lr=0.3 bs=2, 30 ep")
def _():
    x, y = xor(2000, seed=19)
    return clsfit(mlp(2, 2, (32, 32)), keras.optimizers.SGD(0.3), split(x, y, 1000), 30, 2)


@run("n_sgd_b4_reg", "noisy", "MLP 32x32 regression (normalised), SGD lr=0.1 bs=4, 30 ep")
def _():
    x, y = linreg(2500, seed=20)
    y = (y - y.mean()) / y.std()
    return regfit(mlp(8, 1, (32, 32)), keras.optimizers.SGD(0.1), split(x, y, 1500), 30, 4)


@run("n_spirals_adam_lr01", "noisy", "MLP 64x64 spirals, Adam lr=0.1 (too high), bs64, 20 ep")
def _():
    x, y = spirals(3000, seed=2)
    return clsfit(mlp(2, 2, (64, 64)), keras.optimizers.Adam(0.1), split(x, y, 2000), 20, 64)


def tofloat(v):
    return [float(a) for a in v]


def main(names):
    truth = json.load(open(TRUTH)) if os.path.exists(TRUTH) else {}
    for name in names:
        label, note, f = RUNS[name]
        keras.utils.set_random_seed(42)
        keras.backend.clear_session()
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        t0 = time.time()
        model, kw = f()
        kw["callbacks"] = kw["callbacks"] + [
            keras.callbacks.CSVLogger(os.path.join(d, "training.csv"))
        ]
        hist = model.fit(verbose=0, **kw)
        h = {k: tofloat(v) for k, v in hist.history.items()}
        with open(os.path.join(d, "history.json"), "w") as fh:
            json.dump(h, fh)
        truth[name] = {"intended": label, "setup": note}
        print(
            f"{name:26s} {label:12s} {len(h['loss']):3d} ep {time.time() - t0:5.1f}s "
            f"loss {h['loss'][0]:.3g}->{h['loss'][-1]:.3g} val {h['val_loss'][0]:.3g}->{h['val_loss'][-1]:.3g}",
            flush=True,
        )
    with open(TRUTH, "w") as fh:
        json.dump(truth, fh, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:] or list(RUNS))
