#!/usr/bin/python3
"""The reference recipe in PyTorch, as "Dive into Deep Learning" runs it.

784-256-10 ReLU, weights N(0, 0.01^2), biases 0, softmax cross-entropy,
SGD lr 0.1, batch 256, a DataLoader with num_workers that decodes each image
(uint8 -> float / 255, as torchvision's ToTensor) in its worker processes,
training set reshuffled every epoch.  Reads the same IDX files as mlptrain.

Prints one JSON object per epoch and a last one describing the run (which
BLAS library PyTorch ran its matrix products on).  Run it with Debian's
python3-torch:  /usr/bin/python3 scripts/reference_torch.py --workers 4
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
from torch import nn


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndims = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 8:
        raise SystemExit(f"reference_torch: {path}: not an IDX file of bytes")
    dims = struct.unpack(">" + "I" * ndims, data[4:4 + 4 * ndims])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndims).reshape(dims)


def find(data_dir, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(data_dir, candidate)
        if os.path.exists(path):
            return path
    raise SystemExit(f"reference_torch: {name} not found in {data_dir}")


class Images(torch.utils.data.Dataset):
    """Decodes one image per item, as torchvision's ToTensor does."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        x = torch.from_numpy(self.images[i].astype(np.float32) / 255.0)
        return x.reshape(1, *self.images.shape[1:]), int(self.labels[i])


def blas_library():
    """The BLAS shared object mapped into this process, after a matmul."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    with open("/proc/self/maps") as maps:
        for line in maps:
            name = os.path.basename(line.split()[-1]).lower()
            if "blas" in name and ".so" in name:
                return os.path.realpath(line.split()[-1])
    return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get(
        "MLPTRAIN_DATA", "/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    import warnings
    warnings.filterwarnings("ignore", message="This DataLoader will create")
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    d = args.data
    train = Images(read_idx(find(d, "train-images-idx3-ubyte")),
                   read_idx(find(d, "train-labels-idx1-ubyte")))
    test = Images(read_idx(find(d, "t10k-images-idx3-ubyte")),
                  read_idx(find(d, "t10k-labels-idx1-ubyte")))
    train_iter = torch.utils.data.DataLoader(
        train, args.batch, shuffle=True, num_workers=args.workers)
    test_iter = torch.utils.data.DataLoader(
        test, args.batch, shuffle=False, num_workers=args.workers)

    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(),
                        nn.Linear(256, 10))
    for m in net:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.01)
            nn.init.zeros_(m.bias)
    loss = nn.CrossEntropyLoss(reduction="none")
    trainer = torch.optim.SGD(net.parameters(), lr=args.lr)
    total = 0.0
    for epoch in range(1, args.epochs + 1):
        t0 = time.monotonic()
        net.train()
        lsum, correct, n = 0.0, 0, 0
        for x, y in train_iter:
            y_hat = net(x)
            l = loss(y_hat, y)
            trainer.zero_grad()
            l.mean().backward()
            trainer.step()
            lsum += float(l.sum())
            correct += int((y_hat.argmax(1) == y).sum())
            n += len(y)
        t_train = time.monotonic() - t0
        net.eval()
        tc, tn = 0, 0
        with torch.no_grad():
            for x, y in test_iter:
                tc += int((net(x).argmax(1) == y).sum())
                tn += len(y)
        seconds = time.monotonic() - t0
        total += t_train
        print(json.dumps({"type": "epoch", "epoch": epoch,
                          "train_loss": lsum / n, "train_acc": correct / n,
                          "test_acc": tc / tn, "seconds": seconds,
                          "samples_per_s": n / t_train}), flush=True)
    print(json.dumps({"type": "end", "torch": torch.__version__,
                      "blas": blas_library(), "threads": args.threads,
                      "workers": args.workers, "epochs": args.epochs,
                      "samples_per_s": args.epochs * len(train) / total}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
