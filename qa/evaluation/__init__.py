"""Evaluation: load benchmark data sets, ask every question in several modes, score and report.

    from qa.evaluation import load_dataset, run_eval
    ds = load_dataset("beir", "../shared/data/beir-scifact/beir", split="test")
    results = run_eval(ds, make_encoder(), modes=["bm25", "dense", "hybrid"], out="eval-out")
"""
from .datasets import FORMATS, Dataset, Item, load_dataset
from .metrics import ranking_metrics
from .runner import run_eval

__all__ = ["FORMATS", "Dataset", "Item", "load_dataset", "ranking_metrics", "run_eval"]
