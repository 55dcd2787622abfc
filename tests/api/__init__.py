"""Tests of xent_cli.api."""
