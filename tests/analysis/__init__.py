"""Tests of xent_cli.analysis."""
