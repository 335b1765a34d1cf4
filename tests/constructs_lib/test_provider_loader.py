"""constructs_lib/provider_loader.py: what it relies on is checked, and it fails loudly when it does not hold.

Each test gets its own copy of the loader module (module-level state: the import mode and the Node hook)
and, where a package is needed, a tiny fake jsii-style package in tmp_path that records which of its modules
ran. Nothing here starts a jsii kernel except the last test, which checks the real provider packages in
fresh subprocesses.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import typing
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LOADER_PATH = REPO_ROOT / "constructs_lib" / "provider_loader.py"
HOOK_ENV = "PLATFORM_JSII_LAZY_INDEX_PACKAGES"


@pytest.fixture
def loader(monkeypatch):
    """A private instance of provider_loader (its globals are the import mode and the Node hook state)."""
    name = f"_provider_loader_under_test_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, LOADER_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    # The environment variables the hook sets are restored by monkeypatch whatever the test does.
    monkeypatch.setenv("NODE_OPTIONS", "--max-http-header-size=16384")
    monkeypatch.delenv(HOOK_ENV, raising=False)
    # Whether "the jsii kernel has started" must not depend on what other tests imported before.
    kernel = {"started": False}
    monkeypatch.setattr(module, "_kernel_started", lambda: kernel["started"])
    module.kernel = kernel
    yield module
    if module._node_hook is not None:
        shutil.rmtree(module._node_hook["directory"], ignore_errors=True)
    del sys.modules[name]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


SUBMODULE = """
    import typing

    import publication
    import typeguard

    import {events}
    {events}.EVENTS.append(__name__)

    from .._jsii import *


    class {cls}:
        def __init__(self, value: typing.Any) -> None:
            type_hints = typing.get_type_hints(_typecheckingstub__{cls_lower})
            typeguard.check_type(argname="argument value", value=value, expected_type=type_hints["value"])
            self.value = value


    def _typecheckingstub__{cls_lower}(value: typing.Optional[typing.Union[int, str]]) -> None:
        pass


    __all__ = ["{cls}"]
    publication.publish()
"""


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """Build `fakeprov_<id>`: the jsii layout in miniature, with `alpha` and `beta` submodules. Returns a
    function that (re)writes the package with optional overrides and returns (package name, events list)."""
    package = f"fakeprov_{uuid.uuid4().hex[:12]}"
    events_module = f"{package}_events"
    _write(tmp_path / f"{events_module}.py", "EVENTS = []\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def build(*, init: str | None = None, jsii_init: str | bool | None = None, npm: str = "@fake/prov") -> tuple[str, list]:
        """`init`/`jsii_init`: replacement source (None: the jsii layout; `jsii_init=False`: no `_jsii/__init__.py`)."""
        root = tmp_path / package
        _write(
            root / "__init__.py",
            init
            if init is not None
            else f"""
                import {events_module}
                {events_module}.EVENTS.append(__name__)

                from ._jsii import *

                from . import alpha
                from . import beta

                __all__ = ["alpha", "beta"]
            """,
        )
        if jsii_init is not False:
            _write(
                root / "_jsii" / "__init__.py",
                jsii_init
                if jsii_init is not None
                else f"""
                    import {events_module}
                    {events_module}.EVENTS.append(__name__)


                    def _not_called_in_tests(jsii):
                        # The real file runs this at import time; here it only has to be present.
                        return jsii.JSIIAssembly.load("{npm}", "1.0.0", __name__[0:-6], "prov@1.0.0.jsii.tgz")


                    __all__ = []
                """,
            )
        for name in ("alpha", "beta"):
            _write(root / name / "__init__.py", SUBMODULE.format(events=events_module, cls=name.title(), cls_lower=name))
        importlib.invalidate_caches()
        return package, importlib.import_module(events_module).EVENTS

    yield build
    for name in [name for name in sys.modules if name.startswith(package)]:
        del sys.modules[name]


# ------------------------------------------------------------------------------------------ lazy and eager


def test_lazy_mode_imports_the_assembly_and_only_the_used_submodule(loader, fake_package):
    package, events = fake_package()
    namespace = loader.ProviderNamespace(package, "@fake/prov")
    loader.configure(eager=False)

    alpha = namespace.alpha

    assert events == [f"{package}._jsii", f"{package}.alpha"], "the package __init__ or beta ran"
    assert getattr(sys.modules[package], "__platform_bare_package__", False)
    assert namespace.loaded and namespace.alpha is alpha is sys.modules[f"{package}.alpha"]
    assert alpha.Alpha(3).value == 3


def test_eager_mode_runs_the_package_init_and_yields_the_same_class_names(loader, fake_package):
    package, events = fake_package()
    lazy = loader.ProviderNamespace(package, "@fake/prov")
    loader.configure(eager=False)
    lazy_names = {(cls.__module__, cls.__qualname__) for cls in (lazy.alpha.Alpha, lazy.beta.Beta)}
    lazy_public = {name: sorted(vars(getattr(lazy, name))) for name in ("alpha", "beta")}

    for name in [name for name in sys.modules if name.startswith(package + ".") or name == package]:
        del sys.modules[name]
    events.clear()
    eager = loader.ProviderNamespace(package, "@fake/prov")
    loader.configure(eager=True)  # `lazy` is not one of the loader's _NAMESPACES: switching is allowed

    eager_names = {(cls.__module__, cls.__qualname__) for cls in (eager.alpha.Alpha, eager.beta.Beta)}

    assert events[0] == package, "eager mode must import the package the ordinary way (its __init__ first)"
    assert set(events) == {package, f"{package}._jsii", f"{package}.alpha", f"{package}.beta"}
    assert not getattr(sys.modules[package], "__platform_bare_package__", False)
    assert eager_names == lazy_names
    assert {name: sorted(vars(getattr(eager, name))) for name in ("alpha", "beta")} == lazy_public
    assert eager.alpha is sys.modules[package].alpha


def test_configure_cannot_switch_mode_after_a_package_was_loaded(loader, fake_package):
    package, _ = fake_package()
    namespace = loader.ProviderNamespace(package, "@fake/prov")
    loader._NAMESPACES = (namespace,)
    loader.configure(eager=False)
    namespace.alpha

    with pytest.raises(RuntimeError, match=rf"provider import mode changed after {package} was loaded"):
        loader.configure(eager=True)
    loader.configure(eager=False)  # the same mode again is fine


# ------------------------------------------------------------------------------ unexpected package layouts


def test_unknown_submodule_is_an_attribute_error_naming_package_and_submodule(loader, fake_package):
    package, events = fake_package()
    namespace = loader.ProviderNamespace(package, "@fake/prov")

    with pytest.raises(AttributeError, match=rf"{package} has no submodule 'gamma'"):
        namespace.gamma
    assert events == [], "an unknown name must not load anything"


def test_package_init_without_star_import_of_jsii_is_a_layout_error(loader, fake_package):
    package, events = fake_package(init="from . import alpha\nfrom . import beta\n")
    namespace = loader.ProviderNamespace(package, "@fake/prov")

    with pytest.raises(loader.ProviderLayoutError, match=r"from \._jsii import \*.*PLATFORM_EAGER_PROVIDER_IMPORT=1"):
        namespace.alpha
    assert events == [] and package not in sys.modules


def test_package_init_without_submodule_imports_is_a_layout_error(loader, fake_package):
    package, _ = fake_package(init="from ._jsii import *\n")

    with pytest.raises(loader.ProviderLayoutError, match="no longer has the jsii layout"):
        loader.ProviderNamespace(package).alpha


def test_missing_jsii_init_is_a_layout_error(loader, fake_package):
    package, events = fake_package(jsii_init=False)

    with pytest.raises(loader.ProviderLayoutError, match=r"_jsii/__init__\.py does not load a jsii assembly"):
        loader.ProviderNamespace(package, "@fake/prov").alpha
    assert events == []


def test_jsii_init_that_loads_no_assembly_is_a_layout_error(loader, fake_package):
    package, _ = fake_package(jsii_init="__all__ = []\n")

    with pytest.raises(loader.ProviderLayoutError, match="does not load a jsii assembly"):
        loader.ProviderNamespace(package, "@fake/prov").alpha


def test_assembly_of_another_name_is_a_layout_error(loader, fake_package):
    package, _ = fake_package(npm="@fake/other")

    with pytest.raises(loader.ProviderLayoutError, match="loads the jsii assembly '@fake/other', expected '@fake/prov'"):
        loader.ProviderNamespace(package, "@fake/prov").alpha


def test_package_that_is_not_installed_is_a_layout_error(loader):
    with pytest.raises(loader.ProviderLayoutError, match="is not installed as a package"):
        loader.ProviderNamespace(f"not_installed_{uuid.uuid4().hex}").alpha


def test_a_refused_lazy_index_surfaces_as_a_layout_error(loader, fake_package):
    # What the jsii kernel reports when the Node hook refuses a package, as raised by the `_jsii` import.
    package, _ = fake_package(
        jsii_init="""
            # JSIIAssembly.load("@fake/prov", ...) is what the real file does; here the kernel "refuses" it.
            raise RuntimeError("[constructs_lib/provider_loader.py] @fake/prov: lib/lazy-index.js does not exist")
        """
    )

    with pytest.raises(loader.ProviderLayoutError, match=r"could not load the lazy index.*lazy-index\.js does not exist"):
        loader.ProviderNamespace(package, "@fake/prov").alpha
    assert package not in sys.modules


# ------------------------------------------------------------------------------- cached type-check hints


def test_type_checks_stay_on_and_stub_hints_are_computed_once(loader, fake_package):
    package, _ = fake_package()
    namespace = loader.ProviderNamespace(package, "@fake/prov")
    loader.configure(eager=False)
    alpha = namespace.alpha
    private = sys.modules[f"{package}.alpha._private"]

    assert private.typing is loader._TYPING
    alpha.Alpha(1), alpha.Alpha("one"), alpha.Alpha(None)
    with pytest.raises(TypeError, match="argument value"):
        alpha.Alpha([1])
    stub = private._typecheckingstub__alpha
    assert list(loader._TYPING._stub_hints) == [stub]
    assert loader._TYPING.get_type_hints(stub) == typing.get_type_hints(stub)
    loader._TYPING.get_type_hints(stub).clear()  # callers get copies: the cache cannot be damaged
    assert loader._TYPING.get_type_hints(stub) == typing.get_type_hints(stub)
    assert loader._TYPING.Optional is typing.Optional
    assert loader._TYPING.get_type_hints(test_type_checks_stay_on_and_stub_hints_are_computed_once) == {}


def test_eager_mode_leaves_typing_alone(loader, fake_package):
    package, _ = fake_package()
    loader.configure(eager=True)
    loader.ProviderNamespace(package, "@fake/prov").alpha

    assert sys.modules[f"{package}.alpha._private"].typing is typing


# ---------------------------------------------------------------------------------- the Node-side hook


def test_lazy_configure_installs_the_node_hook_until_the_kernel_has_started(loader, fake_package):
    package, _ = fake_package()
    loader._NAMESPACES = (loader.ProviderNamespace(package, "@fake/prov"),)

    loader.configure(eager=False)

    hook = loader._node_hook
    assert loader.node_hook_status() == "pending"
    assert os.environ[HOOK_ENV] == "@fake/prov"
    options = os.environ["NODE_OPTIONS"]
    assert options.startswith("--max-http-header-size=16384 --require \"") and options.endswith('lazy_index_hook.js"')
    assert Path(hook["directory"], "lazy_index_hook.js").read_text() == loader._NODE_HOOK_SOURCE

    loader.kernel["started"] = True  # importing the first `_jsii` starts the kernel with that environment
    loader._NAMESPACES[0].alpha

    assert loader.node_hook_status() == "started"
    assert os.environ["NODE_OPTIONS"] == "--max-http-header-size=16384" and HOOK_ENV not in os.environ


def test_eager_configure_before_the_kernel_starts_removes_the_hook(loader):
    loader.configure(eager=False)
    directory = Path(loader._node_hook["directory"])

    loader.configure(eager=True)

    assert loader.node_hook_status() == "off" and not directory.exists()
    assert os.environ["NODE_OPTIONS"] == "--max-http-header-size=16384" and HOOK_ENV not in os.environ


def test_eager_configure_after_the_kernel_started_with_the_hook_raises(loader):
    loader.configure(eager=False)
    loader.kernel["started"] = True

    with pytest.raises(RuntimeError, match="after the jsii kernel was started with the lazy-index hook"):
        loader.configure(eager=True)


def test_no_hook_when_the_kernel_is_already_running(loader):
    loader.kernel["started"] = True

    loader.configure(eager=False)

    assert loader.node_hook_status() == "off"
    assert os.environ["NODE_OPTIONS"] == "--max-http-header-size=16384" and HOOK_ENV not in os.environ


NODE_PROBE = r"""
const path = require('path');
const entry = require.resolve('@fake/prov', { paths: [process.argv[1]] });
const exported = require(entry);
const alpha = exported.alpha.Alpha.name;
console.log(JSON.stringify({ entry: path.basename(entry), alpha, loaded: globalThis.__loaded }));
"""


def _node_package(root: Path, *, lazy: str | None = None, eager_extra: str = "") -> Path:
    package = root / "node_modules" / "@fake" / "prov"
    _write(package / "package.json", json.dumps({"name": "@fake/prov", "version": "1.0.0", "main": "lib/index.js"}))
    _write(
        package / "lib" / "index.js",
        '"use strict";\n'
        'Object.defineProperty(exports, "__esModule", { value: true });\n'
        "exports.beta = exports.alpha = void 0;\n"
        'exports.alpha = require("./alpha");\n'
        'exports.beta = require("./beta");\n' + eager_extra + "//# sourceMappingURL=index.js.map\n",
    )
    if lazy is not False:
        _write(
            package / "lib" / "lazy-index.js",
            lazy
            if lazy is not None
            else '"use strict";\n// generated by cdktf get\n'
            "Object.defineProperty(exports, 'alpha', { get: function () { return require('./alpha'); } });\n"
            "Object.defineProperty(exports, 'beta', { get: function () { return require('./beta'); } });\n",
        )
    for name in ("alpha", "beta", "gamma"):
        _write(
            package / "lib" / name / "index.js",
            f"globalThis.__loaded = (globalThis.__loaded || []).concat(['{name}']);\n"
            f"exports.{name.title()} = class {name.title()} {{}};\n",
        )
    return root


def _run_node(loader, root: Path, packages: str, copies: int = 1) -> subprocess.CompletedProcess:
    requires = []
    for copy in range(copies):
        hook_dir = root / f"hook dir with space {copy}"  # NODE_OPTIONS quoting must survive it
        hook_dir.mkdir()
        requires.append(f"--require {loader._node_option_path(loader.write_node_hook(hook_dir))}")
    env = {**os.environ, "NODE_OPTIONS": " ".join(requires), HOOK_ENV: packages}
    return subprocess.run(
        ["node", "-e", NODE_PROBE, str(root)], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_node_hook_resolves_listed_packages_to_the_lazy_index(loader, tmp_path):
    result = _run_node(loader, _node_package(tmp_path), "@fake/prov,@fake/unused")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"entry": "lazy-index.js", "alpha": "Alpha", "loaded": ["alpha"]}


def test_node_hook_inherited_from_a_parent_python_and_installed_again_redirects_once(loader, tmp_path):
    result = _run_node(loader, _node_package(tmp_path), "@fake/prov", copies=2)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"entry": "lazy-index.js", "alpha": "Alpha", "loaded": ["alpha"]}


def test_child_environment_drops_the_hook_only_while_it_waits_for_this_process_kernel(loader):
    loader.configure(eager=False)
    assert loader.node_hook_status() == "pending" and HOOK_ENV in os.environ

    child = loader.child_environment()

    assert child["NODE_OPTIONS"] == "--max-http-header-size=16384" and HOOK_ENV not in child
    assert os.environ[HOOK_ENV]  # this process's own kernel still gets it
    loader.kernel["started"] = True
    loader._restore_node_environment()
    assert loader.child_environment() == dict(os.environ)


def test_node_hook_leaves_other_packages_alone(loader, tmp_path):
    result = _run_node(loader, _node_package(tmp_path), "@fake/unused")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"entry": "index.js", "alpha": "Alpha", "loaded": ["alpha", "beta"]}


@pytest.mark.parametrize(
    ("lazy", "eager_extra", "message"),
    [
        (False, "", "lazy-index.js does not exist"),
        (
            "Object.defineProperty(exports, 'alpha', { get: function () { return require('./alpha'); } });\n"
            "Object.defineProperty(exports, 'beta', { get: function () { return require('./gamma'); } });\n",
            "",
            r"bind different modules \(beta\)",
        ),
        (
            "Object.defineProperty(exports, 'alpha', { get: function () { return require('./alpha'); } });\n",
            "",
            r"bind different modules \(beta\)",
        ),
        (None, '__exportStar(require("./gamma"), exports);\n', r"is not only `exports.<name> = require"),
        (
            "Object.defineProperty(exports, 'alpha', { get: function () { return require('./alpha'); } });\n"
            "Object.defineProperty(exports, 'beta', { get: function () { return require('./beta'); } });\n"
            "require('./gamma');\n",
            "",
            "is not only lazy",
        ),
    ],
    ids=["no-lazy-index", "other-module", "missing-name", "extra-eager-statement", "extra-lazy-statement"],
)
def test_node_hook_refuses_a_lazy_index_that_differs(loader, tmp_path, lazy, eager_extra, message):
    result = _run_node(loader, _node_package(tmp_path, lazy=lazy, eager_extra=eager_extra), "@fake/prov")

    assert result.returncode != 0, result.stdout
    assert "[constructs_lib/provider_loader.py] @fake/prov" in result.stderr
    assert "PLATFORM_EAGER_PROVIDER_IMPORT=1" in result.stderr
    assert re.search(message, result.stderr), result.stderr


# ------------------------------------------------------------------------------ the real provider packages

REAL_PROBE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from constructs_lib import provider_loader as loader
loader.configure(eager=False)
import cdktf  # starts the jsii kernel (with the Node hook in lazy mode)
report = {}
for namespace, submodule in ((loader.google, "compute_network"), (loader.kubernetes, "namespace_v1"), (loader.helm, "release")):
    module = getattr(namespace, submodule)
    classes = {name: value.__jsii_type__ for name, value in vars(module).items() if isinstance(value, type) and hasattr(value, "__jsii_type__")}
    report[f"{namespace.package}.{submodule}"] = {
        "classes": classes,
        "bare": bool(getattr(sys.modules[namespace.package], "__platform_bare_package__", False)),
        "cached_hints": getattr(module, "_private", module).typing is loader._TYPING,
            }
# A resource is built and its arguments are type-checked.
app = cdktf.App(outdir=sys.argv[2])
stack = cdktf.TerraformStack(app, "probe")
loader.google.provider.GoogleProvider(stack, "google", project="p")
loader.google.compute_network.ComputeNetwork(stack, "network", name="n", auto_create_subnetworks=False)
try:
    loader.google.compute_network.ComputeNetwork(stack, "bad", name=42)
    report["type_check"] = "missing"
except TypeError as exc:
    report["type_check"] = str(exc)
report["hook"] = loader.node_hook_status()
print("REPORT " + json.dumps(report))
"""


def test_real_provider_packages_have_the_layout_the_fast_loader_relies_on(tmp_path):
    """The real packages load lazily, with the Node hook and type checks on. That the eager mode gives the
    same result is proven on the whole app by tests/test_fast_import.py (byte-identical synth), so the
    slow eager import is not repeated here."""
    env = {key: value for key, value in os.environ.items() if key not in ("PLATFORM_EAGER_PROVIDER_IMPORT", HOOK_ENV)}
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    result = subprocess.run(
        [sys.executable, "-c", REAL_PROBE, str(REPO_ROOT), str(tmp_path / "out")],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, f"lazy probe failed:\n{result.stderr[-3000:]}"
    lazy = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("REPORT "))[7:])

    assert lazy["hook"] == "started"
    packages = [key for key in lazy if key.startswith("cdktf_cdktf_provider_")]
    assert len(packages) == 3
    for key in packages:
        assert lazy[key]["classes"], key
        assert lazy[key]["bare"], key
        assert lazy[key]["cached_hints"], key
    assert "type of argument name must be str" in lazy["type_check"]