"""A user's own module (space + evaluators), written to a temporary folder by the tests of
user code: it lives only there, never on the package's import path."""
from __future__ import annotations

import sys
from pathlib import Path

MODULE = "my_problem"

SOURCE = '''
from torch import nn

from search_spaces import Decision, Space


class TinyConvNet(Space):
    name = "tinyconv"

    @classmethod
    def default_options(cls):
        return {"input_size": [1, 8, 8], "num_classes": 10}

    def decisions(self):
        return [Decision("width", (4, 8, 16)), Decision("depth", (1, 2)),
                Decision("kernel", (1, 3))]

    def build(self, g):
        c, layers = self.options["input_size"][0], []
        for _ in range(g["depth"]):
            layers += [nn.Conv2d(c, g["width"], g["kernel"], padding=g["kernel"] // 2),
                       nn.ReLU()]
            c = g["width"]
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                             nn.Linear(c, self.options["num_classes"]))


def score(g):
    return 50.0 + 2.0 * g["width"] + 5.0 * g["depth"] - g["kernel"]


def evaluate(trial):
    """A learning curve that rises to score(g) over the budget; reports every step."""
    budget = trial.budget or trial.options.get("epochs", 3)
    model = trial.build()
    for step in range(1, budget + 1):
        trial.report(score(trial.genotype) * step / budget, step)
    trial.save(model)
    return {"accuracy": score(trial.genotype), "offset": trial.options.get("offset", 0.0)}


def cluster_evaluate(trial):
    """Where it ran: the worker's folder holds no results/ when the search left it out."""
    import os
    import time

    time.sleep(trial.options.get("sleep_s", 0.0))
    return {"accuracy": score(trial.genotype), "results_shipped": float(os.path.isdir("results"))}


def broken(trial):
    raise ValueError("boom from user code")


def wrong_type(trial):
    return [1.0, 2.0]


def no_accuracy(trial):
    return {"loss": 0.5}
'''


def write_user_module(folder: Path, name: str = MODULE) -> Path:
    """Write the module as folder/<name>.py and forget any imported copy of it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(SOURCE)
    sys.modules.pop(name, None)
    return path
