#!/usr/bin/python3
"""The reference recipe in PyTorch, as "Dive into Deep Learning" runs it.

By default: 784-256-10 ReLU, weights N(0, 0.01^2), biases 0, softmax
cross-entropy, SGD lr 0.1, batch 256, a DataLoader with num_workers that
decodes each image (uint8 -> float / 255, as torchvision's ToTensor) in its
worker processes, training set reshuffled every epoch.  Reads the same IDX
files as mlptrain.

Options named as mlptrain's set the rest of a recipe, so `make bench` can
run mlptrain's best recipe here at equal epochs: --hidden, --act,
--optimizer sgd|adam|adamw (torch.optim's SGD, Adam, AdamW) with --momentum,
--nesterov, --beta1, --beta2, --eps, --weight-decay (adamw: 0.01 when not
given; sgd and adam: L2 added to the gradient), --schedule
constant|step|cosine|onecycle with --warmup, --lr-min, --lr-step,
--lr-gamma (the rate set per batch by a LambdaLR computing mlptrain's
formulas, lr_at below), --clip-grad NORM (torch.nn.utils.clip_grad_norm_
after each backward: the gradient of every parameter scaled by
NORM / (norm + 1e-6) when that is below 1), --dropout (after each hidden
activation),
--input-dropout, --label-smoothing, --init normal|xavier|he (normal:
--init-std), --augment shift=K,flip, --val N (N training samples held out,
chosen by the seed, reported as val_loss/val_acc), --limit-train,
--limit-test.  The held-out samples and the random streams (weights,
shuffling, dropout) are PyTorch's, not mlptrain's: figures agree within
noise, not digit for digit.

PyTorch at its best (`make bench` measures it so): --in-memory keeps the
data set in memory as tensors (uint8, as the files hold it) and skips the
DataLoader: a permutation per epoch (torch.randperm), each batch gathered
by index and scaled x/255 as a float tensor; --autocast bf16 runs the
forward and the loss under torch.autocast("cpu", dtype=torch.bfloat16),
PyTorch's mixed precision (bf16 products on oneDNN, f32 weights, gradients
and optimizer).  --threads sets torch's intra-op threads; the BLAS library
keeps its own pool (OPENBLAS_NUM_THREADS).  --in-memory takes no
--augment (that is the DataLoader's per-image work).

Prints one JSON object per epoch and a last one describing the run (which
BLAS library PyTorch ran its matrix products on).  Run it with Debian's
python3-torch:  /usr/bin/python3 scripts/reference_torch.py --workers 4
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

# numpy and torch are imported in main(), so the pure parts (lr_at,
# parse_hidden, parse_augment, the argument parser) load without them.
np = torch = nn = None


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


def make_images_class():
    class Images(torch.utils.data.Dataset):
        """Decodes one image per item, as torchvision's ToTensor does;
        with shift K, moves it by up to K pixels each way (zero fill), with
        flip, mirrors it left-right with probability 1/2 (training only).
        The draws come from torch's generator, which DataLoader seeds per
        worker from the seed."""

        def __init__(self, images, labels, shift=0, flip=False):
            self.images, self.labels = images, labels
            self.shift, self.flip = shift, flip

        def __len__(self):
            return len(self.labels)

        def __getitem__(self, i):
            img = self.images[i]
            if self.shift or self.flip:
                img = augment(img, self.shift, self.flip)
            x = torch.from_numpy(img.astype(np.float32) / 255.0)
            return x.reshape(1, *self.images.shape[1:]), int(self.labels[i])

    return Images


def augment(img, shift, flip):
    """img moved by (dy, dx) in [-shift, shift] with zero fill, then
    mirrored left-right with probability 1/2 when flip."""
    if shift:
        dy, dx = (int(v) for v in torch.randint(-shift, shift + 1, (2,)))
        out = np.zeros_like(img)
        h, w = img.shape
        out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            img[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
        img = out
    if flip and int(torch.randint(0, 2, (1,))):
        img = img[:, ::-1]
    return np.ascontiguousarray(img)


def blas_library():
    """The BLAS shared object mapped into this process, after a matmul."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    with open("/proc/self/maps") as maps:
        for line in maps:
            name = os.path.basename(line.split()[-1]).lower()
            if "blas" in name and ".so" in name:
                return os.path.realpath(line.split()[-1])
    return "unknown"


def epochs_to_steps(epochs, per_epoch):
    """Epochs as steps: the nearest count, at least 1 for a count > 0."""
    if epochs <= 0:
        return 0
    return max(1, int(math.floor(epochs * per_epoch + 0.5)))


def anneal(a, b, x):
    """From a at x = 0 to b at x = 1 along half a cosine."""
    return b + (a - b) * (1.0 + math.cos(math.pi * x)) / 2.0


def lr_at(step, kind, lr, steps_per_epoch, total_steps, warmup=0.0,
          lr_min=0.0, lr_step=0.0, lr_gamma=0.1):
    """The rate of training step `step` (0 at the run's first batch), as
    mlptrain's schedule computes it (include/mlptrain/schedule.h):
    W = round(warmup epochs), T = total_steps,
      warm-up   step < W (not onecycle): lr (step + 1) / W
      constant  lr
      step      lr gamma^floor(step / S), S = round(lr_step epochs)
      cosine    lr_min + (lr - lr_min)(1 + cos(pi (step - W) / (T - W))) / 2
      onecycle  U = W, or round(0.3 T) without a warm-up: from lr / 25 up
                to lr at step U - 1, then down to lr_min at step T - 1,
                both halves cosine.
    Steps at or past T keep the last step's rate."""
    t = total_steps
    w = epochs_to_steps(warmup, steps_per_epoch)
    step = min(step, t - 1)
    if kind == "onecycle":
        u = w if w > 0 else epochs_to_steps(0.3, t)
        if step + 1 < u:
            return anneal(lr / 25.0, lr, step / (u - 1))
        if t == u:
            return lr
        return anneal(lr, lr_min, (step + 1 - u) / (t - u))
    if step < w:
        return lr * (step + 1) / w
    if kind == "step":
        return lr * lr_gamma ** (step // epochs_to_steps(lr_step,
                                                         steps_per_epoch))
    if kind == "cosine":
        return anneal(lr, lr_min, (step - w) / (t - w))
    return lr


def parse_hidden(s):
    """mlptrain's --hidden: widths split by ',' or ':'; '' or none: no
    hidden layer."""
    if s.strip().lower() in ("", "none"):
        return []
    try:
        widths = [int(v) for v in s.replace(":", ",").split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad width list '{s}'")
    if any(v < 1 for v in widths):
        raise argparse.ArgumentTypeError(f"a width below 1 in '{s}'")
    return widths


def parse_augment(s):
    """mlptrain's --augment: shift=K and/or flip, or none -> (K, flip)."""
    shift, flip = 0, False
    if s.strip().lower() in ("", "none"):
        return shift, flip
    for item in s.split(","):
        if item == "flip":
            flip = True
        elif item.startswith("shift=") and item[6:].isdigit():
            shift = int(item[6:])
        else:
            raise argparse.ArgumentTypeError(
                f"'{item}' in '{s}': expected shift=K or flip")
    return shift, flip


def unit(s):
    v = float(s)
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"{s} is not in [0, 1)")
    return v


def parser():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get(
        "MLPTRAIN_DATA", "/usr/share/datasets/fashion-mnist"))
    ap.add_argument("-j", "--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("-e", "--epochs", type=int, default=10)
    ap.add_argument("-b", "--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("-s", "--seed", type=int, default=1)
    ap.add_argument("--hidden", type=parse_hidden, default=[256])
    ap.add_argument("--act", choices=("relu", "sigmoid", "tanh"),
                    default="relu")
    ap.add_argument("--init", choices=("normal", "xavier", "he"),
                    default="normal")
    ap.add_argument("--init-std", type=float, default=0.01)
    ap.add_argument("--dropout", type=unit, default=0.0)
    ap.add_argument("--input-dropout", type=unit, default=0.0)
    ap.add_argument("--optimizer", choices=("sgd", "adam", "adamw"),
                    default="sgd")
    ap.add_argument("--momentum", type=unit, default=0.0)
    ap.add_argument("--nesterov", type=int, nargs="?", const=1, default=0,
                    choices=(0, 1))
    ap.add_argument("--beta1", type=unit, default=0.9)
    ap.add_argument("--beta2", type=unit, default=0.999)
    ap.add_argument("--eps", type=float, default=1e-8)
    ap.add_argument("--weight-decay", type=float, default=None,
                    help="[0; adamw 0.01]")
    ap.add_argument("--schedule",
                    choices=("constant", "step", "cosine", "onecycle"),
                    default="constant")
    ap.add_argument("--warmup", type=float, default=0.0)
    ap.add_argument("--lr-min", type=float, default=0.0)
    ap.add_argument("--lr-step", type=float, default=0.0)
    ap.add_argument("--lr-gamma", type=float, default=0.1)
    ap.add_argument("--label-smoothing", type=unit, default=0.0)
    ap.add_argument("--clip-grad", type=float, default=0.0,
                    help="largest 2-norm of a step's gradient; 0: none")
    ap.add_argument("--augment", type=parse_augment, default=(0, False))
    ap.add_argument("--val", type=int, default=0)
    ap.add_argument("--limit-train", type=int, default=0)
    ap.add_argument("--limit-test", "-n", type=int, default=0)
    ap.add_argument("--in-memory", action="store_true",
                    help="tensors in memory, no DataLoader")
    ap.add_argument("--autocast", choices=("off", "bf16"), default="off",
                    help="bf16: torch.autocast on the CPU")
    return ap


def check(ap, args):
    """Usage errors mlptrain also refuses, before any data is read."""
    if args.nesterov and args.momentum == 0:
        ap.error("--nesterov needs --momentum > 0")
    if args.schedule == "step" and not args.lr_step > 0:
        ap.error("--schedule step needs --lr-step E, the epochs between cuts")
    if args.lr_min > args.lr:
        ap.error(f"--lr-min {args.lr_min} is above --lr {args.lr}")
    if not args.clip_grad >= 0 or math.isinf(args.clip_grad):
        ap.error(f"--clip-grad {args.clip_grad} is not a norm >= 0")
    if args.val < 0 or args.limit_train < 0 or args.limit_test < 0:
        ap.error("--val, --limit-train, --limit-test take N >= 0")
    if args.weight_decay is None:
        args.weight_decay = 0.01 if args.optimizer == "adamw" else 0.0
    if args.in_memory and args.augment != (0, False):
        ap.error("--in-memory takes no --augment (the DataLoader's work)")


def build_net(args, width_in, nclasses):
    act = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[args.act]
    layers = [nn.Flatten()]
    if args.input_dropout > 0:
        layers.append(nn.Dropout(args.input_dropout))
    w = width_in
    for h in args.hidden:
        layers += [nn.Linear(w, h), act()]
        if args.dropout > 0:
            layers.append(nn.Dropout(args.dropout))
        w = h
    layers.append(nn.Linear(w, nclasses))
    net = nn.Sequential(*layers)
    for m in net:
        if isinstance(m, nn.Linear):
            if args.init == "xavier":     # sqrt(2 / (fan_in + fan_out))
                nn.init.xavier_normal_(m.weight)
            elif args.init == "he":       # sqrt(2 / fan_in)
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            else:
                nn.init.normal_(m.weight, std=args.init_std)
            nn.init.zeros_(m.bias)
    return net


def make_optimizer(args, params):
    if args.optimizer == "sgd":
        return torch.optim.SGD(params, lr=args.lr, momentum=args.momentum,
                               nesterov=bool(args.nesterov),
                               weight_decay=args.weight_decay)
    cls = torch.optim.Adam if args.optimizer == "adam" else torch.optim.AdamW
    return cls(params, lr=args.lr, betas=(args.beta1, args.beta2),
               eps=args.eps, weight_decay=args.weight_decay)


def autocast(args):
    """The forward's precision: torch.autocast for --autocast bf16."""
    if args.autocast == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    import contextlib
    return contextlib.nullcontext()


def evaluate(net, loader, loss, args):
    """(mean loss, accuracy) over the loader, without dropout."""
    net.eval()
    lsum, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            with autocast(args):
                y_hat = net(x)
                lsum += float(loss(y_hat.float(), y).sum())
            correct += int((y_hat.argmax(1) == y).sum())
            n += len(y)
    return lsum / n, correct / n


class InMemory:
    """Batches of a split held as tensors: images (n, rows, cols) uint8,
    labels int64; shuffled by a permutation per epoch when `shuffle`.  Each
    batch is gathered by index and scaled x/255, as the DataLoader's
    ToTensor would, without a worker or a per-image call."""

    def __init__(self, images, labels, batch, shuffle, generator=None):
        self.x = torch.from_numpy(np.ascontiguousarray(images))
        self.y = torch.from_numpy(labels.astype(np.int64))
        self.batch, self.shuffle, self.g = batch, shuffle, generator

    def __len__(self):
        return (len(self.y) + self.batch - 1) // self.batch

    def __iter__(self):
        n = len(self.y)
        order = torch.randperm(n, generator=self.g) if self.shuffle else None
        for k in range(0, n, self.batch):
            idx = order[k:k + self.batch] if order is not None else \
                slice(k, k + self.batch)
            yield self.x[idx].float().div_(255.0), self.y[idx]


def main():
    global np, torch, nn
    ap = parser()
    args = ap.parse_args()
    check(ap, args)

    import numpy
    import torch as torch_module
    np, torch, nn = numpy, torch_module, torch_module.nn
    import warnings
    warnings.filterwarnings("ignore", message="This DataLoader will create")
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    d = args.data
    tr_x = read_idx(find(d, "train-images-idx3-ubyte"))
    tr_y = read_idx(find(d, "train-labels-idx1-ubyte"))
    te_x = read_idx(find(d, "t10k-images-idx3-ubyte"))
    te_y = read_idx(find(d, "t10k-labels-idx1-ubyte"))
    if args.limit_train:
        tr_x, tr_y = tr_x[:args.limit_train], tr_y[:args.limit_train]
    if args.limit_test:
        te_x, te_y = te_x[:args.limit_test], te_y[:args.limit_test]
    nclasses = int(max(tr_y.max(), te_y.max())) + 1
    Images = make_images_class()
    val_iter = None
    if args.val:
        if args.val >= len(tr_y):
            raise SystemExit(f"reference_torch: --val {args.val} leaves no "
                             f"training samples of {len(tr_y)}")
        g = torch.Generator().manual_seed(args.seed)
        perm = torch.randperm(len(tr_y), generator=g).numpy()
        held, kept = perm[:args.val], np.sort(perm[args.val:])
        if args.in_memory:
            val_iter = InMemory(tr_x[held], tr_y[held], args.batch, False)
        else:
            val_iter = torch.utils.data.DataLoader(
                Images(tr_x[held], tr_y[held]), args.batch, shuffle=False,
                num_workers=args.workers)
        tr_x, tr_y = tr_x[kept], tr_y[kept]
    shift, flip = args.augment
    if args.in_memory:
        g = torch.Generator().manual_seed(args.seed)
        train_iter = InMemory(tr_x, tr_y, args.batch, True, g)
        test_iter = InMemory(te_x, te_y, args.batch, False)
    else:
        train_iter = torch.utils.data.DataLoader(
            Images(tr_x, tr_y, shift, flip), args.batch, shuffle=True,
            num_workers=args.workers)
        test_iter = torch.utils.data.DataLoader(
            Images(te_x, te_y), args.batch, shuffle=False,
            num_workers=args.workers)
    ntrain = len(tr_y)

    net = build_net(args, tr_x.shape[1] * tr_x.shape[2], nclasses)
    loss = nn.CrossEntropyLoss(reduction="none",
                               label_smoothing=args.label_smoothing)
    plain = nn.CrossEntropyLoss(reduction="none")
    trainer = make_optimizer(args, net.parameters())
    per_epoch = len(train_iter)
    total_steps = per_epoch * args.epochs
    if epochs_to_steps(args.warmup, per_epoch) > total_steps:
        raise SystemExit(f"reference_torch: --warmup {args.warmup} epochs "
                         f"is longer than the run")
    sched = torch.optim.lr_scheduler.LambdaLR(
        trainer, lambda step: lr_at(step, args.schedule, args.lr, per_epoch,
                                    total_steps, args.warmup, args.lr_min,
                                    args.lr_step, args.lr_gamma) / args.lr)
    total = 0.0
    t_start = time.monotonic()
    for epoch in range(1, args.epochs + 1):
        t0 = time.monotonic()
        net.train()
        lsum, correct, n = 0.0, 0, 0
        for x, y in train_iter:
            lr = trainer.param_groups[0]["lr"]
            with autocast(args):
                y_hat = net(x)
                l = loss(y_hat, y)
            trainer.zero_grad()
            l.mean().backward()
            if args.clip_grad > 0:
                nn.utils.clip_grad_norm_(net.parameters(), args.clip_grad)
            trainer.step()
            sched.step()
            lsum += float(l.sum())
            correct += int((y_hat.argmax(1) == y).sum())
            n += len(y)
        t_train = time.monotonic() - t0
        record = {"type": "epoch", "epoch": epoch,
                  "train_loss": lsum / n, "train_acc": correct / n}
        if val_iter is not None:
            record["val_loss"], record["val_acc"] = evaluate(net, val_iter,
                                                             plain, args)
        record["test_loss"], record["test_acc"] = evaluate(net, test_iter,
                                                           plain, args)
        total += t_train
        record.update({"lr": lr, "seconds": time.monotonic() - t0,
                       "samples_per_s": n / t_train})
        print(json.dumps(record), flush=True)
    print(json.dumps({"type": "end", "torch": torch.__version__,
                      "blas": blas_library(), "threads": args.threads,
                      "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
                      "workers": 0 if args.in_memory else args.workers,
                      "in_memory": args.in_memory,
                      "autocast": args.autocast, "epochs": args.epochs,
                      "seconds": time.monotonic() - t_start,
                      "samples_per_s": args.epochs * ntrain / total}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
