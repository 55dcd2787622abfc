"""Tests of xent_cli.engine."""
