"""The one place that imports the CDK framework and the provider bindings.

Everything else imports from here. When the project moves to the community fork (CDK Terrain, `cdktn`),
this module and `provider_loader.py` are the only ones whose imports change.
"""
from cdktf import (  # noqa: F401 - re-exported
    App,
    Fn,
    GcsBackend,
    LocalBackend,
    TerraformOutput,
    TerraformProvider,
    TerraformProviderGeneratorMetadata,
    TerraformResource,
    TerraformResourceLifecycle,
    TerraformStack,
    Token,
)
from constructs import Construct  # noqa: F401 - re-exported

from constructs_lib.provider_loader import google, helm, kubernetes  # noqa: F401 - re-exported
