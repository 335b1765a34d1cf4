"""Custom checkov checks for the synthesized Terraform JSON (`--external-checks-dir policies/checkov`).

checkov only loads a directory that is a Python package, hence this file. One check per module; checkov
imports each module on its own, so checks import nothing from this repository. Each check has a passing
and a failing case in tests/policies/test_custom_checks.py.
"""
