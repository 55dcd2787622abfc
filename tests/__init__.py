"""The test suite: one folder per subpackage of ``xent_cli``, shared helpers in ``helpers``."""
