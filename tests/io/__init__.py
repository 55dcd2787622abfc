"""Tests of xent_cli.io."""
