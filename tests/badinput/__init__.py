"""End-to-end bad-input corpus and the canary-secret test (issue 7, "Bad input and secrets").

``corpus/<case>/`` holds one broken project per folder and its ``expect.yaml``;
:mod:`badinput.corpus` reads them, :mod:`badinput.test_corpus` runs each through the real
``floe`` command line, :mod:`badinput.test_canary` plants one secret everywhere.
"""
