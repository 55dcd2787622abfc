"""Tests of xent_cli.render."""
