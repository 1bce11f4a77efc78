"""Evaluation harness: datasets, metrics, tasks and leaderboards."""
