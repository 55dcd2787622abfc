"""Tests of xent_cli.core."""
