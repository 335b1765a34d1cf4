"""Load prebuilt CDKTF provider bindings without their eager package `__init__`.

Why this exists
---------------
`import cdktf_cdktf_provider_google` runs the package `__init__`, which imports every one of its ~1,480
resource submodules (about 7 s on a 2-core machine) before a single resource is built; kubernetes adds ~5 s
more. The platform uses a few dozen of them. Synth runs on every edit, in every test run and every
pipeline, so that cost is paid constantly for nothing.

What it relies on (checked, never assumed)
------------------------------------------
The jsii-generated package layout of the `cdktf-cdktf-provider-*` packages:
  * `<package>/__init__.py` does `from ._jsii import *` and then `from . import <submodule>` for every
    resource; those imports only register types with the jsii kernel and bind attributes.
  * `<package>/_jsii/__init__.py` loads the jsii assembly (`jsii.JSIIAssembly.load(...)`).
  * each `<package>/<submodule>/__init__.py` imports only `.._jsii`, `cdktf` and `constructs`.
Instead of executing the package `__init__`, the loader registers a bare package module (with the real
`__path__` and `__spec__`), imports `_jsii` (the assembly) and then each submodule on first attribute
access. If the package does not look like this, `ProviderLayoutError` is raised: the loader never falls
back silently to something that might synthesize differently.

jsii's runtime type checks stay on; only the set of imported submodules changes. `tests/test_fast_import.py`
synthesizes the whole app both ways and compares every file byte for byte.

How to turn it off
------------------
`PLATFORM_EAGER_PROVIDER_IMPORT=1` (read by main.py, passed to `configure(eager=True)`): packages are then
imported the ordinary way.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
import types
from functools import cached_property
from pathlib import Path


class ProviderLayoutError(RuntimeError):
    """The provider package is not laid out the way the fast loader relies on."""


_eager = False


def configure(*, eager: bool) -> None:
    """Choose the import mode before the first provider class is used."""
    global _eager
    loaded = [namespace for namespace in _NAMESPACES if namespace.loaded]
    if loaded and eager != _eager:
        names = ", ".join(namespace.package for namespace in loaded)
        raise RuntimeError(f"provider import mode changed after {names} was loaded; call configure() first")
    _eager = eager


class ProviderNamespace:
    """Attribute access yields the provider package's submodule: `google.compute_network.ComputeNetwork`."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.loaded = False

    def __getattr__(self, submodule: str) -> types.ModuleType:
        if submodule.startswith("__"):
            raise AttributeError(submodule)
        module = self._load(submodule)
        setattr(self, submodule, module)  # later lookups skip __getattr__
        return module

    def _load(self, submodule: str) -> types.ModuleType:
        if _eager:
            package = importlib.import_module(self.package)
            self.loaded = True
            return getattr(package, submodule)
        if submodule not in self._submodules:
            raise AttributeError(f"{self.package} has no submodule {submodule!r}")
        self._install_bare_package()
        return importlib.import_module(f"{self.package}.{submodule}")

    @cached_property
    def _package_dir(self) -> Path:
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise ProviderLayoutError(f"{self.package} is not installed as a package (run `make install`)")
        return Path(next(iter(spec.submodule_search_locations)))

    @cached_property
    def _submodules(self) -> frozenset[str]:
        """The submodules the package `__init__` would import, read from its source without executing it."""
        init = self._package_dir / "__init__.py"
        tree = ast.parse(init.read_text(encoding="utf-8"), filename=str(init))
        star_jsii = False
        names: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module == "_jsii" and [alias.name for alias in node.names] == ["*"]:
                    star_jsii = True
                elif node.module is None:
                    names.update(alias.name for alias in node.names)
        if not star_jsii or not names:
            raise ProviderLayoutError(
                f"{init} no longer has the jsii layout this loader relies on (`from ._jsii import *` followed by "
                "`from . import <submodule>` lines). Set PLATFORM_EAGER_PROVIDER_IMPORT=1 and update "
                "constructs_lib/provider_loader.py."
            )
        jsii_init = self._package_dir / "_jsii" / "__init__.py"
        if not jsii_init.is_file() or "JSIIAssembly.load(" not in jsii_init.read_text(encoding="utf-8"):
            raise ProviderLayoutError(f"{jsii_init} does not load a jsii assembly; the loader cannot work")
        return frozenset(names)

    def _install_bare_package(self) -> None:
        existing = sys.modules.get(self.package)
        if existing is not None:
            if not getattr(existing, "__platform_bare_package__", False) and not hasattr(existing, "__all__"):
                raise ProviderLayoutError(f"{self.package} is in sys.modules but is neither bare nor complete")
            self.loaded = True
            return
        spec = importlib.util.find_spec(self.package)
        module = types.ModuleType(self.package, f"{self.package} (bare: see constructs_lib/provider_loader.py)")
        module.__spec__ = spec
        module.__path__ = [str(self._package_dir)]
        module.__file__ = spec.origin
        module.__package__ = self.package
        module.__platform_bare_package__ = True
        sys.modules[self.package] = module
        try:
            importlib.import_module(f"{self.package}._jsii")
        except BaseException:
            del sys.modules[self.package]
            raise
        self.loaded = True


google = ProviderNamespace("cdktf_cdktf_provider_google")
kubernetes = ProviderNamespace("cdktf_cdktf_provider_kubernetes")
helm = ProviderNamespace("cdktf_cdktf_provider_helm")
_NAMESPACES = (google, kubernetes, helm)
