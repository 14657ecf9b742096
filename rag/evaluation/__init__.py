"""Evaluation harness: datasets (own JSONL, BEIR, SQuAD/CMRC), metrics, a runner and reports."""
