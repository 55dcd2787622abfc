"""Tests of xent_cli.cli."""
