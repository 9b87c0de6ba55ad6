"""Train a small PyTorch network on the synthetic credit data and export it to ONNX.

Writes, beside this file:

* ``credit.csv`` -- the synthetic credit scenario (``rai-audit datasets export credit``),
  with a ``split`` column: the rows marked ``train`` trained the network, the audit
  evaluates the rows marked ``test``;
* ``model.onnx`` -- the network: one float tensor ``features`` of shape (rows, 7) in, the
  numeric columns in the order of ``FEATURES`` (the order of ``data.features`` in
  ``audit.yaml``), and ``P(approved)`` out (a sigmoid), which is what rai-audit reads
  from a graph without class labels.

The network imputes and scales its own inputs (training means and standard deviations are
constants in the graph), so the audit feeds it the raw columns. Then::

    rai-audit run audit.yaml --model-file model.onnx

Needs ``torch`` (and ``onnxscript`` for its exporter), which rai-audit does not install.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from audit.datasets import make_credit

HERE = Path(__file__).resolve().parent
FEATURES = [
    "age",
    "income",
    "debt_ratio",
    "credit_history_years",
    "employment_years",
    "late_payments",
    "loan_amount",
]
N_ROWS, TRAIN_SHARE, SEED = 5000, 0.7, 0
EPOCHS, LEARNING_RATE = 300, 0.02


class CreditNet(torch.nn.Module):
    """Mean-impute, standardise, then a 7-16-1 MLP with a sigmoid: P(approved)."""

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(len(mean), 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)
        )

    def logit(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.where(torch.isnan(x), self.mean, x)  # a missing value becomes the mean
        return self.layers((x - self.mean) / self.std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logit(x))


def main() -> None:
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    frame = make_credit(N_ROWS, seed=SEED)
    rng = np.random.default_rng(SEED)
    is_train = rng.random(len(frame)) < TRAIN_SHARE
    frame["split"] = np.where(is_train, "train", "test")
    frame.to_csv(HERE / "credit.csv", index=False)

    X = frame[FEATURES].to_numpy(dtype=np.float32)
    y = frame["approved"].to_numpy(dtype=np.float32)
    X_train, y_train = torch.from_numpy(X[is_train]), torch.from_numpy(y[is_train])
    model = CreditNet(np.nanmean(X[is_train], axis=0), np.nanstd(X[is_train], axis=0))
    optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_function = torch.nn.BCEWithLogitsLoss()
    for _ in range(EPOCHS):  # full batch: 3,500 rows
        optimiser.zero_grad()
        loss = loss_function(model.logit(X_train).squeeze(1), y_train)
        loss.backward()
        optimiser.step()

    model.eval()
    with torch.no_grad():
        p_test = model(torch.from_numpy(X[~is_train])).squeeze(1).numpy()
    accuracy = float(((p_test >= 0.5) == (y[~is_train] == 1)).mean())
    print(f"trained on {is_train.sum():,} rows; training loss {loss.item():.4f}")
    print(f"test accuracy {accuracy:.4f} on {(~is_train).sum():,} rows (P >= 0.5)")

    torch.onnx.export(
        model,
        (torch.from_numpy(X[:2]),),
        HERE / "model.onnx",
        input_names=["features"],
        output_names=["probability"],
        dynamic_shapes={"x": {0: torch.export.Dim("rows")}},
        external_data=False,  # rai-audit reads the weights from the .onnx file only
        verbose=False,
    )
    # The exported graph must compute what the network does (onnxruntime is what rai-audit runs).
    import onnxruntime

    session = onnxruntime.InferenceSession(HERE / "model.onnx", providers=["CPUExecutionProvider"])
    (p_onnx,) = session.run(["probability"], {"features": X[~is_train]})
    difference = float(np.abs(p_onnx.ravel() - p_test).max())
    print(f"onnxruntime vs torch on the test rows: max |difference| {difference:.1e}")
    print(f"wrote {HERE / 'credit.csv'} and {HERE / 'model.onnx'}")


if __name__ == "__main__":
    main()
