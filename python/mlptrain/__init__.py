"""mlptrain from Python: a fast trainer for multilayer perceptrons on the CPU.

    import mlptrain
    clf = mlptrain.MLPClassifier(hidden_layer_sizes=(256,), solver="sgd",
                                 learning_rate_init=0.1, batch_size=256,
                                 max_iter=10, random_state=1)
    clf.fit(X, y).score(X_test, y_test)

MLPClassifier has scikit-learn's MLPClassifier interface (it passes
scikit-learn's check_estimator); its model is an mlptrain checkpoint:
clf.save(path) writes one that `mlptrain eval`, `predict`, `export` and
`--resume` read, and mlptrain.load(path) reads one the command line wrote.
"""

from ._classifier import MLPClassifier
from ._core import version as _version

load = MLPClassifier.load
__version__ = _version()["mlptrain"]
__all__ = ["MLPClassifier", "load", "__version__"]
