"""Retrain the bundled digits models deterministically: ``python datasets/models/train_digits.py``.

Writes ``digits_mlp.npz`` and ``digits_cnn.npz`` (float32 ``state_dict`` arrays) beside this
file and prints train/test accuracy.  Determinism: one CPU thread, ``torch.manual_seed(0)``,
a seeded shuffle, full float32; the same torch build gives the same weights bit for bit.
Recipe: Adam (lr 1e-2 for the MLP, 5e-3 for the CNN), batch 64, 40 epochs, cross-entropy.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from npulab.datasets import digits_architecture, load_digits

HERE = Path(__file__).resolve().parent
RECIPE = {"mlp": dict(lr=1e-2, epochs=40), "cnn": dict(lr=5e-3, epochs=40)}


def accuracy(model, x, y) -> float:
    with torch.no_grad():
        return float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())


def train(kind: str, seed: int = 0):
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    x_train, y_train, x_test, y_test = load_digits()
    model = digits_architecture(kind)
    opt = torch.optim.Adam(model.parameters(), lr=RECIPE[kind]["lr"])
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    gen = torch.Generator().manual_seed(seed)
    for _epoch in range(RECIPE[kind]["epochs"]):
        model.train()
        order = torch.randperm(len(yt), generator=gen)
        for i in range(0, len(order), 64):
            idx = order[i : i + 64]
            opt.zero_grad()
            loss_fn(model(xt[idx]), yt[idx]).backward()
            opt.step()
    model.eval()
    return model, accuracy(model, x_train, y_train), accuracy(model, x_test, y_test)


def main():
    for kind in ("mlp", "cnn"):
        model, acc_train, acc_test = train(kind)
        np.savez(HERE / f"digits_{kind}.npz", **{k: v.detach().numpy() for k, v in model.state_dict().items()})
        print(f"digits_{kind}: train {100 * acc_train:.2f}%  test {100 * acc_test:.2f}%")


if __name__ == "__main__":
    main()
